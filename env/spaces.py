"""Gymnasium spaces for the observation and the action, and the conversion from an
``action_space`` sample to an ``Action``."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from screenpilot.dataset.actions import (
    ACTION_FIELDS,
    ACTION_TYPES,
    EDITING_COMBOS,
    SPECIAL_KEYS,
    Action,
)

MAX_TASK_CHARS = 2000
MAX_TYPED_CHARS = 64
MAX_SCROLL_PX = 1000
# What a sampled `key` action may press: every named key plus the editing combos tasks need.
KEY_CHOICES: tuple[str, ...] = (*SPECIAL_KEYS, *EDITING_COMBOS)
_TYPE_CHARS = "".join(chr(c) for c in range(32, 127))


def _all_text_chars() -> frozenset[str]:
    """Task texts can hold any character (unicode-test): the space admits the whole
    Basic Multilingual Plane except surrogates, plus the astral emoji block."""
    codes = [*range(9, 11), *range(32, 0xD800), *range(0xE000, 0x10000), *range(0x1F000, 0x1FB00)]
    return frozenset(map(chr, codes))


def observation_space(width: int, height: int) -> spaces.Dict:
    return spaces.Dict(
        {
            "screenshot": spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8),
            "task": spaces.Text(max_length=MAX_TASK_CHARS, min_length=0, charset=_all_text_chars()),
        }
    )


def action_space(width: int, height: int) -> spaces.Dict:
    """Every field of every action type; a sample uses the fields its type needs."""
    return spaces.Dict(
        {
            "type": spaces.Discrete(len(ACTION_TYPES)),
            "x": spaces.Discrete(width),
            "y": spaces.Discrete(height),
            "x2": spaces.Discrete(width),
            "y2": spaces.Discrete(height),
            "dx": spaces.Discrete(2 * MAX_SCROLL_PX + 1, start=-MAX_SCROLL_PX),
            "dy": spaces.Discrete(2 * MAX_SCROLL_PX + 1, start=-MAX_SCROLL_PX),
            "text": spaces.Text(max_length=MAX_TYPED_CHARS, min_length=1, charset=_TYPE_CHARS),
            "key": spaces.Discrete(len(KEY_CHOICES)),
        }
    )


def is_space_sample(action) -> bool:
    """A sample has an integer ``type``; an Action's dict form names it."""
    return isinstance(action, dict) and isinstance(action.get("type"), (int, np.integer))


def action_from_sample(sample: dict) -> Action:
    kind = ACTION_TYPES[int(sample["type"])]
    kwargs = {}
    for name in ACTION_FIELDS[kind]:
        value = sample[name]
        if name == "key":
            kwargs[name] = KEY_CHOICES[int(value)]
        elif name == "text":
            kwargs[name] = str(value)
        else:
            kwargs[name] = int(value)
    if kind == "scroll" and kwargs["dx"] == 0 and kwargs["dy"] == 0:
        kwargs["dy"] = 1  # the one sample the schema rejects; nudge it rather than fail
    return Action(type=kind, **kwargs)
