"""screenpilot: a computer-use agent that learns from screen recordings.

The packages live in the repository's top-level folders and install under this one name:
``screenpilot.dataset``, ``screenpilot.env``, ``screenpilot.recorder``, ``screenpilot.model``,
``screenpilot.agent``. Importing this package is cheap; each subpackage loads its heavy
dependencies (torch, playwright, av) only when used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("screenpilot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
