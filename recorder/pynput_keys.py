"""pynput's key names, for the desktop recorder: what pynput's listeners report turned
into the canonical names of dataset/actions.py."""

from __future__ import annotations

from screenpilot.dataset.actions import normalize_key_name
from screenpilot.dataset.errors import ActionError

# pynput ``Key`` attribute -> canonical name. Left and right modifiers are one modifier.
PYNPUT_NAMES: dict[str, str] = {
    "ctrl": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl",
    "alt": "alt", "alt_l": "alt", "alt_r": "alt", "alt_gr": "alt",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift",
    "cmd": "meta", "cmd_l": "meta", "cmd_r": "meta",
    "enter": "Enter", "tab": "Tab", "esc": "Escape", "backspace": "Backspace",
    "delete": "Delete", "insert": "Insert", "space": "Space",
    "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
    "home": "Home", "end": "End", "page_up": "PageUp", "page_down": "PageDown",
    "caps_lock": "CapsLock", "print_screen": "PrintScreen", "pause": "Pause",
    "menu": "ContextMenu",
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
}  # fmt: skip


def key_from_pynput(key) -> str:
    """A pynput ``Key`` or ``KeyCode`` (or the string form ``Key.enter``) -> our name.
    Duck-typed, so nothing imports pynput for it. Keys without a name of ours (media
    keys, num lock) raise ActionError."""
    char = getattr(key, "char", None)
    if char:
        return normalize_key_name(char)
    name = getattr(key, "name", None)
    if name is None and isinstance(key, str):
        name = key.removeprefix("Key.")
    if name not in PYNPUT_NAMES:
        raise ActionError(f"cannot name pynput key {key!r}")
    return PYNPUT_NAMES[name]
