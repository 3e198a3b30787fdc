"""Benchmarks of the sandbox (env/).

    python bench/env_bench.py check-env --workers 2
        gymnasium's check_env on every registered env (a list of the ones that fail)
    python bench/env_bench.py speed [--episodes 40] [--steps 3] [--tasks click-test,...]
        reset and step times and screenshot latency of BrowserEnv (frame control, and
        with Playwright's screenshots), side by side with miniwob's own Selenium env on
        the same tasks and the same random actions; then throughput with 1, 2 and 4
        workers, the CPU an idle env takes, and memory over many episodes.

Results are printed as markdown, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screenpilot.env.parallel import run_episodes  # noqa: E402


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds of the processes (those still running)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _idle_cpu_percent(kind, task: str, seconds: float) -> float:
    """What an env costs the machine while nobody steps it (our frame pump, a
    browser's own timers)."""
    from screenpilot.env.browser import descendant_pids

    before = set(descendant_pids())
    env = kind.make(task)
    try:
        pids = (set(descendant_pids()) - before) | {os.getpid()}
        time.sleep(1.0)  # the reset's aftermath
        start = _cpu_seconds(pids)
        time.sleep(seconds)
        return 100 * (_cpu_seconds(pids) - start) / seconds
    finally:
        env.close()


def _rss_mb(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# ---- speed: the same random actions through every env ------------------------------

SHARED_KEYS = ("Enter", "Backspace", "Tab", "ArrowUp", "ArrowDown")  # keys both envs know


def random_actions(seed: int, count: int, width: int = 160, height: int = 210):
    """The random actions every env gets, the same for the same seed: 60% clicks anywhere
    in the task area, 20% a typed word of 1-8 letters, 20% a key press."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.6:
            yield ("click", rng.randrange(width), rng.randrange(height))
        elif roll < 0.8:
            letters = rng.choices(string.ascii_lowercase, k=rng.randint(1, 8))
            yield ("type", "".join(letters))
        else:
            yield ("key", rng.choice(SHARED_KEYS))


class _Ours:
    """BrowserEnv; ``chromium`` picks the browser, and with it the screenshot source:
    the headless shell under frame control, or Playwright's screenshots."""

    def __init__(self, chromium: str | None = None):
        self.chromium = chromium

    def make(self, task: str):
        from screenpilot.env.browser_env import BrowserEnv

        previous = os.environ.get("SCREENPILOT_CHROMIUM")
        if self.chromium:
            os.environ["SCREENPILOT_CHROMIUM"] = self.chromium
        try:
            env = BrowserEnv(task, max_steps=1000)
            env.reset(seed=0)  # launch the browser now, outside the timing
        finally:
            if previous is None:
                os.environ.pop("SCREENPILOT_CHROMIUM", None)
            else:
                os.environ["SCREENPILOT_CHROMIUM"] = previous
        return env

    def action(self, env, shared):
        from screenpilot.dataset.actions import Action

        kind, *args = shared
        if kind == "click":
            return Action(type="click", x=args[0], y=args[1])
        if kind == "type":
            return Action(type="type", text=args[0])
        return Action(type="key", key=args[0])

    def screenshot(self, env):
        env.unwrapped._observe()

    def run_script(self, env, function_js: str):
        return env.unwrapped.page.evaluate(function_js)


class _MiniWoB:
    """miniwob's own gymnasium env: Selenium and Debian's chromedriver."""

    def make(self, task: str):
        import gymnasium as gym
        import miniwob

        os.environ.setdefault("MINIWOB_CHROME_BINARY", "/usr/bin/chromium")
        os.environ.setdefault("MINIWOB_CHROMEDRIVER", "/usr/bin/chromedriver")
        gym.register_envs(miniwob)
        env = gym.make(f"miniwob/{task.split('.', 1)[1]}-v1")
        env.reset(seed=0)
        return env

    def action(self, env, shared):
        import numpy as np
        from miniwob.action import ActionTypes

        unwrapped = env.unwrapped
        kind, *args = shared
        if kind == "click":
            coords = np.array(args, dtype=np.float32)
            return unwrapped.create_action(ActionTypes.CLICK_COORDS, coords=coords)
        if kind == "type":
            return unwrapped.create_action(ActionTypes.TYPE_TEXT, text=args[0])
        keys = unwrapped.action_space_config.allowed_keys
        return unwrapped.create_action(ActionTypes.PRESS_KEY, key=keys.index(f"<{args[0]}>"))

    def screenshot(self, env):
        env.unwrapped.instance.driver.get_screenshot_as_png()

    def run_script(self, env, function_js: str):
        return env.unwrapped.instance.driver.execute_script(f"return ({function_js})()")


# Times the task's own episode set-up in the page (MiniWoB++'s core.startEpisodeReal),
# which every env runs once a reset; measured apart from the timed episodes.
_TIME_TASK_START_JS = """() => {
  if (!core.__timed) {
    const start = core.startEpisodeReal;
    core.startEpisodeReal = function () {
      const t = performance.now();
      try { return start.apply(this, arguments); }
      finally { window.__taskStartMs = performance.now() - t; }
    };
    core.__timed = true;
  }
  window.__taskStartMs = null;
}"""


def _task_start_ms(kind, env, seeds) -> float:
    """Median ms the task's own start script takes in this env's page."""
    times = []
    for seed in seeds:
        kind.run_script(env, _TIME_TASK_START_JS)
        env.reset(seed=seed)
        took = kind.run_script(env, "() => window.__taskStartMs")
        if took is not None:  # None: the reset loaded the page anew, without the timer
            times.append(took)
    return sorted(times)[len(times) // 2] if times else float("nan")


def _play(kind, env, seeds, steps: int, resets: list, step_times: list) -> None:
    """Episodes on ``seeds``, each a reset and up to ``steps`` shared random actions;
    appends the seconds of every reset and every step."""
    for seed in seeds:
        start = time.perf_counter()
        env.reset(seed=seed)
        resets.append(time.perf_counter() - start)
        for shared in random_actions(seed, steps):
            action = kind.action(env, shared)
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(action)
            step_times.append(time.perf_counter() - start)
            if terminated or truncated:
                break


def _time_envs(kinds: dict, task: str, episodes: int, steps: int, rounds: int) -> dict:
    """For each env: mean ms of a reset and of a step, median ms of one screenshot. The
    envs take turns, ``episodes / rounds`` episodes at a time, so a machine that gets
    busier or quieter during the run weighs on every env alike."""
    envs = {name: kind.make(task) for name, kind in kinds.items()}
    times = {name: ([], []) for name in kinds}
    per_round = max(1, episodes // rounds)
    for start in range(0, episodes, per_round):
        seeds = range(start, min(episodes, start + per_round))
        for name, kind in kinds.items():
            _play(kind, envs[name], seeds, steps, *times[name])
    rows = {}
    for name, kind in kinds.items():
        task_start_ms = _task_start_ms(kind, envs[name], range(episodes, episodes + 30))
        shots = []
        for _ in range(20):
            start = time.perf_counter()
            kind.screenshot(envs[name])
            shots.append(time.perf_counter() - start)
        envs[name].close()
        resets, step_times = times[name]
        reset_ms = 1000 * sum(resets) / len(resets)
        step_ms = 1000 * sum(step_times) / len(step_times)
        rows[name] = {
            "reset_ms": reset_ms,
            "step_ms": step_ms,
            "cycle_ms": reset_ms + step_ms,
            "shot_ms": 1000 * sorted(shots)[len(shots) // 2],
            "task_start_ms": task_start_ms,
        }
    return rows


def bench_speed(args) -> None:
    tasks = [f"miniwob.{t}" for t in args.tasks.split(",")]
    kinds = {
        "BrowserEnv": _Ours(),
        "BrowserEnv, Playwright screenshots": _Ours(chromium="/usr/bin/chromium"),
        "miniwob env": _MiniWoB(),
    }
    print(
        f"{args.episodes} episodes a task, each a reset and up to {args.steps} random actions "
        "(the same for every env: clicks, typed words, keys), one browser each, the envs "
        f"taking turns in {args.rounds} rounds. "
        "Mean ms of a reset, of a step, and their sum; median ms of one screenshot. "
        "Task start: median ms of the task's own core.startEpisodeReal() in the page, "
        "which every env's reset runs (measured apart, 30 more resets); the last column "
        "is the speed-up of what the env adds to it (reset+step minus task start).\n"
    )
    print(
        "| task | env | reset ms | step ms | reset+step ms | reset+step/s "
        "| speed-up vs miniwob env | screenshot ms | task start ms | speed-up without it |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for task in tasks:
        rows = _time_envs(kinds, task, args.episodes, args.steps, args.rounds)
        theirs = rows["miniwob env"]
        for name, row in rows.items():
            added = row["cycle_ms"] - row["task_start_ms"]
            theirs_added = theirs["cycle_ms"] - theirs["task_start_ms"]
            print(
                f"| {task} | {name} | {row['reset_ms']:.1f} | {row['step_ms']:.1f} | "
                f"{row['cycle_ms']:.1f} | {1000 / row['cycle_ms']:.1f} | "
                f"{theirs['cycle_ms'] / row['cycle_ms']:.1f}x | {row['shot_ms']:.1f} | "
                f"{row['task_start_ms']:.1f} | {theirs_added / added:.1f}x |"
            )

    if args.parallel_episodes:
        print(
            f"\nThe random baseline (RandomPolicy), {args.parallel_episodes} episodes of "
            f"{tasks[0]} (step limit 12), by workers:\n"
        )
        print("| workers | episodes/s | steps/s | wall s |")
        print("| --- | --- | --- | --- |")
        for workers in (1, 2, 4):
            start = time.perf_counter()
            results = run_episodes(
                [tasks[0]], range(args.parallel_episodes), workers=workers, policy="random"
            )
            wall = time.perf_counter() - start
            steps = sum(r.steps for r in results)
            print(f"| {workers} | {len(results) / wall:.1f} | {steps / wall:.1f} | {wall:.1f} |")

    if args.idle_seconds:
        print(
            f"\nCPU of one idle env ({tasks[0]}, after a reset; its Python process and "
            f"browser over {args.idle_seconds} s):\n"
        )
        print("| env | idle CPU, % of a core |")
        print("| --- | --- |")
        for name, kind in kinds.items():
            print(f"| {name} | {_idle_cpu_percent(kind, tasks[0], args.idle_seconds):.1f} |")

    if args.memory_episodes:
        from screenpilot.env.browser import descendant_pids
        from screenpilot.env.browser_env import BrowserEnv

        env = BrowserEnv(tasks[0])
        rows = []
        for episode in range(args.memory_episodes + 1):
            env.reset(seed=episode)
            env.action_space.seed(episode)
            env.step(env.action_space.sample())
            if episode % (args.memory_episodes // 5) == 0:
                rows.append((episode, _rss_mb([os.getpid(), *descendant_pids()])))
        env.close()
        print(
            f"\nMemory (RSS of this process + its browser), {tasks[0]}, one reset + one random step each:\n"
        )
        print("| episodes | RSS MiB |")
        print("| --- | --- |")
        for episode, mb in rows:
            print(f"| {episode} | {mb:.0f} |")


class _CheckEnvRunner:
    """Runs gymnasium's check_env on one registered env per job; returns the failure."""

    def run(self, task: str) -> tuple[str, str | None]:
        import warnings

        import gymnasium as gym
        from gymnasium.utils.env_checker import check_env

        from screenpilot import env as sandbox

        e = gym.make(sandbox.gym_id(task))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check_env(e.unwrapped)
            return task, None
        except Exception as err:
            return task, f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
        finally:
            e.close()

    def close(self) -> None:
        pass


def bench_check_env(args) -> None:
    from screenpilot.env import run_jobs, task_names

    tasks = [f"miniwob.{t}" for t in args.tasks.split(",")] if args.tasks else task_names()
    start = time.perf_counter()
    results = run_jobs(_CheckEnvRunner, tasks, workers=args.workers)
    failed = [(task, why) for task, why in results if why]
    print(
        f"check_env: {len(tasks) - len(failed)}/{len(tasks)} envs pass "
        f"({time.perf_counter() - start:.0f} s, {args.workers} workers)"
    )
    for task, why in failed:
        print(f"- {task}: {why}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("speed", help="throughput vs miniwob's own env, workers, memory")
    p.add_argument("--tasks", default="click-test,click-button,enter-text,choose-list,click-dialog")
    p.add_argument("--episodes", type=int, default=80)
    p.add_argument("--steps", type=int, default=3, help="random steps after each reset")
    p.add_argument("--rounds", type=int, default=4, help="the envs take turns this many times")
    p.add_argument("--parallel-episodes", type=int, default=200)
    p.add_argument("--memory-episodes", type=int, default=500)
    p.add_argument("--idle-seconds", type=float, default=5.0, help="idle CPU of each env")
    p.set_defaults(func=bench_speed)
    p = sub.add_parser("check-env", help="gymnasium's check_env on every registered env")
    p.add_argument("--tasks", default="", help="comma-separated MiniWoB++ task ids (default: all)")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=bench_check_env)
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
