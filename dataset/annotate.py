"""Drawing actions onto screen frames: click rings, drag arrows, captions, step badges.

Pure functions on (H, W, 3) uint8 RGB arrays; nothing here reads or writes files, so the
episode renderer and the agent (annotating its own runs) share it.

Legibility rules, because frames range from a 160x210 MiniWoB screen to 1280x720:
- ``annotate_frames`` enlarges small frames by an integer factor (nearest neighbour,
  so UI pixels stay crisp) until the short side is at least ``MIN_VIEW_SIDE``; captions
  drawn afterwards get enough pixels to be read.
- every size (ring radius, stroke, font) follows ``_unit``, which grows with the frame.
- each mark is a bright colour over a dark outline, visible on white and on dark UIs.
- captions go in a bar at the top by default: a paused video player (a browser, VLC)
  lays its controls over the bottom of the picture, which hid bottom captions exactly
  when someone stops on an action to read it. ``caption_at="bottom"`` is there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .actions import Action

MIN_VIEW_SIDE = 420
HOLD_SECONDS = 0.7
# The faintest an action gets at the end of its hold: it fades so a new action stands out.
FADE_FLOOR = 0.45

# RGB. Bright, saturated, and distinct from one another and from common UI colours.
OUTLINE = (20, 20, 20)
COLOURS = {
    "click": (255, 214, 0),  # amber
    "double_click": (255, 214, 0),
    "right_click": (255, 64, 200),  # magenta
    "mouse_down": (255, 140, 0),  # orange
    "mouse_up": (255, 140, 0),
    "move": (0, 229, 255),  # cyan
    "drag": (64, 255, 96),  # green
    "scroll": (0, 229, 255),
}
CAPTION_BG = (24, 24, 24)
CAPTION_TEXT = (255, 255, 255)
BADGE_BG = (230, 40, 40)  # red: the step number reads as a label, not as an action mark
FONT = cv2.FONT_HERSHEY_SIMPLEX
CAPTION_AT = "top"


# ---- sizes ---------------------------------------------------------------------------------
def upscale_factor(width: int, height: int, min_side: int = MIN_VIEW_SIDE) -> int:
    """The smallest integer factor that brings the short side to ``min_side`` (1 if there)."""
    short = max(1, min(int(width), int(height)))
    return max(1, math.ceil(min_side / short))


def _enlarge(frame: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return frame
    h, w = frame.shape[:2]
    return cv2.resize(frame, (w * factor, h * factor), interpolation=cv2.INTER_NEAREST)


def _unit(frame: np.ndarray) -> float:
    """One 'design pixel': 1.0 on a 480-px short side, proportionally more or less elsewhere.
    Floored so that marks on an un-upscaled tiny frame still have a visible stroke."""
    return max(0.4, min(frame.shape[:2]) / 480)


def _px(value: float) -> int:
    return max(1, int(round(value)))


# ---- primitives (each draws the dark outline first, then the colour on top) ----------------
def _ring(img, centre, radius, colour, u):
    cv2.circle(img, centre, _px(radius), OUTLINE, _px(5 * u), cv2.LINE_AA)
    cv2.circle(img, centre, _px(radius), colour, _px(2.5 * u), cv2.LINE_AA)


def _dot(img, centre, radius, colour, u):
    cv2.circle(img, centre, _px(radius + 1.5 * u), OUTLINE, -1, cv2.LINE_AA)
    cv2.circle(img, centre, _px(radius), colour, -1, cv2.LINE_AA)


def _cross(img, centre, half, colour, u):
    x, y = centre
    h = _px(half)
    for thickness, c in ((_px(5 * u), OUTLINE), (_px(2.5 * u), colour)):
        cv2.line(img, (x - h, y), (x + h, y), c, thickness, cv2.LINE_AA)
        cv2.line(img, (x, y - h), (x, y + h), c, thickness, cv2.LINE_AA)


def _arrow(img, start, end, colour, u):
    length = math.dist(start, end)
    if length < 1:
        _dot(img, start, 4 * u, colour, u)
        return
    # A fixed head size in pixels: cv2's tipLength is a fraction of the whole arrow.
    tip = min(0.5, 14 * u / length)
    cv2.arrowedLine(img, start, end, OUTLINE, _px(5.5 * u), cv2.LINE_AA, tipLength=tip)
    cv2.arrowedLine(img, start, end, colour, _px(2.5 * u), cv2.LINE_AA, tipLength=tip)


def _font_scale(u: float) -> float:
    return 0.6 * u


def _font_thickness(u: float) -> int:
    return _px(1.6 * u)


# OpenCV 5 draws any unicode text; 4.x has only the Hershey fonts' printable ASCII, where
# anything else would come out as a row of question marks per byte.
_UNICODE_TEXT = int(cv2.__version__.split(".")[0]) >= 5


def _drawable_text(text: str) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    if _UNICODE_TEXT:
        return text
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _fit_text(text: str, max_width: int, scale: float, thickness: int) -> str:
    """``text``, cut with '...' so that it fits in ``max_width`` pixels."""
    if cv2.getTextSize(text, FONT, scale, thickness)[0][0] <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if cv2.getTextSize(text[:mid] + "...", FONT, scale, thickness)[0][0] <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "..."


def _badge(img, centre, step: int, u):
    """A red disc with the step number; returns its radius."""
    label = str(step)
    scale, thick = _font_scale(u) * 0.9, _font_thickness(u)
    (tw, th), _ = cv2.getTextSize(label, FONT, scale, thick)
    radius = max(tw, th) / 2 + 5 * u
    _dot(img, centre, radius, BADGE_BG, u * 0.7)
    cx, cy = centre
    cv2.putText(
        img, label, (cx - tw // 2, cy + th // 2), FONT, scale, CAPTION_TEXT, thick, cv2.LINE_AA
    )
    return radius


def _badge_near(img, point, offset, step, u):
    """The step badge up and to the right of a mark, kept inside the frame."""
    h, w = img.shape[:2]
    margin = _px(14 * u)
    x = min(max(point[0] + offset, margin), w - margin)
    y = min(max(point[1] - offset, margin), h - margin)
    _badge(img, (int(x), int(y)), step, u)


def _caption(img, text: str, row: int, step: int | None, u, at: str):
    """A dark bar holding ``text`` across the top or bottom edge (``row`` 0), or the
    ``row``-th bar stacked inwards from there."""
    h, w = img.shape[:2]
    scale, thick = _font_scale(u), _font_thickness(u)
    (_, th), base = cv2.getTextSize("Ag", FONT, scale, thick)
    pad = _px(6 * u)
    bar_h = th + base + 2 * pad
    top = row * bar_h if at == "top" else h - (row + 1) * bar_h
    if top < 0 or top + bar_h > h:
        return  # more captions than the frame holds: the newest ones already show
    cv2.rectangle(img, (0, top), (w, top + bar_h), CAPTION_BG, -1)
    x = pad
    if step is not None:
        radius = _badge(img, (int(x + bar_h / 2 - pad / 2), top + bar_h // 2), step, u)
        x = int(x + 2 * radius + pad)
    text = _fit_text(_drawable_text(text), w - x - pad, scale, thick)
    cv2.putText(img, text, (x, top + pad + th), FONT, scale, CAPTION_TEXT, thick, cv2.LINE_AA)


# ---- actions ----------------------------------------------------------------------------------
def _scaled(action: Action, name_x: str, name_y: str, scale: float) -> tuple[int, int]:
    return (
        int(round(getattr(action, name_x) * scale + (scale - 1) / 2)),
        int(round(getattr(action, name_y) * scale + (scale - 1) / 2)),
    )


def _draw_mark(img, action: Action, step: int | None, scale: float, u: float) -> bool:
    """Draw an action that has a place on screen; False for those that only get a caption."""
    kind = action.type
    if action.point is None:
        return False
    p = _scaled(action, "x", "y", scale)
    colour = COLOURS[kind]
    r = 13 * u
    badge_offset = r + 6 * u
    if kind in ("click", "right_click"):
        _ring(img, p, r, colour, u)
        _dot(img, p, 2 * u, colour, u)
    elif kind == "double_click":
        _ring(img, p, r * 0.75, colour, u)
        _ring(img, p, r * 1.35, colour, u)
        badge_offset = r * 1.35 + 6 * u
    elif kind == "mouse_down":
        _ring(img, p, r, colour, u)
        _dot(img, p, 5 * u, colour, u)
    elif kind == "mouse_up":
        _ring(img, p, r * 0.7, colour, u)
    elif kind == "move":
        _cross(img, p, 9 * u, colour, u)
        badge_offset = 18 * u
    elif kind == "drag":
        end = _scaled(action, "x2", "y2", scale)
        _dot(img, p, 4 * u, colour, u)
        _arrow(img, p, end, colour, u)
    elif kind == "scroll":
        # dy > 0 scrolls down (the DOM convention), so the arrow points down.
        norm = math.hypot(action.dx, action.dy)
        length = 34 * u
        end = (int(p[0] + action.dx / norm * length), int(p[1] + action.dy / norm * length))
        _dot(img, p, 4 * u, colour, u)
        _arrow(img, p, end, colour, u)
    if step is not None:
        _badge_near(img, p, badge_offset, step, u)
    return True


def caption_text(action: Action) -> str:
    """What the caption says: the action's one-line text form (``type "hello"``)."""
    return action.to_text()


@dataclass(frozen=True)
class Mark:
    """One action to draw on a frame: its step number and how strongly (0..1)."""

    action: Action
    step: int | None = None
    fade: float = 1.0


def draw_actions(
    frame: np.ndarray, marks: Sequence[Mark], *, scale: float = 1.0, caption_at: str = CAPTION_AT
) -> np.ndarray:
    """A new frame with every mark drawn; captions of point-less actions stack inwards
    from the ``caption_at`` edge ("top" or "bottom"), oldest at the edge. ``scale`` maps
    action coordinates onto ``frame`` (the upscale factor)."""
    if caption_at not in ("top", "bottom"):
        raise ValueError(f"caption_at must be 'top' or 'bottom', got {caption_at!r}")
    out = frame.copy()
    u = _unit(frame)
    caption_row = 0
    # Later marks are drawn last, so the newest action sits on top of older ones.
    for mark in sorted(marks, key=lambda m: m.fade):
        layer = out.copy()
        if not _draw_mark(layer, mark.action, mark.step, scale, u):
            _caption(layer, caption_text(mark.action), caption_row, mark.step, u, caption_at)
            caption_row += 1
        alpha = min(1.0, max(0.0, float(mark.fade)))
        out = layer if alpha >= 1.0 else cv2.addWeighted(layer, alpha, out, 1 - alpha, 0)
    return out


def draw_action(
    frame: np.ndarray,
    action: Action,
    step: int | None = None,
    *,
    fade: float = 1.0,
    scale: float = 1.0,
    caption_at: str = CAPTION_AT,
) -> np.ndarray:
    """A new frame with ``action`` drawn (the input is left untouched).

    ``fade`` (0..1) blends the drawing into the frame; ``scale`` multiplies the action's
    coordinates, for frames enlarged by ``upscale_factor``."""
    return draw_actions(frame, [Mark(action, step, fade)], scale=scale, caption_at=caption_at)


# ---- sequences ----------------------------------------------------------------------------------
def hold_frames(fps: float, seconds: float = HOLD_SECONDS) -> int:
    """How many frames an action stays on screen: ``seconds`` of video, at least one."""
    return max(1, int(round(seconds * fps)))


def _frame_of_each(
    actions: Sequence[Action], frame_of: Callable[[Action], int | None]
) -> list[int]:
    # An action that does not know its frame goes with the action before it.
    out, last = [], 0
    for action in actions:
        f = frame_of(action)
        last = last if f is None else int(f)
        out.append(last)
    return out


def annotate_frames(
    frames: Iterable[np.ndarray],
    actions: Sequence[Action],
    *,
    fps: float,
    hold_seconds: float = HOLD_SECONDS,
    upscale: bool = True,
    frame_of: Callable[[Action], int | None] = lambda a: a.frame,
    first_step: int = 1,
    caption_at: str = CAPTION_AT,
) -> Iterator[np.ndarray]:
    """Yield each frame with the actions taken on it, and those still held from the
    frames before, drawn on top. An action appears on the frame it was taken on
    (``frame_of``, by default ``action.frame``: the screen the actor saw) and stays
    ``hold_seconds`` of video (at least one frame), fading. Steps count from ``first_step``.
    With ``upscale``, small frames are enlarged first (all by the same factor: the first
    frame's), so every frame yielded has the same size."""
    hold = hold_frames(fps, hold_seconds)
    starts = _frame_of_each(actions, frame_of)
    order = sorted(range(len(actions)), key=lambda i: starts[i])
    factor = None
    for n, frame in enumerate(frames):
        if factor is None:
            factor = upscale_factor(frame.shape[1], frame.shape[0]) if upscale else 1
        big = _enlarge(frame, factor)
        marks = [
            Mark(actions[i], first_step + i, _fade(n - starts[i], hold))
            for i in order
            if 0 <= n - starts[i] < hold
        ]
        yield draw_actions(big, marks, scale=factor, caption_at=caption_at) if marks else big


def _fade(age: int, hold: int) -> float:
    """Full strength when the action happens, down to ``FADE_FLOOR`` on its last frame."""
    if hold <= 1:
        return 1.0
    return 1.0 - (1.0 - FADE_FLOOR) * age / (hold - 1)
