"""Word spotting: where on the screenshot does each word of the task appear?

The model picked among a page's links and buttons at chance (issue 12): learning which
glyphs spell which bytes takes far more samples than a demo's minutes buy on a CPU. So
the preprocessing renders each word of the task text in the font the sandbox's Chromium
draws with, at the sizes MiniWoB uses, and looks for it on the screenshot by normalised
cross-correlation (query-by-string word spotting, a classic of document analysis). The
result is one score a patch for each word, which the model reads beside the pixels (see
``VLAModel.encode``): it still learns which word the task wants and where to act; it no
longer has to learn the alphabet first.

Only pixels and the task text go in, so the same maps are computed for a recorded step
and a live screenshot, on any page. A page in another font or size scores lower; the
model then falls back on what it learned from the pixels.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .codec import TASK_WORD

# Chromium on the sandbox's Debian draws Arial and sans-serif in DejaVu Sans (the only
# family the Makefile installs: fonts-dejavu-core). MiniWoB's text is 10 px (#area) and
# a button's is Chromium's 13.33 px control font. On 90 recorded clicks of click-link,
# click-button and click-test-2 (30 expert episodes each), adding bold and 14 px variants
# found no target that these two sizes missed.
FONT_FILE = "DejaVuSans.ttf"
FONT_SIZES = (10, 13)
# One-letter words match any vertical stroke: they would light up half the screen.
MIN_CHARS = 2


@functools.lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(FONT_FILE, size)
    except OSError:
        warnings.warn(f"{FONT_FILE} not found: word spotting renders with Pillow's default "
                      "font, which matches the screen less well", stacklevel=2)  # fmt: skip
        return ImageFont.load_default(size)


@functools.lru_cache(maxsize=4096)
def render_word(word: str, size: int, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """``word`` in black on white at ``size`` px on the screen, cropped to its ink plus a
    pixel, then shrunk by ``scale`` (x, y) as the screenshot is: (h, w) uint8."""
    import cv2
    from PIL import Image, ImageDraw

    font = _font(size)
    left, top, right, bottom = font.getbbox(word)
    image = Image.new("L", (right - left + 2, bottom - top + 2), 255)
    ImageDraw.Draw(image).text((1 - left, 1 - top), word, font=font, fill=0)
    ink = np.asarray(image)
    if scale == (1.0, 1.0):
        return ink
    size_xy = (max(1, round(ink.shape[1] * scale[0])), max(1, round(ink.shape[0] * scale[1])))
    return cv2.resize(ink, size_xy, interpolation=cv2.INTER_AREA)  # as resize_screenshot does


def spotted_words(task: str, slots: int, max_bytes: int) -> list[tuple[str, int]]:
    """The task's words worth looking for, each once, with the byte offset in the task
    text where it first starts (what the model's text tokens are indexed by): at most
    ``slots``, none that starts past the ``max_bytes`` the model reads."""
    out, seen = [], set()
    for m in TASK_WORD.finditer(task):
        word = m.group()
        if len(word) < MIN_CHARS or word in seen:
            continue
        start = len(task[: m.start()].encode("utf-8"))
        if start >= max_bytes:
            break
        seen.add(word)
        out.append((word, start))
        if len(out) == slots:
            break
    return out


def spot_map(
    gray: np.ndarray, word: str, scale: tuple[float, float], patch: tuple[int, int]
) -> np.ndarray:
    """(rows, cols) float32: for each patch, the best match of ``word`` centred in it
    (normalised cross-correlation in [-1, 1]; -1 where it cannot be centred)."""
    import cv2

    H, W = gray.shape
    ph, pw = patch
    best = np.full((H, W), -1.0, np.float32)
    for size in FONT_SIZES:
        template = render_word(word, size, scale)
        h, w = template.shape
        if h >= H or w >= W or template.min() == template.max():
            continue
        score = cv2.matchTemplate(gray, template, cv2.TM_CCOEFF_NORMED)  # top-left placements
        centred = best[h // 2 : h // 2 + score.shape[0], w // 2 : w // 2 + score.shape[1]]
        np.maximum(centred, score, out=centred)
    rows, cols = H // ph, W // pw
    return best[: rows * ph, : cols * pw].reshape(rows, ph, cols, pw).max(axis=(1, 3))


def spot_words(
    image: np.ndarray, task: str, scale: tuple[float, float], slots: int, max_bytes: int,
    patch: tuple[int, int],
) -> dict:  # fmt: skip
    """The model's word-spotting inputs for one (H, W, 3) uint8 screenshot at the model's
    size: ``spot`` (slots, rows, cols) float16 scores, ``spot_pos`` (slots,) the byte
    where each word starts in the task, -1 for an empty slot. ``scale`` is (x, y), the
    model's size over the screen's: the words are drawn at the screen's text sizes and
    shrunk as the screenshot was."""
    import cv2

    H, W = image.shape[:2]
    rows, cols = H // patch[0], W // patch[1]
    spot = np.full((slots, rows, cols), -1.0, np.float16)
    pos = np.full(slots, -1, np.int64)
    words = spotted_words(task, slots, max_bytes)
    if words:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        for i, (word, start) in enumerate(words):
            spot[i] = spot_map(gray, word, scale, patch)
            pos[i] = start
    return {"spot": spot, "spot_pos": pos}
