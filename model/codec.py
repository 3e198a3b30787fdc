"""Actions <-> the integers the model predicts, and task text <-> byte tokens.

A point (click, drag ends, scroll position) is a patch of the model's grid plus a cell of
a ``sub x sub`` subdivision inside it: together one bin of ``cols*sub`` x ``rows*sub``
bins across the screen. Pixels become bins only through ``dataset.actions.pixel_to_bin``
and come back through ``bin_to_pixel``, so any screen size maps onto the same grid.
Typed text is a span (first and last byte) copied from the task: tasks say what to type,
and a pointer is far easier to learn from pixels than spelling byte by byte.
Grounding labels (the visible words of a screenshot and their boxes) become "where is W?"
queries: the word's bytes and its box in the model's image pixels.
No torch here: this runs in DataLoader workers and in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from screenpilot.dataset.actions import (
    ACTION_FIELDS,
    ACTION_TYPES,
    EDITING_COMBOS,
    EDITING_KEYS,
    Action,
    bin_to_pixel,
    pixel_to_bin,
)

IGNORE = -100  # cross-entropy's ignore_index: this head has nothing to learn here

# Keys the model can press. Stored in the config, so a checkpoint keeps its own list.
DEFAULT_KEYS = (
    "<unk>", *EDITING_KEYS, *EDITING_COMBOS,
    "ctrl+Enter", "ctrl+Space", "ctrl+ArrowUp", "ctrl+ArrowDown",
)  # fmt: skip

# ByT5's layout: 0 pad, 1 eos, 2 unk, then the 256 byte values.
BYTE_OFFSET = 3
BYTE_VOCAB = 256 + BYTE_OFFSET

TYPE_INDEX = {t: i for i, t in enumerate(ACTION_TYPES)}
NO_ACTION = len(ACTION_TYPES)  # the type id of an empty history slot
POINTED = frozenset(t for t, f in ACTION_FIELDS.items() if "x" in f)


def task_bytes(task: str, max_bytes: int) -> bytes:
    return task.encode("utf-8")[:max_bytes]


def encode_task(task: str, max_bytes: int) -> tuple[np.ndarray, int]:
    """(max_bytes,) int64 byte tokens padded with 0, and how many are real."""
    raw = task_bytes(task, max_bytes)
    ids = np.zeros(max_bytes, np.int64)
    ids[: len(raw)] = np.frombuffer(raw, np.uint8).astype(np.int64) + BYTE_OFFSET
    return ids, len(raw)


def find_span(text: str, task: str, max_bytes: int) -> tuple[int, int] | None:
    """Where ``text`` sits in the task's bytes (first and last byte, inclusive), or None.
    Several occurrences: a quoted one wins, then a whole word, then the first."""
    needle, hay = text.encode("utf-8"), task_bytes(task, max_bytes)
    if not needle:
        return None
    best, best_score = None, -1
    start = hay.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = hay[start - 1 : start] if start else b" "
        after = hay[end : end + 1] or b" "
        quoted = before in (b'"', b"'") and after == before
        word = not before.isalnum() and not after.isalnum()
        score = 2 if quoted else 1 if word else 0
        if score > best_score:
            best, best_score = (start, end - 1), score
        start = hay.find(needle, start + 1)
    return best


@dataclass(frozen=True)
class ActionCodec:
    rows: int
    cols: int
    sub: int
    max_task_bytes: int
    key_vocab: tuple[str, ...] | list[str]
    scroll_step: int
    max_scroll_steps: int

    @property
    def num_patches(self) -> int:
        return self.rows * self.cols

    @property
    def num_scroll_classes(self) -> int:
        return 2 * self.max_scroll_steps + 1

    def key_index(self, key: str) -> int:
        try:
            return list(self.key_vocab).index(key)
        except ValueError:
            return 0  # <unk>

    # ---- points ----------------------------------------------------------------------
    def encode_point(self, x: int, y: int, screen: tuple[int, int]) -> tuple[int, int]:
        """Pixel (x, y) of a (width, height) screen -> (patch index, cell index)."""
        xb = pixel_to_bin(x, screen[0], self.cols * self.sub)
        yb = pixel_to_bin(y, screen[1], self.rows * self.sub)
        patch = (yb // self.sub) * self.cols + xb // self.sub
        cell = (yb % self.sub) * self.sub + xb % self.sub
        return int(patch), int(cell)

    def decode_point(self, patch: int, cell: int, screen: tuple[int, int]) -> tuple[int, int]:
        xb = (patch % self.cols) * self.sub + cell % self.sub
        yb = (patch // self.cols) * self.sub + cell // self.sub
        return (
            bin_to_pixel(xb, screen[0], self.cols * self.sub),
            bin_to_pixel(yb, screen[1], self.rows * self.sub),
        )

    def scroll_class(self, delta: int) -> int:
        steps = int(np.clip(round(delta / self.scroll_step), -self.max_scroll_steps,
                            self.max_scroll_steps))  # fmt: skip
        return steps + self.max_scroll_steps

    # ---- targets ---------------------------------------------------------------------
    def encode_action(self, action: Action, task: str, screen: tuple[int, int]) -> dict:
        """The integer targets of every head; IGNORE where a head has nothing to say."""
        t = {
            "type": TYPE_INDEX[action.type],
            "patch": IGNORE, "cell": IGNORE, "patch2": IGNORE, "cell2": IGNORE,
            "span_start": IGNORE, "span_end": IGNORE, "key": IGNORE,
            "scroll_x": IGNORE, "scroll_y": IGNORE,
        }  # fmt: skip
        if action.type in POINTED:
            t["patch"], t["cell"] = self.encode_point(action.x, action.y, screen)
        if action.type == "drag":
            t["patch2"], t["cell2"] = self.encode_point(action.x2, action.y2, screen)
        if action.type == "scroll":
            t["scroll_x"], t["scroll_y"] = (
                self.scroll_class(action.dx),
                self.scroll_class(action.dy),
            )
        if action.type == "type":
            span = find_span(action.text, task, self.max_task_bytes)
            if span is not None:  # text the task does not contain cannot be copied
                t["span_start"], t["span_end"] = span
        if action.type == "key":
            t["key"] = self.key_index(action.key)
        return t

    def encode_history(self, history, task: str, screen: tuple[int, int], slots: int) -> dict:
        """The last ``slots`` actions (oldest first, right-aligned so the newest always
        sits in the last slot), plus which task bytes were already typed."""
        kinds = np.full(slots, NO_ACTION, np.int64)
        patches = np.full(slots, self.num_patches, np.int64)  # num_patches: no point
        keys = np.zeros(slots, np.int64)
        typed = np.zeros(self.max_task_bytes, np.int64)
        recent = list(history)[-slots:] if slots else []
        for i, action in enumerate(recent, start=slots - len(recent)):
            kinds[i] = TYPE_INDEX[action.type]
            if action.type in POINTED:
                patches[i] = self.encode_point(action.x, action.y, screen)[0]
            if action.type == "key":
                keys[i] = self.key_index(action.key)
        for action in history:
            if action.type == "type":
                span = find_span(action.text, task, self.max_task_bytes)
                if span is not None:
                    typed[span[0] : span[1] + 1] = 1
        return {"hist_type": kinds, "hist_patch": patches, "hist_key": keys, "typed": typed}

    # ---- predictions -> Action -------------------------------------------------------
    def decode_action(self, pred: dict, task: str, screen: tuple[int, int]) -> Action:
        """``pred``: ints for type, patch, cell, patch2, cell2, span_start, span_end, key,
        scroll_x, scroll_y (as the model's argmaxes)."""
        kind = ACTION_TYPES[int(pred["type"])]
        if kind in POINTED:
            x, y = self.decode_point(pred["patch"], pred["cell"], screen)
            if kind == "drag":
                x2, y2 = self.decode_point(pred["patch2"], pred["cell2"], screen)
                return Action("drag", x=x, y=y, x2=x2, y2=y2)
            if kind == "scroll":
                dx = (int(pred["scroll_x"]) - self.max_scroll_steps) * self.scroll_step
                dy = (int(pred["scroll_y"]) - self.max_scroll_steps) * self.scroll_step
                if dx == 0 and dy == 0:
                    dy = self.scroll_step  # a scroll must move; down is the common case
                return Action("scroll", x=x, y=y, dx=dx, dy=dy)
            return Action(kind, x=x, y=y)
        if kind == "type":
            raw = task_bytes(task, self.max_task_bytes)
            start, end = int(pred["span_start"]), int(pred["span_end"])
            text = raw[start : end + 1].decode("utf-8", errors="ignore") or " "
            return Action("type", text=text)
        if kind == "key":
            key = self.key_vocab[int(pred["key"])]
            return Action("key", key="Enter" if key == "<unk>" else key)
        return Action(kind)


# ---- grounding queries ----------------------------------------------------------------
TASK_WORD = re.compile(r"[^\s\"',.!?:;()]+")


def task_words(task: str, words: int, max_bytes: int) -> dict:
    """The task's words (quotes and punctuation stripped) as pooled-token inputs:
    ``w_ids`` (words, max_bytes), ``w_len`` (words,); 0 bytes: no word."""
    ids = np.zeros((words, max_bytes), np.int64)
    lengths = np.zeros(words, np.int64)
    found = [w.encode("utf-8")[:max_bytes] for w in TASK_WORD.findall(task)]
    for i, raw in enumerate(found[:words]):
        ids[i, : len(raw)] = np.frombuffer(raw, np.uint8).astype(np.int64) + BYTE_OFFSET
        lengths[i] = len(raw)
    return {"w_ids": ids, "w_len": lengths}


def task_word_boxes(task: str, items, screen, image, words: int, max_bytes: int) -> np.ndarray:
    """(words, 4): where each task word is shown (the box of the one grounding item with
    that text, in image pixels), -1 where it is not shown or shown more than once."""
    boxes = np.full((words, 4), -1.0, np.float32)
    by_text: dict[str, list] = {}
    for item in items:
        by_text.setdefault(item["text"], []).append(item)
    sx, sy = image[0] / screen[0], image[1] / screen[1]
    for i, word in enumerate(TASK_WORD.findall(task)[:words]):
        shown = by_text.get(word, [])
        if len(shown) == 1 and len(word.encode("utf-8")) <= max_bytes:
            it = shown[0]
            boxes[i] = (it["x0"] * sx, it["y0"] * sy, it["x1"] * sx, it["y1"] * sy)
    return boxes


def encode_grounding(
    items, screen: tuple[int, int], image: tuple[int, int], queries: int, max_bytes: int, rng
) -> dict:
    """A screenshot's text items -> up to ``queries`` "where is W?" queries:
    ``g_ids`` (queries, max_bytes) byte tokens, ``g_len`` (queries,) real bytes (0: no
    query), ``g_box`` (queries, 4) x0 y0 x1 y1 in the model's (width, height) ``image``
    pixels. A text shown twice has no single answer and a text longer than ``max_bytes``
    would be cut into another word, so both are left out; ``rng`` picks which of the
    rest when there are more than ``queries``."""
    ids = np.zeros((queries, max_bytes), np.int64)
    lengths = np.zeros(queries, np.int64)
    boxes = np.full((queries, 4), -1.0, np.float32)
    seen: dict[str, int] = {}
    for item in items:
        seen[item["text"]] = seen.get(item["text"], 0) + 1
    unique = [it for it in items
              if seen[it["text"]] == 1 and 0 < len(it["text"].encode("utf-8")) <= max_bytes]  # fmt: skip
    if len(unique) > queries:
        unique = [unique[i] for i in sorted(rng.choice(len(unique), queries, replace=False))]
    sx, sy = image[0] / screen[0], image[1] / screen[1]
    for q, item in enumerate(unique):
        raw = item["text"].encode("utf-8")
        ids[q, : len(raw)] = np.frombuffer(raw, np.uint8).astype(np.int64) + BYTE_OFFSET
        lengths[q] = len(raw)
        boxes[q] = (item["x0"] * sx, item["y0"] * sy, item["x1"] * sx, item["y1"] * sy)
    return {"g_ids": ids, "g_len": lengths, "g_box": boxes}
