"""A static HTML page for browsing a dataset: the episode list, each episode's annotated
video, and a timeline of its actions that seeks the video when clicked.

The page must work opened as a file:// URL on a machine with no network, so everything
(CSS, JS) is inline and the videos sit beside it with relative paths. The render has one
video frame per captured frame, so an action taken on frame ``f`` is at ``f / fps``
seconds of video, whatever the capture clock said.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from .errors import DatasetError
from .format import episode_name

# The video is paused half a frame after the action's frame starts, so float rounding
# in the browser cannot land on the frame before.
_SEEK_INTO_FRAME = 0.5


def write_viewer(
    dataset,
    out_dir: str | Path | None = None,
    *,
    progress: bool = False,
    episodes: Iterable[int] | None = None,
) -> Path:
    """Render every episode (or only ``episodes``, by index) of ``dataset`` (a
    ``Dataset`` or its path) into ``out_dir`` (default ``DATASET/view``) and write
    ``index.html`` there; returns the page's path. An episode that cannot be rendered
    (no frames, a damaged video) is listed with the reason instead of a video."""
    from tqdm import tqdm

    from screenpilot.console import progress

    from .reader import open_dataset
    from .render import render_episode

    if isinstance(dataset, (str, Path)):
        dataset = open_dataset(dataset)
    out = Path(out_dir) if out_dir is not None else dataset.root / "view"
    out.mkdir(parents=True, exist_ok=True)
    chosen = list(dataset) if episodes is None else [dataset[i] for i in episodes]

    sections = []
    for episode in progress(chosen, desc="render episodes", unit="episode", disable=not progress):
        video_name = f"{episode_name(episode.index)}.mp4"
        try:
            render_episode(episode, out / video_name)
            problem = None
        except DatasetError as e:
            (out / video_name).unlink(missing_ok=True)  # never show a stale render
            problem = str(e)
            if progress:
                tqdm.write(f"episode {episode.index}: {problem}")
        sections.append(_episode_section(episode, video_name, problem))
        episode.close()

    page = out / "index.html"
    title = f"screenpilot dataset {dataset.root.name}"
    page.write_text(
        _page(title, _summary(chosen), _episode_table(chosen), sections), encoding="utf-8"
    )
    return page


# ---- formatting ------------------------------------------------------------------------------
def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _clock(seconds: float) -> str:
    """``m:ss.s``, as a video player shows time."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _success(value) -> tuple[str, str]:
    """(css class, text) for an episode's outcome."""
    if value is None:
        return "unknown", "–"
    return ("ok", "✓ yes") if value else ("fail", "✗ no")


def _summary(episodes) -> str:
    steps = sum(len(e.actions) for e in episodes)
    frames = sum(e.num_frames for e in episodes)
    return f"{len(episodes)} episodes · {steps} steps · {frames} frames"


def _episode_table(episodes) -> str:
    rows = []
    for e in episodes:
        css, text = _success(e.success)
        rows.append(
            f'<tr><td><a href="#episode-{e.index}">{e.index}</a></td>'
            f'<td class="task"><a href="#episode-{e.index}">{_esc(e.task)}</a></td>'
            f"<td>{len(e.actions)}</td><td>{e.num_frames}</td>"
            f'<td>{e.duration:.1f} s</td><td class="{css}">{text}</td></tr>'
        )
    return (
        '<table id="episodes"><thead><tr><th>#</th><th>task</th><th>steps</th>'
        "<th>frames</th><th>duration</th><th>success</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _timeline(episode) -> str:
    items = []
    for step, action in enumerate(episode.actions, 1):
        frame = action.frame or 0
        start = frame / episode.fps
        seek = (frame + _SEEK_INTO_FRAME) / episode.fps
        when = f"frame {frame}" + ("" if action.t is None else f", t = {action.t:.3f} s")
        items.append(
            f'<li><button type="button" data-seek="{seek:.6f}" data-start="{start:.6f}" '
            f'title="{_esc(when)}"><span class="step">{step}</span>'
            f'<span class="time">{_clock(start)}</span>'
            f"<code>{_esc(action.to_text())}</code></button></li>"
        )
    if not items:
        return '<p class="note">no actions</p>'
    return f'<ol class="timeline">{"".join(items)}</ol>'


def _episode_section(episode, video_name: str, problem: str | None) -> str:
    css, text = _success(episode.success)
    facts = (
        f"{episode.width}×{episode.height} · {episode.fps:g} fps · {len(episode.actions)} steps · "
        f"{episode.num_frames} frames · {episode.duration:.1f} s · "
        f"source {_esc(episode.meta.get('source', '?'))} · "
        f'success <span class="{css}">{text}</span>'
    )
    if problem is None:
        player = f'<video controls preload="metadata" src="{_esc(video_name)}"></video>'
    else:
        player = f'<p class="problem">cannot render: {_esc(problem)}</p>'
    return (
        f'<section class="episode" id="episode-{episode.index}">'
        f'<h2>Episode {episode.index}: <span class="task">{_esc(episode.task)}</span></h2>'
        f'<p class="facts">{facts}</p>'
        f'<div class="player">{player}{_timeline(episode)}</div></section>'
    )


def _page(title: str, summary: str, table: str, sections: list[str]) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{_esc(title)}</h1><p>{_esc(summary)}</p></header>
{table}
{"".join(sections)}
<script>{_JS}</script>
</body></html>
"""


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 1em 2em; max-width: 1400px;
       color: #1d1d1f; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0; } h2 { font-size: 1.15em; margin: 0 0 .2em; }
header p, .facts, .note { color: #666; margin: .2em 0 1em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.task { max-width: 50em; overflow-wrap: anywhere; }
.ok { color: #107c10; } .fail { color: #c50f1f; } .unknown { color: #888; }
section.episode { border-top: 2px solid #ccc; padding: 1em 0; }
.player { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
video { max-width: 100%; max-height: 75vh; background: #000; }
.problem { color: #c50f1f; }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 75vh; overflow-y: auto;
              min-width: 18em; flex: 1; }
.timeline button { display: flex; gap: .6em; width: 100%; text-align: left; font: inherit;
                   border: 0; background: none; padding: .2em .4em; cursor: pointer; }
.timeline button:hover { background: #eee; }
.timeline button.current { background: #ffe9a8; }
.timeline .step { min-width: 2em; text-align: right; color: #c50f1f; font-weight: bold; }
.timeline .time { color: #666; font-variant-numeric: tabular-nums; }
.timeline code { overflow-wrap: anywhere; }
"""

# Per episode: a click on an action pauses the video on that action's frame; while the
# video plays or is scrubbed, the action on screen is highlighted.
_JS = """
for (const section of document.querySelectorAll('section.episode')) {
  const video = section.querySelector('video');
  const buttons = [...section.querySelectorAll('.timeline button')];
  const mark = (current) => {
    for (const b of buttons) b.classList.toggle('current', b === current);
  };
  const highlight = (time) => {
    let current = null;
    for (const b of buttons) if (parseFloat(b.dataset.start) <= time + 1e-6) current = b;
    // Several actions can share a frame: keep the one the user clicked.
    const kept = section.querySelector('.timeline button.current');
    if (kept && current && kept.dataset.start === current.dataset.start) current = kept;
    mark(current);
  };
  for (const b of buttons) {
    b.addEventListener('click', () => {
      if (!video) return;
      const seek = () => { video.pause(); video.currentTime = parseFloat(b.dataset.seek); };
      if (video.readyState >= 1) seek();
      else { video.addEventListener('loadedmetadata', seek, {once: true}); video.load(); }
      mark(b);
    });
  }
  if (video) for (const ev of ['timeupdate', 'seeked']) {
    video.addEventListener(ev, () => highlight(video.currentTime));
  }
}
"""
