"""Moving finished episodes between machines as bytes.

A worker that has no access to the driver's disk (a Ray actor on another node) records
into a scratch dataset of its own, then hands each finished episode back as one
``pack_episode`` blob; the driver ``unpack_episode``s it into a local shard, which the
usual ``adopt_episodes`` then appends to the output. A blob is an uncompressed tar of the
episode's files (parquet and MP4 are compressed already) plus its meta line.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from .errors import DatasetError
from .format import commit_episodes, episode_paths, init_dataset, next_episode_index

META_MEMBER = "meta.json"
# The tables and the video of a finished episode (its journal is gone by then).
EPISODE_FILES = ("data", "events", "frames", "dom", "video")


def pack_episode(root: str | Path, meta: dict, *, remove: bool = False) -> bytes:
    """The finished tail episode ``meta`` of dataset ``root`` (a scratch shard: only bulk
    appends seal chunks, never a recorder) as one blob. ``remove`` deletes
    its files once packed (a worker's scratch copy that has been handed over)."""
    paths = episode_paths(Path(root), meta["index"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add_bytes(tar, META_MEMBER, json.dumps(meta, ensure_ascii=False).encode())
        for name in EPISODE_FILES:
            if paths[name].exists():
                tar.add(paths[name], arcname=name)
    if remove:
        for name in EPISODE_FILES:
            paths[name].unlink(missing_ok=True)
    return buffer.getvalue()


def unpack_episode(blob: bytes, root: str | Path, *, durable: bool = False) -> dict:
    """Append the episode in ``blob`` to dataset ``root`` (created if missing) at its next
    index; returns the new meta line. Scratch shards skip the fsync (``durable``)."""
    root = Path(root)
    init_dataset(root)
    index = next_episode_index(root)
    paths = episode_paths(root, index)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
            meta = json.loads(tar.extractfile(META_MEMBER).read())
            for member in tar.getmembers():
                if member.name == META_MEMBER:
                    continue
                if member.name not in EPISODE_FILES:
                    raise DatasetError(f"an episode blob holds an unknown file {member.name!r}")
                paths[member.name].parent.mkdir(parents=True, exist_ok=True)
                paths[member.name].write_bytes(tar.extractfile(member).read())
    except (tarfile.TarError, KeyError, json.JSONDecodeError) as e:
        raise DatasetError(f"not an episode blob ({e})") from None
    meta = {**meta, "index": index}
    commit_episodes(root, [meta], durable=durable)
    return meta


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    tar.addfile(member, io.BytesIO(data))
