"""A/B: a policy trained on IDM-labelled recordings against one trained on their true labels.

    .venv/bin/python bench/idm_labels_ab.py --work DIR [--tasks T,...] [--episodes N]
        [--idm-episodes M] [--idm-steps S | --idm-minutes MIN] [--steps P]
        [--eval-episodes E] [--workers K] [--threads 1] [--set model.FIELD=VALUE ...]

VPT's recipe on screenpilot's own recordings, every stage cached in --work (a stage whose
output is there is not run again; delete it to redo it):

1. `rec_idm`: labelled desktop recordings for the IDM (`record expert --via desktop
   --draw-pointer`), M episodes a task on seeds from 500,000;
2. `rec_policy`: the same for the policy, N episodes a task on seeds 0..N-1;
3. `idm`: an inverse dynamics model trained on rec_idm (`train --kind idm`; the --set
   fields are its config), or the one --idm names;
4. `rec_policy_idm`: rec_policy labelled by the IDM (`label --score`): the IDM's label
   accuracy on recordings it never saw, their true steps hidden from it;
5. `run_true` and `run_idm`: one policy each on rec_policy's true labels and on the IDM's,
   the same config and steps; both evaluated in the sandbox on the same unseen seeds
   from 1,000,000 (headless, as every eval).

The table: the label accuracy, then success per task for true and IDM labels and their
ratio; the issue's target is IDM >= 90% of true on the mean.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from idm_bench import idm_train_config, model_fields  # noqa: E402
from recordings_ab import DEFAULT_TASKS, ab_table  # noqa: E402

IDM_SEED = 500_000


def main(argv: list[str] | None = None) -> int:
    from screenpilot.agent.evaluate import EvalSpec, evaluate
    from screenpilot.env.desktop_sandbox import DesktopOptions
    from screenpilot.env.registration import parse_task_list
    from screenpilot.model.label import format_score, label_dataset
    from screenpilot.model.train import train
    from screenpilot.model.train_config import TrainConfig
    from screenpilot.recorder.expert import record_experts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, metavar="DIR")
    parser.add_argument("--tasks", default=DEFAULT_TASKS)
    parser.add_argument("--episodes", type=int, default=100, help="policy recordings a task")
    parser.add_argument("--idm-episodes", type=int, default=100, help="IDM recordings a task")
    parser.add_argument("--idm-steps", type=int, default=2000)
    parser.add_argument("--idm-minutes", type=float, default=0.0)
    parser.add_argument("--idm-lr", type=float, default=2e-3)
    parser.add_argument("--steps", type=int, default=600, help="policy training steps, each arm")
    parser.add_argument("--eval-episodes", type=int, default=50, help="eval episodes a task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--only", choices=("true", "idm"), help="train and evaluate one arm")
    parser.add_argument("--idm", metavar="RUN",
                        help="label with this trained IDM (e.g. bench/idm_bench.py's OUT/idm) "
                        "instead of training one on rec_idm")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="model.FIELD=VALUE",
                        help="IDM config fields")  # fmt: skip
    args = parser.parse_args(argv)
    tasks = parse_task_list(args.tasks)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def stage(name: str, done: Path, run) -> None:
        start = time.perf_counter()
        if not done.exists():
            run()
        timings[name] = round(time.perf_counter() - start, 1)

    desktop = DesktopOptions(human_pace=True, record_fps=20, draw_pointer=True)
    recordings = {"rec_idm": (args.idm_episodes, IDM_SEED), "rec_policy": (args.episodes, 0)}
    for name, (episodes, seed) in recordings.items():
        stage(f"record {name} s", work / name / "meta" / "info.json",
              lambda n=name, e=episodes, s=seed: record_experts(
                  tasks, e, work / n, workers=args.workers, seed=s, desktop=desktop))  # fmt: skip

    idm_args = argparse.Namespace(steps=args.idm_steps, minutes=args.idm_minutes, batch_size=32,
                                  lr=args.idm_lr, device="cpu", threads=args.threads, seed=0)  # fmt: skip
    idm_run = Path(args.idm) if args.idm else work / "idm"
    if not args.idm:
        cfg = idm_train_config(work / "rec_idm", idm_run, idm_args, model_fields(args.set))
        stage("train idm s", idm_run / "model", lambda: train(cfg))
    labelled = work / "rec_policy_idm"
    score_file = work / "label_score.json"

    def label() -> None:
        summary = label_dataset(idm_run, work / "rec_policy", labelled, score=True,
                                device="cpu")  # fmt: skip
        score_file.write_text(json.dumps(summary["score"], indent=2) + "\n")

    results = {}
    for arm, data in (("true", work / "rec_policy"), ("idm", labelled)):
        if args.only and args.only != arm:
            continue
        if arm == "idm":
            stage("label s", score_file, label)
            print(format_score(json.loads(score_file.read_text())))
        run = work / f"run_{arm}"
        config = TrainConfig(
            data=[str(data)], out=str(run), steps=args.steps, batch_size=32, device="cpu",
            checkpoint_every=10**9, val_every=10**9, threads=args.threads,
            val_fraction=0.0,  # every episode trains: the two arms see the same frames
        )  # fmt: skip
        config.validate()
        stage(f"train policy on {arm} labels s", run / "model", lambda c=config: train(c))
        done = work / f"eval_{arm}" / "results.json"
        spec = EvalSpec(tasks, args.eval_episodes, workers=args.workers, model=str(run))
        stage(f"eval policy on {arm} labels s", done, lambda s=spec, d=done: evaluate(s, d.parent))
        results[arm] = json.loads(done.read_text())
    if args.only:
        return 0
    score = json.loads(score_file.read_text())

    true, idm = results["true"], results["idm"]
    print(ab_table(tasks, true, idm, ("true labels", "IDM labels", "IDM / true")))
    mt, mi = true["mean_success"], idm["mean_success"]
    print(json.dumps(timings))
    summary = {"tasks": tasks, "episodes": args.episodes, "idm_episodes": args.idm_episodes,
               "steps": args.steps, "eval_episodes": args.eval_episodes, "timings": timings,
               "label_score": score, "mean_success": {"true": mt, "idm": mi}}  # fmt: skip
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
