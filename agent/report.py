"""report.html: per-task success beside the baselines, and annotated videos of a few
successes and failures per task. One static file (plus its videos) that works opened
from disk."""

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
"""


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
            figures.append(
                f'<figure><video controls preload="metadata" src="{esc(ep["video"])}"></video>'
                f'<figcaption><b class="{cls}">{word}</b>, seed {ep["seed"]}, {ep["steps"]} steps: '
                f"{esc(actions)}</figcaption></figure>"
            )
        if figures:
            sections.append(f"<h3>{esc(task)}</h3><div class=videos>{''.join(figures)}</div>")
    seeds = results["seeds"]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>screenpilot eval: {esc(results["label"])}</title><style>{_STYLE}</style></head><body>
<h1>screenpilot evaluation</h1>
<p>Agent: <b>{esc(results["label"])}</b>. Seeds {seeds["offset"]} to {seeds["offset"] + seeds["count"] - 1}
({seeds["count"]} an task, none seen in training). Mean success
<b>{_pct(results["mean_success"])}</b>; {results["wall_s"]:.0f} s with {results["workers"]} worker(s).</p>
<table><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>
<h2>What it did</h2>
<p>Each video is the screen the agent saw before each step, with its action drawn: a ring
where it clicked, an arrow where it dragged, what it typed or pressed as a caption.</p>
{"".join(sections)}
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
