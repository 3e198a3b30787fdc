"""The MiniWoB++ suite, served from the HTML files that ship in the ``miniwob`` package.

Episodes start through the same JavaScript calls as miniwob's own Selenium env: end
whatever ran before (``core.endEpisode``), seed ``Math.random`` (``Math.seedrandom``), pick
the train distribution (``core.setDataMode``), start (``core.startEpisodeReal``).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from ..browser import evaluate
from ..cdp import CDPError, JavaScriptError
from .base import Task, TaskResult

SUITE = "miniwob"
VIEWPORT = (160, 210)  # exactly MiniWoB++'s task area; the reward HUD lies outside it
# miniwob's own window: jQuery UI places dialogs and menus within the window, so a
# 160x210 window would push click-dialog's box off the left edge.
WINDOW_SIZE = (500, 320)

# A slow model is judged on what it does, not how fast: the step limit bounds an episode,
# so the page's own timer is pushed out of the way (MiniWoB++'s default is 10 s).
EPISODE_MAX_TIME_MS = 3_600_000
READY_TIMEOUT_MS = 5_000

DEFAULT_MAX_STEPS = 12
# Tasks that need many actions from a competent player get more room.
MAX_STEPS = {
    "click-checkboxes-large": 30,
    "click-checkboxes-soft": 20,
    "click-checkboxes-transfer": 20,
    "click-checkboxes": 20,
    "click-scroll-list": 24,
    "click-collapsible-2": 16,
    "click-tab-2": 16,
    "click-tab-2-hard": 16,
    "click-tab-2-medium": 16,
    "click-tab-2-easy": 16,
    "number-checkboxes": 20,
    "navigate-tree": 20,
    "use-slider": 20,
    "use-slider-2": 30,
    "use-autocomplete": 16,
    "enter-date": 16,
    "login-user-popup": 16,
    "book-flight": 40,
    "email-inbox": 30,
    "social-media": 20,
    "social-media-all": 24,
    "social-media-some": 24,
    "drag-sort-numbers": 30,
    "drag-cube": 24,
    "form-sequence-3": 20,
    "choose-date": 30,
    "guess-number": 16,
    "choose-date-nodelay": 20,
    "stock-market": 100,
    "book-flight-nodelay": 30,
    "text-editor": 30,
    "button-delay": 45,
    "generate-number": 24,
    "simon-says": 55,
    # These two last ~10 s of the page's clock whatever the player does: room for a fast
    # machine's steps (150 ran out at 8.5 s on a quiet one).
    "chase-circle": 300,
    "moving-items": 300,
    "hot-cold": 16,
}

# Same seed and action, possibly different pixels: miniwob's own registration marks the
# first group (date pickers' "today", clocks, animations); the second animates here too
# (jQuery accordions, menus and tabs, timers, moving targets).
# Pages whose widgets (jQuery UI tabs, accordions, forms) keep state from one episode to
# the next when the page is reused: reloaded every episode, so a seed fixes the instance.
STATEFUL = frozenset(
    [
        "click-tab",
        "click-collapsible-nodelay",
        "click-collapsible-2-nodelay",
        "form-sequence",
        "multi-layouts",
        # Not widget state but a stall: on a reused social-media page an episode's first
        # action stopped the frames in 5-8% of episodes, and in none of 150 reloaded.
        "social-media",
        "social-media-all",
        "social-media-some",
    ]
)
NONDETERMINISTIC = frozenset(
    [
        "book-flight",
        "book-flight-nodelay",
        "choose-date",
        "choose-date-easy",
        "choose-date-medium",
        "choose-date-nodelay",
        "click-dialog",
        "click-dialog-2",
        "click-pie",
        "click-pie-nodelay",
        "click-scroll-list",
        "drag-cube",
        "scroll-text",
        "scroll-text-2",
        "search-engine",
        "social-media",
        "social-media-all",
        "social-media-some",
        "terminal",
        "order-food",
        "phone-book",
        "stock-market",
    ]
    + [
        "click-collapsible",
        "click-collapsible-2",
        "click-menu",
        "click-menu-2",
        "click-tab-2",
        "click-tab-2-easy",
        "click-tab-2-medium",
        "click-tab-2-hard",
        "enter-time",
        "hot-cold",
        "chase-circle",
        "moving-items",
        "simon-says",
        "use-spinner",
        "text-editor",
        "use-autocomplete",
        "daily-calendar",
        "drag-items",
        "drag-items-grid",
        "drag-sort-numbers",
        "drag-shapes-2",
        "use-colorwheel",
        "use-colorwheel-2",
    ]
)

# Returns the task text; null while the task is still setting itself up; false when the
# page is not a MiniWoB++ page that has loaded (an action left it, or is reloading it).
_START_EPISODE_JS = """([seed, maxTime, url]) => {
  if (location.href !== url || typeof core === 'undefined' || document.readyState !== 'complete')
    return false;
  core.endEpisode(0);                       // a no-op unless an episode is running
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  window.getSelection && window.getSelection().removeAllRanges();
  Math.seedrandom(seed);
  core.setDataMode("train");
  core.EPISODE_MAX_TIME = maxTime;
  core.startEpisodeReal();
  return WOB_TASK_READY ? core.getUtterance() : null;
}"""
_RESULT_JS = "() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_GLOBAL, WOB_REWARD_REASON]"


@lru_cache(maxsize=1)
def html_dir() -> Path:
    """Where the package keeps its task pages (found without importing miniwob, which
    pulls in Selenium)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        return Path("/nonexistent-miniwob")
    return Path(next(iter(spec.submodule_search_locations))) / "html" / "miniwob"


@lru_cache(maxsize=1)
def task_ids() -> tuple[str, ...]:
    """Every MiniWoB++ task whose HTML ships in the package: ``click-button``, ..."""
    return tuple(sorted(p.stem for p in html_dir().glob("*.html")))


class MiniWoBTask(Task):
    suite = SUITE
    viewport = VIEWPORT
    window_size = WINDOW_SIZE

    def __init__(self, task_id: str, reload_every_episode: bool | None = None):
        self.task_id = task_id
        self.name = f"{SUITE}.{task_id}"
        self.url = (html_dir() / f"{task_id}.html").as_uri()
        self.default_max_steps = MAX_STEPS.get(task_id, DEFAULT_MAX_STEPS)
        self.nondeterministic = task_id in NONDETERMINISTIC
        # Widgets such as jQuery UI's tabs keep state across episodes on one page;
        # reloading costs 60-120 ms (5-10 resets), so it is done only where state leaks
        # (STATEFUL). The animated tasks need none: without it, check_env still passes
        # on all 45 of them and their experts still solve every seed (BENCHMARKS.md).
        if reload_every_episode is None:
            reload_every_episode = task_id in STATEFUL
        self.reload_every_episode = reload_every_episode

    def setup(self, page, seed: int, options: dict) -> str:
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(2):
            try:
                # An action may have reloaded the page (F5) or left it, and the reload
                # may still be under way: then load the page afresh and start again.
                if attempt or self.reload_every_episode:
                    page.goto(self.url, wait_until="load")
                start = [int(seed), EPISODE_MAX_TIME_MS, self.url]
                utterance = evaluate(page, _START_EPISODE_JS, start)
                if utterance is False:
                    page.goto(self.url, wait_until="load")
                    utterance = evaluate(page, _START_EPISODE_JS, start)
                if utterance is None:
                    page.wait_for_function("() => WOB_TASK_READY", timeout=READY_TIMEOUT_MS)
                    utterance = evaluate(page, "() => core.getUtterance()")
                return _utterance_text(utterance)
            except (PlaywrightError, CDPError, JavaScriptError):
                if attempt or page.is_closed():
                    raise
        raise AssertionError("unreachable")

    def validate(self, page) -> TaskResult:
        done, raw, scaled, reason = evaluate(page, _RESULT_JS)
        return TaskResult(bool(done), float(raw or 0.0), float(scaled or 0.0), reason)


def _utterance_text(utterance) -> str:
    """The natural-language tasks (email-inbox-nl...) return ``{utterance, fields}``; the
    fields are privileged, so the observation keeps only the sentence."""
    if isinstance(utterance, dict):
        utterance = utterance.get("utterance", "")
    return str(utterance)
