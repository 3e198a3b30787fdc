"""The vision-language-action model and its trainer.

    from screenpilot.model import load_model
    model = load_model("runs/demo")                      # a run, checkpoint or model dir
    action = model.predict({"screenshot": img, "task": "Click OK"}, history=[])

    screenpilot train --data DIR[,DIR...] --out RUN       # or: python -m screenpilot.model.train ...

torch and transformers load only when one of these names is first used, so that
``screenpilot --help`` stays fast.
"""

from __future__ import annotations

import importlib

# Lazy re-exports: the name -> the module that defines it.
_LAZY = {
    "VLAConfig": "screenpilot.model.configuration",
    "VLAModel": "screenpilot.model.modeling",
    "load_model": "screenpilot.model.checkpoint",
    "TrainConfig": "screenpilot.model.train_config",
    "train": "screenpilot.model.train",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
