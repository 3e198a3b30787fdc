"""Grounding labels: the text a screenshot shows, where, and on what kind of element.

    text_items(page, 160, 210)
    [{"text": "Click on the link", "kind": "text", "x0": 2, "y0": 3, "x1": 101, "y1": 14}, ...]

Boxes are screenshot pixels (CSS pixels of the viewport at device scale 1), x1/y1
exclusive, clipped to the screenshot; hidden and covered text is left out. Kinds: those of
dataset/format.py's GROUNDING_KINDS (the format stores them). A text node gives an
item per line it is drawn on and, where that line has several words, an item per word
(so "where is W?" has single-word answers); a form field gives its own box with its
value, placeholder or (checkbox, radio) label. The page's main document only: iframes,
shadow roots and CSS-generated text are not read.

These are privileged labels for training (datasets store them beside each screenshot);
a model never gets them as input.
"""

from __future__ import annotations

from pathlib import Path

from .browser import evaluate

# A busy page has thousands of words; the first ones in document order are kept, which
# on a screen-sized page are its top. Enough for tens of "where is W?" queries a frame.
MAX_ITEMS = 96

_GROUNDING_JS = Path(__file__).with_name("grounding.js").read_text()


def text_items(page, width: int, height: int, max_items: int = MAX_ITEMS) -> list[dict]:
    """The visible text items of ``page`` as a ``width`` x ``height`` screenshot of its
    top-left corner shows them: one ``evaluate`` for all of them."""
    return evaluate(page, _GROUNDING_JS, [int(width), int(height), int(max_items)])
