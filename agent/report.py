"""report.html: per-task success beside the baselines, the model's training curves, and
annotated videos of a few successes and failures per task. One static file (plus its
videos) that works opened from disk: the curves are inline SVG."""

from __future__ import annotations

import html
from pathlib import Path

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 24px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f3f3f3; }
tr.mean td { font-weight: bold; background: #fafafa; }
.videos { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figcaption { font-size: 12px; max-width: 320px; }
video { width: 240px; border: 1px solid #ccc; }
.ok { color: #197a1f; } .bad { color: #b3261e; }
.curves { display: flex; flex-wrap: wrap; gap: 24px; }
svg.chart { font: 11px system-ui, sans-serif; }
"""
# The curves the report draws from the run's metrics.jsonl: (title, y range or None for
# the data's own, [(split, metric, legend label, colour)]).
CURVES = [
    ("training loss", None, [("train", "loss", "train loss", "#1f5fbf")]),
    ("accuracy on held-out and training episodes", (0.0, 1.0), [
        ("val", "action_acc", "val action", "#1f5fbf"),
        ("val", "click_acc", "val click", "#2a9d8f"),
        ("val", "text_acc", "val text", "#e9a23b"),
        ("train_eval", "action_acc", "train action", "#b3261e"),
    ]),
]  # fmt: skip


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def results_table(results: dict, compare=()) -> list[list[str]]:
    """Rows of [task, success, 95% CI, steps, ms/action, *compare successes]."""
    rows = []
    for task, r in results["tasks"].items():
        row = [
            task,
            _pct(r["success_rate"]),
            f"{_pct(r['ci95'][0])}-{_pct(r['ci95'][1])}",
            f"{r['mean_steps']:.1f}",
            "-" if r["mean_action_ms"] is None else f"{r['mean_action_ms']:.1f}",
        ]
        row += [_pct(c["tasks"].get(task, {}).get("success_rate")) for c in compare]
        rows.append(row)
    mean = ["mean", _pct(results["mean_success"]), "", "", ""]
    rows.append(mean + [_pct(c.get("mean_success")) for c in compare])
    return rows


def table_header(results: dict, compare=()) -> list[str]:
    return [
        "task",
        results["label"],
        "95% CI",
        "steps",
        "ms/action",
        *(c["label"] for c in compare),
    ]


def format_table(results: dict, compare=()) -> str:
    """The table as aligned plain text, for the terminal."""
    rows = [table_header(results, compare), *results_table(results, compare)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def line_chart(title: str, series: list, y_range=None, width=420, height=220) -> str:
    """An inline SVG line chart; ``series`` is [(label, colour, [(step, value), ...])]."""
    esc = html.escape
    points = [p for _, _, pts in series for p in pts]
    x0, x1 = min(x for x, _ in points), max(x for x, _ in points)
    y0, y1 = y_range or (min(y for _, y in points), max(y for _, y in points))
    x1 = max(x1, x0 + 1)  # a single point still gets an axis
    y1 = max(y1, y0 + 1e-9)
    left, right, top, bottom = 44, 10, 34, 24  # room for y labels, x labels, title + legend

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y):
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    parts = [f'<text x="{left}" y="12" font-weight="bold">{esc(title)}</text>']
    for y in (y0, (y0 + y1) / 2, y1):
        grid_y = f"{sy(y):.1f}"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{grid_y}" y2="{grid_y}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{left - 4}" y="{grid_y}" dy="4" text-anchor="end">{y:.3g}</text>')
    for x, anchor in ((x0, "start"), (x1, "end")):
        parts.append(
            f'<text x="{sx(x):.1f}" y="{height - 6}" text-anchor="{anchor}">step {x}</text>'
        )
    legend_x = left
    for label, colour, pts in series:
        if not pts:
            continue
        line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>'
        )
        parts.append(f'<text x="{legend_x}" y="27" fill="{colour}">{esc(label)}</text>')
        legend_x += 8 + 6 * len(label)
    size = f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
    return f'<svg class="chart" {size} role="img">{"".join(parts)}</svg>'


def training_curves(model: str | None) -> str:
    """The evaluated model's training curves from its run's metrics.jsonl, as HTML; "" for
    a baseline agent or a model whose run logged nothing."""
    from screenpilot.model.run_metrics import curve, read_metrics, run_dir_of

    if not model:
        return ""
    points = read_metrics(run_dir_of(model))
    charts = []
    for title, y_range, wanted in CURVES:
        series = [
            (label, colour, curve(points, split, key)) for split, key, label, colour in wanted
        ]
        if any(pts for _, _, pts in series):
            charts.append(line_chart(title, series, y_range))
    if not charts:
        return ""
    return (f"<h2>Training</h2><p>From the run's metrics.jsonl ({len(points)} logged points)."
            f"</p><div class=curves>{''.join(charts)}</div>")  # fmt: skip


def write_report(out: Path, results: dict, compare=()) -> Path:
    esc = html.escape
    header = "".join(f"<th>{esc(h)}</th>" for h in table_header(results, compare))
    body = []
    for row in results_table(results, compare):
        cls = ' class="mean"' if row[0] == "mean" else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    sections = []
    for task in results["tasks"]:
        figures = []
        for ep in results.get("episodes", []):
            if ep["task"] != task or not ep.get("video"):
                continue
            cls, word = ("ok", "success") if ep["success"] else ("bad", "failure")
            actions = "; ".join(ep.get("actions", [])[:8])
            steps = f"{ep['steps']} step{'' if ep['steps'] == 1 else 's'}"
            figures.append(
                f'<figure><video controls preload="metadata" src="{esc(ep["video"])}"></video>'
                f'<figcaption><b class="{cls}">{word}</b>, seed {ep["seed"]}, {steps}: '
                f"{esc(actions)}</figcaption></figure>"
            )
        if figures:
            sections.append(f"<h3>{esc(task)}</h3><div class=videos>{''.join(figures)}</div>")
    seeds = results["seeds"]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>screenpilot eval: {esc(results["label"])}</title><style>{_STYLE}</style></head><body>
<h1>screenpilot evaluation</h1>
<p>Agent: <b>{esc(results["label"])}</b>. Seeds {seeds["offset"]} to {seeds["offset"] + seeds["count"] - 1}
({seeds["count"]} a task, none seen in training). Mean success
<b>{_pct(results["mean_success"])}</b>; {results["wall_s"]:.0f} s with {results["workers"]} worker(s).</p>
<table><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>
{training_curves(results.get("model"))}
<h2>What it did</h2>
<p>Each video is the screen the agent saw before each step, with its action drawn: a ring
where it clicked, an arrow where it dragged, what it typed or pressed as a caption.</p>
{"".join(sections)}
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
