"""Raw input events: what the recorder saw, before any interpretation.

Events are kept forever beside the actions derived from them, so segmentation can be
improved and run again. Every event carries ``t``, seconds on the episode's monotonic
clock, the same clock that stamps the video frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import DatasetError

EVENT_KINDS = ("mouse_move", "mouse_down", "mouse_up", "scroll", "key_down", "key_up")
MOUSE_BUTTONS = ("left", "right", "middle")


@dataclass(frozen=True)
class Event:
    t: float
    kind: str
    x: int | None = None  # pixels of the recorded screen (mouse events)
    y: int | None = None
    button: str | None = None  # mouse_down / mouse_up
    key: str | None = None  # key_down / key_up: canonical name (actions.normalize_key_name)
    text: str | None = None  # key_down: the character the key produced, if any
    dx: int | None = None  # scroll: pixels, dy > 0 scrolls down
    dy: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise DatasetError(f"unknown event kind {self.kind!r}; expected one of {EVENT_KINDS}")
        if self.kind.startswith(("mouse", "scroll")) and (self.x is None or self.y is None):
            raise DatasetError(f"{self.kind} event needs x and y")
        if self.kind in ("mouse_down", "mouse_up") and self.button not in MOUSE_BUTTONS:
            raise DatasetError(f"{self.kind} event needs a button in {MOUSE_BUTTONS}")
        if self.kind.startswith("key") and not self.key:
            raise DatasetError(f"{self.kind} event needs a key")

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> Event:
        return cls(**{k: v for k, v in data.items() if v is not None})


# The parquet columns of events/episode_*.parquet, in order, with their Arrow types.
EVENT_COLUMNS = (
    ("t", "float64"),
    ("kind", "string"),
    ("x", "int32"),
    ("y", "int32"),
    ("button", "string"),
    ("key", "string"),
    ("text", "string"),
    ("dx", "int32"),
    ("dy", "int32"),
)
