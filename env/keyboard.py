"""A keyboard with Playwright's ``page.keyboard`` interface (``type``, ``press``) for
pages under frame control (env/frames.py): the key events of one action go out at once
and come back in one round trip, where Playwright waits for each event in turn.

The events are the ones Playwright sends for its US layout: keyDown (with the text the
key types) and keyUp, modifiers pressed around the key for a combo; a character the
layout has no key for is inserted as text (``Input.insertText``), as Playwright does.
"""

from __future__ import annotations

from screenpilot.dataset.actions import normalize_combo, split_combo

# key -> (code, Windows virtual key code, text it types); keyed by the canonical names
# (dataset/actions.py) except Space, whose DOM key is " ".
_NAMED = {
    "Enter": ("Enter", 13, "\r"),
    "Tab": ("Tab", 9, ""),
    "Escape": ("Escape", 27, ""),
    "Backspace": ("Backspace", 8, ""),
    "Delete": ("Delete", 46, ""),
    "Insert": ("Insert", 45, ""),
    " ": ("Space", 32, " "),
    "ArrowUp": ("ArrowUp", 38, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""),
    "ArrowRight": ("ArrowRight", 39, ""),
    "Home": ("Home", 36, ""),
    "End": ("End", 35, ""),
    "PageUp": ("PageUp", 33, ""),
    "PageDown": ("PageDown", 34, ""),
    "CapsLock": ("CapsLock", 20, ""),
    "PrintScreen": ("PrintScreen", 44, ""),
    "Pause": ("Pause", 19, ""),
    "ContextMenu": ("ContextMenu", 93, ""),
    **{f"F{i}": (f"F{i}", 111 + i, "") for i in range(1, 13)},
}
_ALIASES = {"Space": " ", "\n": "Enter", "\r": "Enter"}
# name -> (key, code, virtual key code, CDP modifier bit)
_MODIFIERS = {
    "Alt": ("Alt", "AltLeft", 18, 1),
    "Control": ("Control", "ControlLeft", 17, 2),
    "Meta": ("Meta", "MetaLeft", 91, 4),
    "Shift": ("Shift", "ShiftLeft", 16, 8),
}
# Canonical modifier -> Playwright's name.
_PLAYWRIGHT_MODIFIERS = {"ctrl": "Control", "alt": "Alt", "shift": "Shift", "meta": "Meta"}
# The printable keys of a US keyboard: (unshifted, shifted, code, virtual key code).
_PRINTABLE_KEYS = [
    *((c, c.upper(), f"Key{c.upper()}", ord(c.upper())) for c in "abcdefghijklmnopqrstuvwxyz"),
    *((str(d), ")!@#$%^&*("[d], f"Digit{d}", 48 + d) for d in range(10)),
    ("`", "~", "Backquote", 192),
    ("-", "_", "Minus", 189),
    ("=", "+", "Equal", 187),
    ("[", "{", "BracketLeft", 219),
    ("]", "}", "BracketRight", 221),
    ("\\", "|", "Backslash", 220),
    (";", ":", "Semicolon", 186),
    ("'", '"', "Quote", 222),
    (",", "<", "Comma", 188),
    (".", ">", "Period", 190),
    ("/", "?", "Slash", 191),
]
_CHARACTERS = {}  # character -> (code, virtual key code, its shifted character or None)
for _low, _high, _code, _vk in _PRINTABLE_KEYS:
    _CHARACTERS[_low] = (_code, _vk, _high)
    _CHARACTERS[_high] = (_code, _vk, None)


def combo_to_playwright(combo: str) -> str:
    """``ctrl+a`` -> ``Control+a`` for ``page.keyboard.press``."""
    keys = split_combo(normalize_combo(combo))
    return "+".join(_PLAYWRIGHT_MODIFIERS.get(k, k) for k in keys)


class CDPKeyboard:
    def __init__(self, frames):
        self._frames = frames  # env.frames.PumpedFrames: sends the events

    def type(self, text: str) -> None:
        events = []
        for char in text:
            name = _ALIASES.get(char, char)
            if name in _NAMED or name in _CHARACTERS:
                events += self._key_events(name, modifiers=0)
            else:
                events.append(("Input.insertText", {"text": char}))
        self._send(events)

    def press(self, combo: str) -> None:
        """``Control+a``, ``Shift+Tab``, ``Enter``: Playwright's names, ``+`` between."""
        *held, key = split_combo(combo)
        unknown = [m for m in held if m not in _MODIFIERS]
        if unknown:
            raise ValueError(f"unknown modifier {unknown[0]!r} in {combo!r}")
        events, bits = [], 0
        for name in held:
            mod_key, code, vk, bit = _MODIFIERS[name]
            bits |= bit
            events.append(("Input.dispatchKeyEvent", _event("rawKeyDown", mod_key, code, vk, bits)))
        events += self._key_events(_ALIASES.get(key, key), modifiers=bits)
        for name in reversed(held):
            mod_key, code, vk, bit = _MODIFIERS[name]
            bits &= ~bit
            events.append(("Input.dispatchKeyEvent", _event("keyUp", mod_key, code, vk, bits)))
        self._send(events)

    def _key_events(self, name: str, modifiers: int) -> list[tuple[str, dict]]:
        if name in _NAMED:
            code, vk, text = _NAMED[name]
            key = name
        elif name in _CHARACTERS:
            code, vk, shifted = _CHARACTERS[name]
            key = shifted if modifiers & 8 and shifted else name
            text = key
        elif name in _MODIFIERS:
            key, code, vk, _ = _MODIFIERS[name]
            text = ""
        else:
            raise ValueError(f"unknown key {name!r}")
        if modifiers & ~8:  # Control, Alt or Meta held: the key types nothing
            text = ""
        down = _event("keyDown" if text else "rawKeyDown", key, code, vk, modifiers, text)
        up = _event("keyUp", key, code, vk, modifiers)
        return [("Input.dispatchKeyEvent", down), ("Input.dispatchKeyEvent", up)]

    def _send(self, events: list[tuple[str, dict]]) -> None:
        if events:
            self._frames.dispatch(events, needs_frame=False)


def _event(kind: str, key: str, code: str, vk: int, modifiers: int, text: str = "") -> dict:
    event = {
        "type": kind,
        "key": key,
        "code": code,
        "windowsVirtualKeyCode": vk,
        "nativeVirtualKeyCode": vk,
        "modifiers": modifiers,
    }
    if text:
        event["text"] = event["unmodifiedText"] = text
    return event
