"""pyautogui's key names, for DesktopEnv's keyboard: the canonical names of
dataset/actions.py turned into the ones ``pyautogui.hotkey`` presses."""

from __future__ import annotations

from screenpilot.dataset.actions import MODIFIERS, SPECIAL_KEYS, normalize_combo, split_combo

# Canonical name -> pyautogui's: its lower-cased form, but where pyautogui differs.
PYAUTOGUI_NAMES: dict[str, str] = {
    **{name: name.lower() for name in (*MODIFIERS, *SPECIAL_KEYS)},
    "meta": "win",
    "Escape": "esc",
    "ArrowUp": "up",
    "ArrowDown": "down",
    "ArrowLeft": "left",
    "ArrowRight": "right",
    "ContextMenu": "apps",
}


def combo_to_pyautogui(combo: str) -> list[str]:
    """``ctrl+a`` -> ``["ctrl", "a"]``, ``shift+ArrowLeft`` -> ``["shift", "left"]``:
    the arguments of ``pyautogui.hotkey``."""
    return [PYAUTOGUI_NAMES.get(key, key) for key in split_combo(normalize_combo(combo))]
