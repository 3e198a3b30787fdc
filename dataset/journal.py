"""The journal of an episode being written, and the lock that says its writer is alive.

A writer holds an exclusive ``flock`` on its journal (journal/episode_N.jsonl) from the
moment the file has its name until the episode is committed and the journal removed.
The OS drops the lock when the writer's process dies, however it dies (SIGKILL too), so
a journal is either live (locked: leave it alone) or a dead writer's (unlocked: only
``dataset repair`` finishes it). Readers test the lock with a shared lock they drop at
once; they never write.

The first line of a journal is its header: the episode's index, task and screen, and
its writer's pid, host and start time, for messages about who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from .format import episode_paths, next_episode_index


@dataclass(frozen=True)
class Unfinished:
    """An episode whose journal is still there: being written, or its writer is gone."""

    index: int
    journal: Path
    live: bool  # its writer still holds the journal's lock
    writer: dict = field(default_factory=dict)  # pid, host, started_at, where it said

    def describe(self) -> str:
        """``episode 3 (pid 4242 on host, started 2025-01-31 14:03:07)``."""
        w, about = self.writer, []
        if "pid" in w:
            about.append(f"pid {w['pid']}" + (f" on {w['host']}" if w.get("host") else ""))
        if "started_at" in w:
            about.append(f"started {datetime.fromtimestamp(w['started_at']):%Y-%m-%d %H:%M:%S}")
        return f"episode {self.index}" + (f" ({', '.join(about)})" if about else "")


def create_journal(root: Path, header: dict) -> tuple[int, TextIO]:
    """Claim the next free episode index with a journal whose first line is ``header``
    (its ``index`` filled in, its writer's pid and host added); returns the index and
    the journal, open and locked.

    The journal is written and locked under a temporary name, then linked to its own:
    it appears already locked (no reader or repair ever sees a live writer's journal
    unlocked), and the link fails if another writer took the index a moment before."""
    folder = root / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".claiming-", suffix=".jsonl")
    try:
        os.fchmod(fd, 0o644)  # other users' readers can test the lock
        fcntl.flock(fd, fcntl.LOCK_EX)
        writer = {"pid": os.getpid(), "host": socket.gethostname()}
        while True:
            index = next_episode_index(root)
            line = json.dumps({"header": {**header, "index": index, "writer": writer}})
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (line + "\n").encode())
            try:
                os.link(tmp, episode_paths(root, index)["journal"])
                break
            except FileExistsError:
                continue  # another writer claimed this index a moment ago
    except BaseException:
        os.close(fd)
        raise
    finally:
        os.unlink(tmp)
    return index, os.fdopen(fd, "w", encoding="utf-8")


def same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (`dataset repair --force`
    removes a live writer's journal when it finishes the episode in its place)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def writer_alive(path: Path) -> bool:
    """Whether a writer holds the journal at ``path``. Takes a shared lock and drops it
    at once: readers never block each other or a writer."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except PermissionError:
        return True  # cannot tell: leave it alone, as a live one
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def lock_dead_journal(path: Path) -> int | None:
    """For repair: an fd holding the journal's exclusive lock when its writer is gone,
    else None (alive, or finished meanwhile). Closing the fd lets go of the lock."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, PermissionError):
        return None
    locked = False
    try:
        locked = _lock_unless_written(fd) and same_file(fd, path)
    finally:
        if not locked:
            os.close(fd)
    return fd if locked else None


def _lock_unless_written(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    # Held by a writer, or by a reader testing the lock this very moment. A writer's
    # lock keeps out a shared one too; a reader's does not, and it lets go at once.
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_EX)
    return True


def read_header(path: Path) -> dict:
    """The journal's header, or {} when there is none (a writer that died at once)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return json.loads(f.readline()).get("header", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}


def unfinished_episodes(root: Path) -> list[Unfinished]:
    """Every episode with a journal, in index order, each live or not."""
    folder = root / "journal"
    if not folder.exists():
        return []
    out = []
    for path in sorted(folder.glob("episode_*.jsonl")):
        header = read_header(path)
        writer = {**header.get("writer", {})}
        if "started_at" in header:
            writer["started_at"] = header["started_at"]
        out.append(Unfinished(int(path.stem.split("_")[1]), path, writer_alive(path), writer))
    return out
