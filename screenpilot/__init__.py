"""screenpilot: a computer-use agent that learns from screen recordings.

The packages live in the repository's top-level folders and install under this one name:
``screenpilot.dataset``, ``screenpilot.env``, ``screenpilot.recorder``, ``screenpilot.model``,
``screenpilot.agent``. Importing this package is cheap; each subpackage loads its heavy
dependencies (torch, playwright, av) only when used.

Once ``import screenpilot`` has run, the ecosystem knows our pieces:

    AutoModel.from_pretrained("runs/a/model")                  # transformers
    gymnasium.make("screenpilot/miniwob.click-test-v0")        # Gymnasium
    gymnasium.make("screenpilot:screenpilot/miniwob.click-test-v0")   # fresh interpreter
"""

from __future__ import annotations

import importlib
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("screenpilot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]


# ---- registration with transformers and Gymnasium ---------------------------------------
# `AutoModel.from_pretrained(run/model)` and `gymnasium.make("screenpilot/...")` should work
# after `import screenpilot`. Registering here would import transformers' PreTrainedModel
# (seconds: it pulls in torch) and Gymnasium into every `screenpilot --help`. So each
# registration waits for the module it registers with: it runs now if that module is
# already imported, else right after the module's own import finishes (a post-import hook).
# The hooked modules are transformers' Auto* modules, not `transformers` itself: a bare
# `import transformers` (e.g. for a tokenizer) stays as cheap as it was.
_REGISTER_AFTER = {
    "gymnasium": "screenpilot.env.registration:register_envs",
    "transformers.models.auto.configuration_auto": (
        "screenpilot.model.configuration:register_auto_config"
    ),
    "transformers.models.auto.modeling_auto": "screenpilot.model.modeling:register_auto_model",
}


def _register(target: str) -> None:
    module, _, function = target.partition(":")
    try:
        getattr(importlib.import_module(module), function)()
    except Exception as e:  # noqa: BLE001 - a failed registration must not break the user's import
        warnings.warn(f"screenpilot: {target} failed: {type(e).__name__}: {e}", stacklevel=2)


class _RegisterAfterImport:
    """A finder on sys.meta_path: finds a hooked module with the other finders and wraps
    its loader, so that the registration runs once the module has executed. (Not based on
    importlib.abc, whose import costs more than the rest of this package.)"""

    def find_spec(self, name, path=None, target=None):
        if name not in _REGISTER_AFTER:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _LoaderThenRegister(spec.loader, _REGISTER_AFTER[name])
                return spec
        return None


class _LoaderThenRegister:
    def __init__(self, loader, target: str):
        self.loader, self.target = loader, target

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        _register(self.target)

    def __getattr__(self, name):  # get_resource_reader, get_source, is_package, ...
        return getattr(self.loader, name)


def _install_registrations() -> None:
    if not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport())
    for module, target in _REGISTER_AFTER.items():
        if module in sys.modules:
            _register(target)


_install_registrations()
