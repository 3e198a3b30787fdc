"""The Action schema: the one language for clicking and typing.

The recorder writes it, the model predicts it, the env executes it, the agent logs it.
An Action round-trips through a plain dict and through one line of text:

    click 80 105            double_click 80 105        right_click 80 105
    mouse_down 80 105       mouse_up 80 105            move 80 105
    drag 10 20 90 20        scroll 80 100 0 -120       type "hello world"
    key ctrl+a              wait                       done

Coordinates are integer pixels of the observed screenshot. Scroll deltas are pixels in
the DOM's convention (dy > 0 scrolls down, as in WheelEvent.deltaY and Playwright's
mouse.wheel). Key combos are canonical: lower-case modifiers in a fixed order, then one
key named as Playwright names it (``ctrl+shift+t``, ``Enter``, ``shift+Tab``, ``ArrowLeft``).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field, fields

from .errors import ActionError

# Which coordinate fields each action type needs. The order is the order in text form.
POINT_TYPES = ("click", "double_click", "right_click", "mouse_down", "mouse_up", "move")
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    **{t: ("x", "y") for t in POINT_TYPES},
    "drag": ("x", "y", "x2", "y2"),
    "scroll": ("x", "y", "dx", "dy"),
    "type": ("text",),
    "key": ("key",),
    "wait": (),
    "done": (),
}
ACTION_TYPES: tuple[str, ...] = tuple(ACTION_FIELDS)
_INT_FIELDS = ("x", "y", "x2", "y2", "dx", "dy")
_ALL_FIELDS = (*_INT_FIELDS, "text", "key")


@dataclass(frozen=True, repr=False)
class Action:
    """One thing done to the screen. ``t`` and ``frame`` say when, and are not part of
    the action's identity: two clicks at one point are equal whenever they happened."""

    type: str
    x: int | None = None
    y: int | None = None
    x2: int | None = None
    y2: int | None = None
    dx: int | None = None
    dy: int | None = None
    text: str | None = None
    key: str | None = None
    # Seconds on the episode's clock, and the index of the last frame captured before
    # the action began: that frame is what the model sees when predicting it.
    t: float | None = field(default=None, compare=False)
    frame: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.type not in ACTION_FIELDS:
            raise ActionError(
                f"unknown action type {self.type!r}; expected one of {', '.join(ACTION_TYPES)}"
            )
        needed = ACTION_FIELDS[self.type]
        for name in _ALL_FIELDS:
            value = getattr(self, name)
            if name in needed and value is None:
                raise ActionError(f"{self.type} needs {name} ({' '.join(needed)})")
            if name not in needed and value is not None:
                raise ActionError(f"{self.type} takes no {name}")
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ActionError(f"{self.type}.{name} must be a number, got {value!r}")
            if isinstance(value, float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise ActionError(f"{self.type}.{name} must be finite, got {value!r}")
                object.__setattr__(self, name, int(round(value)))
            if name in ("x", "y", "x2", "y2") and getattr(self, name) < 0:
                raise ActionError(f"{self.type}.{name} must be >= 0, got {value}")
        if self.type == "type" and (not isinstance(self.text, str) or self.text == ""):
            raise ActionError("type needs non-empty text")
        if self.type == "key":
            object.__setattr__(self, "key", normalize_combo(self.key))
        if self.type == "scroll" and self.dx == 0 and self.dy == 0:
            raise ActionError("scroll needs a non-zero dx or dy")

    # ---- dict form -------------------------------------------------------------
    def to_dict(self) -> dict:
        """``{"type": "click", "x": 80, "y": 105}``, plus ``t``/``frame`` when known."""
        out: dict = {"type": self.type}
        for name in ACTION_FIELDS[self.type]:
            out[name] = getattr(self, name)
        if self.t is not None:
            out["t"] = self.t
        if self.frame is not None:
            out["frame"] = self.frame
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Action:
        if not isinstance(data, dict) or "type" not in data:
            raise ActionError(f"an action dict needs a 'type', got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ActionError(f"unknown action field(s) {sorted(unknown)} in {data!r}")
        # Columnar storage fills absent fields with None; keep only what this type uses.
        kwargs = {k: v for k, v in data.items() if v is not None}
        return cls(**kwargs)

    # ---- text form -------------------------------------------------------------
    def to_text(self) -> str:
        """One line: ``click 80 105``, ``type "hello"``, ``key ctrl+a``."""
        args = ACTION_FIELDS[self.type]
        if self.type == "type":
            # JSON string quoting: unambiguous for quotes, newlines and any unicode.
            return f"type {json.dumps(self.text, ensure_ascii=False)}"
        if self.type == "key":
            return f"key {self.key}"
        return " ".join([self.type, *(str(getattr(self, a)) for a in args)])

    @classmethod
    def from_text(cls, line: str) -> Action:
        line = line.strip()
        if not line:
            raise ActionError("empty action text")
        head, _, rest = line.partition(" ")
        if head not in ACTION_FIELDS:
            raise ActionError(
                f"unknown action {head!r} in {line!r}; expected one of {', '.join(ACTION_TYPES)}"
            )
        rest = rest.strip()
        if head == "type":
            return cls(type="type", text=_parse_quoted(rest, line))
        if head == "key":
            if not rest or " " in rest:
                raise ActionError(f"key needs one combo such as ctrl+a, got {line!r}")
            return cls(type="key", key=rest)
        names = ACTION_FIELDS[head]
        parts = rest.split() if rest else []
        if len(parts) != len(names):
            raise ActionError(f"{head} needs {len(names)} numbers ({' '.join(names)}): {line!r}")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ActionError(f"{head} takes integers: {line!r}") from None
        return cls(type=head, **dict(zip(names, values, strict=True)))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        when = "" if self.t is None else f", t={self.t:.3f}"
        at = "" if self.frame is None else f", frame={self.frame}"
        return f"Action({self.to_text()!r}{when}{at})"

    def with_time(self, t: float | None, frame: int | None) -> Action:
        return Action(**{**self.to_dict(), "t": t, "frame": frame})

    @property
    def point(self) -> tuple[int, int] | None:
        """Where the action happens on screen, if anywhere."""
        return None if self.x is None else (self.x, self.y)


def _parse_quoted(rest: str, line: str) -> str:
    if rest.startswith('"'):
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            raise ActionError(
                f'type needs one quoted string such as type "hello": {line!r}'
            ) from None
        if not isinstance(value, str):
            raise ActionError(f"type needs a string: {line!r}")
        return value
    try:
        parts = shlex.split(rest)
    except ValueError:
        parts = []
    if len(parts) != 1:
        raise ActionError(f'type needs one quoted string such as type "hello": {line!r}')
    return parts[0]


# ---- pixels <-> model bins: the only place anything is quantised --------------------
def pixel_to_bin(pixel, size: int, bins: int):
    """Which of ``bins`` equal bins across ``size`` pixels holds ``pixel``.
    Works on ints and on numpy arrays."""
    import numpy as np

    b = np.floor(np.asarray(pixel, dtype=np.float64) * bins / size).astype(np.int64)
    b = np.clip(b, 0, bins - 1)
    return int(b) if b.ndim == 0 else b


def bin_to_pixel(b, size: int, bins: int):
    """The pixel at the centre of bin ``b``; pixel_to_bin of it gives ``b`` back."""
    import numpy as np

    b = np.asarray(b, dtype=np.float64)
    centre = np.floor((b + 0.5) * size / bins)
    # The floor of the centre can fall left of a narrow bin; its first pixel cannot.
    first = np.ceil(b * size / bins)
    p = np.clip(np.maximum(centre, first).astype(np.int64), 0, size - 1)
    return int(p) if p.ndim == 0 else p


# ---- key names ------------------------------------------------------------------------
# The canonical names: Playwright's. Each backend keeps its own table beside it and
# converts through these: DevTools/Playwright in env/keyboard.py, pyautogui in
# env/pyautogui_keys.py, pynput in recorder/pynput_keys.py.
MODIFIERS = ("ctrl", "alt", "shift", "meta")  # canonical order in a combo
# The spellings a person may write for a modifier, lower-cased (DOM codes included).
_MODIFIER_ALIASES = {
    "ctrl": "ctrl", "control": "ctrl", "controlleft": "ctrl", "controlright": "ctrl",
    "alt": "alt", "option": "alt", "altleft": "alt", "altright": "alt",
    "shift": "shift", "shiftleft": "shift", "shiftright": "shift",
    "meta": "meta", "cmd": "meta", "command": "meta", "super": "meta", "win": "meta",
    "metaleft": "meta", "metaright": "meta",
}  # fmt: skip

# Keys that edit text or move through a page: what tasks ask for.
EDITING_KEYS = (
    "Enter", "Tab", "Escape", "Backspace", "Delete", "Space",
    "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown",
)  # fmt: skip
# Every non-character key.
SPECIAL_KEYS = (
    *EDITING_KEYS,
    "Insert", "CapsLock", "PrintScreen", "Pause", "ContextMenu",
    *(f"F{i}" for i in range(1, 13)),
)  # fmt: skip
# The editing combos tasks need; combos that act on the browser itself (ctrl+w) are absent.
EDITING_COMBOS = ("shift+Tab", "ctrl+a", "ctrl+c", "ctrl+v", "ctrl+x", "ctrl+z")
_SPECIAL_BY_LOWER = {name.lower(): name for name in SPECIAL_KEYS}
_SPECIAL_ALIASES = {
    "return": "Enter", "esc": "Escape", "del": "Delete", "up": "ArrowUp", "down": "ArrowDown",
    "left": "ArrowLeft", "right": "ArrowRight", "pgup": "PageUp", "pgdn": "PageDown",
    "apps": "ContextMenu", "menu": "ContextMenu", " ": "Space",
}  # fmt: skip

# US layout: the character a key gives with shift held.
SHIFTED = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz1234567890-=[]\\;',./`",
        'ABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()_+{}|:"<>?~',
        strict=True,
    )
)
UNSHIFTED = {v: k for k, v in SHIFTED.items()}


def normalize_key_name(name: str) -> str:
    """One key (not a combo) in canonical form: a modifier (``ctrl``), a special key
    (``Enter``) or one character (``a``, ``!``)."""
    if not isinstance(name, str) or name == "":
        raise ActionError(f"empty key name {name!r}")
    if len(name) == 1:
        return "Space" if name == " " else name
    low = name.lower()
    if low in _MODIFIER_ALIASES:
        return _MODIFIER_ALIASES[low]
    if low in _SPECIAL_BY_LOWER:
        return _SPECIAL_BY_LOWER[low]
    if low in _SPECIAL_ALIASES:
        return _SPECIAL_ALIASES[low]
    if low.startswith("key") and len(name) == 4:  # DOM codes: KeyA
        return name[3].lower()
    if low.startswith("digit") and len(name) == 6:  # DOM codes: Digit1
        return name[5]
    raise ActionError(f"unknown key name {name!r}")


def split_combo(combo: str) -> list[str]:
    """The keys of a combo in any backend's spelling: ``ctrl+shift+t`` -> [ctrl, shift, t].
    The plus key itself: ``+`` -> [+], ``ctrl++`` -> [ctrl, +]."""
    if combo == "+":
        return ["+"]
    if combo.endswith("++"):
        return [*combo[:-2].split("+"), "+"]
    return combo.split("+")


def normalize_combo(combo: str) -> str:
    """``Control+Shift+T`` -> ``ctrl+shift+t``; ``return`` -> ``Enter``."""
    if not isinstance(combo, str) or not combo.strip():
        raise ActionError(f"key needs a combo such as ctrl+a, got {combo!r}")
    parts = split_combo(combo.strip())
    if any(p == "" for p in parts):
        raise ActionError(f"malformed key combo {combo!r}")
    names = [normalize_key_name(p) for p in parts]
    mods = [n for n in names if n in MODIFIERS]
    keys = [n for n in names if n not in MODIFIERS]
    if len(keys) > 1:
        raise ActionError(f"a key combo has one non-modifier key, got {combo!r}")
    if len(set(mods)) != len(mods):
        raise ActionError(f"repeated modifier in {combo!r}")
    ordered = [m for m in MODIFIERS if m in mods]
    if keys:
        key = keys[0]
        if mods and len(key) == 1:
            # With modifiers held the key is named by its unshifted face: ctrl+shift+t.
            key = UNSHIFTED.get(key, key).lower()
        ordered.append(key)
    return "+".join(ordered)
