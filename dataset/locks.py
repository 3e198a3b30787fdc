"""Locks between writers of one dataset (readers never take one)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


@contextlib.contextmanager
def dataset_lock(root: str | Path, name: str):
    """An exclusive lock on meta/NAME.lock: ``commit`` around the read-modify-write of
    meta/info.json (writers commit at the same time), ``seal`` around choosing and
    writing the next chunk."""
    path = Path(root) / "meta" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing lets go of the lock
