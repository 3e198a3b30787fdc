"""pynput's key names, as the desktop recorder hears them, become the canonical names."""

import pytest

from screenpilot.dataset.actions import MODIFIERS, SPECIAL_KEYS
from screenpilot.dataset.errors import ActionError
from screenpilot.recorder.pynput_keys import PYNPUT_NAMES, key_from_pynput


class _PynputKey:  # the two shapes pynput hands to listeners: Key.x and KeyCode(char)
    def __init__(self, name=None, char=None):
        self.name, self.char = name, char


def test_pynput_names():
    assert key_from_pynput(_PynputKey(name="ctrl_l")) == "ctrl"
    assert key_from_pynput(_PynputKey(name="cmd_r")) == "meta"
    assert key_from_pynput(_PynputKey(name="enter")) == "Enter"
    assert key_from_pynput(_PynputKey(name="page_down")) == "PageDown"
    assert key_from_pynput(_PynputKey(char="a")) == "a"
    assert key_from_pynput(_PynputKey(char=" ")) == "Space"
    assert key_from_pynput("Key.esc") == "Escape"
    with pytest.raises(ActionError):
        key_from_pynput(_PynputKey(name="media_volume_up"))  # no name of ours


def test_every_canonical_key_can_be_heard():
    assert set(PYNPUT_NAMES.values()) == {*MODIFIERS, *SPECIAL_KEYS}


@pytest.mark.integration
def test_every_pynput_name_is_a_key_of_pynput(xvfb, monkeypatch):
    monkeypatch.setenv("DISPLAY", xvfb)  # pynput's X backend needs a display to import
    from pynput.keyboard import Key

    assert [name for name in PYNPUT_NAMES if not hasattr(Key, name)] == []
