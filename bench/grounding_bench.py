"""What reading a page's text items costs (env/grounding.py): ms a ``text_items`` call.

    python bench/grounding_bench.py [--calls 50]

One BrowserEnv per MiniWoB page (seed 1, 160x210), then a busy generated page (200
links, 60 form rows, a 150-row table, 300 paragraphs: ~38,000 words) at 1280x720.
Median and 90th percentile of ``--calls`` calls after 5 warm-up ones, with the load
average beside them: on a shared machine the round trip dominates. Printed as markdown.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screenpilot.env.browser_env import BrowserEnv  # noqa: E402
from screenpilot.env.grounding import text_items  # noqa: E402

TASKS = ("click-test-2", "click-button", "click-link", "click-checkboxes", "login-user",
         "social-media", "email-inbox")  # fmt: skip
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
]


def busy_page() -> str:
    rng = random.Random(0)

    def words(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    links = " ".join(f"<a href='#{i}'>{words(2)}</a>" for i in range(200))
    form = "".join(
        f"<label><input type=checkbox> {words(2)}</label> <input placeholder='{words(2)}'> "
        f"<button>{words(1)}</button><select><option>{words(1)}</option></select>"
        for _ in range(60)
    )
    cells = "".join(
        "<tr>" + "".join(f"<td>{words(3)}</td>" for _ in range(6)) + "</tr>" for _ in range(150)
    )
    paragraphs = "".join(
        f"<p>{words(60)} <a href='#'>{words(3)}</a> {words(40)}</p>" for _ in range(300)
    )
    return (
        f"<html><body style='font:14px sans-serif'><h1>Busy page</h1><nav>{links}</nav>"
        f"<form>{form}</form><table>{cells}</table>{paragraphs}"
        f"<div style='display:none'>{words(2000)}</div></body></html>"
    )


def measure(env: BrowserEnv, width: int, height: int, calls: int) -> tuple[int, float, float]:
    for _ in range(5):
        items = text_items(env.page, width, height)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        text_items(env.page, width, height)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return len(items), statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    print("| page | items | median (ms) | p90 (ms) | load avg |")
    print("| --- | --- | --- | --- | --- |")

    def row(name: str, env: BrowserEnv, width: int, height: int) -> None:
        n, median, p90 = measure(env, width, height, args.calls)
        print(f"| {name} | {n} | {median:.2f} | {p90:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)

    for task in TASKS:
        env = BrowserEnv(f"miniwob.{task}")
        try:
            env.reset(seed=1)
            row(task, env, 160, 210)
        finally:
            env.close()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "busy.html"
        page.write_text(busy_page())
        env = BrowserEnv("web", viewport=(1280, 720))
        try:
            env.reset(options={"url": page.as_uri(), "task": "read"})
            row("busy page, 1280x720", env, 1280, 720)
        finally:
            env.close()


if __name__ == "__main__":
    main()
