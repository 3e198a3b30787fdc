"""The ``synthetic`` suite: reading screens. ``synthetic.click-word`` draws 4-12 random
words as buttons, links, labelled checkboxes and plain text, in MiniWoB++'s own page
(its core.css: the 160x210 task, the yellow query box, the same fonts and sizes), and
asks for one of them by name. Reading is the whole task: the items look alike, several
share first letters or length, and the episode ends at the first click.

A screen is drawn from the seed alone (same seed, same pixels) and written into the page
with no request at all; the page marks its target only in a page global, which the
scripted expert reads and the screenshot never shows.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from functools import lru_cache

from ..browser import evaluate
from . import miniwob
from .base import Task, TaskResult
from .synthetic_words import screen_words

SUITE = "synthetic"
CLICK_WORD = "click-word"
TASK_IDS = (CLICK_WORD,)
MAX_STEPS = 3  # one click ends the episode; the rest is room for a move or a wait

KINDS = ("button", "link", "checkbox", "text")
LAYOUTS = ("rows", "column", "scattered")
MIN_ITEMS, MAX_ITEMS = 4, 12
MAX_COLUMN_ITEMS = 7  # seven buttons, 21 px each, fill the 156 px under the query box
# A screen whose items overflow the task area is drawn again from (seed, attempt + 1):
# still a function of the seed, since the same screen always lays out the same way.
MAX_ATTEMPTS = 20

# MiniWoB++'s own phrasings for each kind of element (click-button, click-test-2,
# click-link, click-checkboxes), one click each.
PHRASINGS = {
    "button": ('Click on the "{}" button.', "Click button {}."),
    "link": ('Click on the link "{}".',),
    "checkbox": ('Click on the checkbox "{}".', "Select {}."),
    "text": ('Click on the word "{}".',),
}

# The tasks' own styles for these elements (click-link's links, click-checkboxes'
# boxes); no item breaks across lines, so each is one box on screen.
_PAGE_CSS = """
.alink { text-decoration: underline; color: blue; cursor: pointer; }
#area input[type=checkbox] { width: 20px; }
#area [data-sp-item] { white-space: nowrap; }
#area.scattered [data-sp-item] { position: absolute; }
"""

# Runs as the page is written, given CONFIG: places a scattered screen's items, says
# whether every item lies inside the task area, and ends the episode at the first click.
# Rewriting a page keeps its window and its globals, so this declares no global (a second
# declaration would stop the script) and SYN starts afresh.
_PAGE_JS = """(CONFIG) => {
  window.WOB_EPISODE_ID = CONFIG.episode;  // the experts' library keys its memory on it
  const SYN = window.SYN = { episode: CONFIG.episode, target: CONFIG.target, done: false,
                             hit: null, hitText: null, fits: false };
  const items = Array.from(document.querySelectorAll('[data-sp-item]'));
  const AREA = { left: 0, top: 50, right: 160, bottom: 210 };  // below the query box
  if (CONFIG.layout === 'scattered') {
    // mulberry32: a small seeded generator, so a screen is placed the same way each time
    let s = CONFIG.placement >>> 0;
    const rand = () => {
      s = (s + 0x6D2B79F5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const placed = [];
    const GAP = 3;
    for (const el of items) {
      const w = el.offsetWidth, h = el.offsetHeight;
      let spot = null;
      for (let tries = 0; tries < 50 && !spot; tries++) {
        const x = Math.floor(AREA.left + 2 + rand() * (AREA.right - AREA.left - 4 - w));
        const y = Math.floor(AREA.top + 2 + rand() * (AREA.bottom - AREA.top - 4 - h));
        const clear = placed.every((p) => x + w + GAP <= p.x || p.x + p.w + GAP <= x
          || y + h + GAP <= p.y || p.y + p.h + GAP <= y);
        if (clear) spot = { x, y, w, h };
      }
      if (!spot) return;  // no room: the screen does not fit
      placed.push(spot);
      el.style.left = spot.x + 'px';
      el.style.top = spot.y + 'px';
    }
  }
  SYN.fits = items.every((el) => {
    const r = el.getBoundingClientRect();
    return r.left >= AREA.left && r.top >= AREA.top && r.right <= AREA.right
      && r.bottom <= AREA.bottom;
  });
  document.addEventListener('click', (e) => {
    if (SYN.done) return;  // a label's click also clicks its box: one click, one verdict
    SYN.done = true;
    const item = e.target instanceof Element ? e.target.closest('[data-sp-item]') : null;
    SYN.hit = item ? Number(item.dataset.spItem) : -1;
    SYN.hitText = item ? item.textContent : null;
  }, true);
}"""

_FITS_JS = "(episode) => window.SYN && SYN.episode === episode ? SYN.fits : null"
_RESULT_JS = "() => [SYN.done, SYN.hit === SYN.target, SYN.hitText]"


@dataclass(frozen=True)
class Item:
    kind: str  # one of KINDS
    word: str
    line_break: bool = False  # rows: the next item starts a new line


@dataclass(frozen=True)
class Screen:
    task: str
    items: tuple[Item, ...]
    target: int  # index into items
    layout: str  # one of LAYOUTS
    placement_seed: int  # scattered: seeds the page's own placement of the items


def generate_screen(seed: int, attempt: int = 0) -> Screen:
    """The screen of ``seed`` (its ``attempt``-th draw), from the seed alone."""
    # A string seed is hashed by sha512: the same on every run and Python version.
    rng = random.Random(f"{SUITE}.{CLICK_WORD}:{int(seed)}:{attempt}")
    layout = rng.choice(LAYOUTS)
    count = rng.randint(MIN_ITEMS, MAX_COLUMN_ITEMS if layout == "column" else MAX_ITEMS)
    words = screen_words(rng, count)  # words[0] is the target
    if rng.random() < 0.4:  # one kind, as in click-button, click-link, click-checkboxes
        kinds = [rng.choice(KINDS)] * count
    else:
        kinds = [rng.choice(KINDS) for _ in range(count)]
    order = list(range(count))
    rng.shuffle(order)
    items = tuple(
        Item(kinds[i], words[i], layout == "column" or rng.random() < 0.25) for i in order
    )
    target = order.index(0)
    task = rng.choice(PHRASINGS[kinds[0]]).format(words[0])
    return Screen(task, items, target, layout, rng.randrange(2**32))


def item_html(index: int, item: Item) -> str:
    word, mark = html.escape(item.word), f'data-sp-item="{index}"'
    if item.kind == "button":
        return f"<button {mark}>{word}</button>"
    if item.kind == "link":
        return f'<span class="alink" {mark}>{word}</span>'
    if item.kind == "checkbox":
        return f'<label {mark}><input type="checkbox">{word}</label>'
    return f"<span {mark}>{word}</span>"


def page_html(screen: Screen, episode: int = 0) -> str:
    """The whole page: MiniWoB++'s core.css and layout, the screen, its script."""
    parts = []
    for i, item in enumerate(screen.items):
        parts.append(item_html(i, item))
        parts.append("<br>" if item.line_break and screen.layout != "scattered" else " ")
    config = {
        "episode": episode,
        "target": screen.target,
        "layout": screen.layout,
        "placement": screen.placement_seed,
    }
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        "<title>Click Word Task</title>\n"
        f"<style>{core_css()}</style>\n<style>{_PAGE_CSS}</style>\n</head>\n<body>\n"
        f'<div id="wrap">\n  <div id="query">{html.escape(screen.task, quote=False)}</div>\n'
        f'  <div id="area" class="{screen.layout}">{"".join(parts)}</div>\n</div>\n'
        f"<script>\n({_PAGE_JS})({json.dumps(config)});\n</script>\n"
        "</body>\n</html>\n"
    )


@lru_cache(maxsize=1)
def core_css() -> str:
    """MiniWoB++'s style sheet, from the installed ``miniwob`` package."""
    return (miniwob.html_dir().parent / "core" / "core.css").read_text()


class ClickWordTask(Task):
    name = f"{SUITE}.{CLICK_WORD}"
    suite = SUITE
    viewport = miniwob.VIEWPORT
    window_size = miniwob.WINDOW_SIZE  # the window MiniWoB++'s pages lay out in
    default_max_steps = MAX_STEPS

    def __init__(self):
        self._episodes = 0
        self.screen: Screen | None = None  # the episode's screen (privileged: tests, stats)

    def setup(self, page, seed: int, options: dict) -> str:
        self._episodes += 1
        for attempt in range(MAX_ATTEMPTS):
            screen = generate_screen(seed, attempt)
            page.set_content(page_html(screen, self._episodes))
            fits = evaluate(page, _FITS_JS, self._episodes)
            if fits is None:
                raise RuntimeError(f"{self.name}: the page's script did not run")
            if fits:
                self.screen = screen
                return screen.task
        raise RuntimeError(f"{self.name}: no screen of seed {seed} fits the task area")

    def validate(self, page) -> TaskResult:
        done, on_target, clicked = evaluate(page, _RESULT_JS)
        if not done:
            return TaskResult(False)
        if on_target:
            return TaskResult(True, 1.0, 1.0, "clicked the target")
        reason = f"clicked {clicked!r}" if clicked is not None else "clicked no item"
        return TaskResult(True, -1.0, -1.0, reason)
