"""The model card: README.md beside every saved model (RUN/model and each checkpoint), so a
model folder says what it is wherever it goes: its data, its training, its config, and its
evaluation once ``screenpilot eval`` has run (the latest evaluation replaces the last).

No torch here: ``screenpilot eval --agent random`` imports this module.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .run_metrics import read_metrics, run_dir_of

CARD_FILE = "README.md"
# The evaluation section lies between these lines, so an eval can replace it alone.
EVAL_BEGIN = "<!-- screenpilot:eval -->"
EVAL_END = "<!-- /screenpilot:eval -->"
NOT_EVALUATED = (
    "## Evaluation\n\nNot evaluated yet: `screenpilot eval --model DIR` writes its results here.\n"
)


def data_summary(paths: list[str]) -> list[dict]:
    """Per dataset: episodes, steps, successes, sources and sandbox tasks (from its meta
    files only; reading never writes)."""
    from screenpilot.dataset.chunks import all_episode_metas

    out = []
    for path in paths:
        metas = all_episode_metas(Path(path))
        out.append(
            {
                "path": str(path),
                "episodes": len(metas),
                "steps": sum(m.get("length", 0) for m in metas),
                "successful": sum(1 for m in metas if m.get("success")),
                "sources": dict(Counter(m.get("source", "unknown") for m in metas)),
                # sandbox episodes name their task; others (desktop, browser) only have text
                "tasks": dict(Counter(m.get("metadata", {}).get("env") or "other" for m in metas)),
                "task_texts": len({m.get("task", "") for m in metas}),
            }
        )
    return out


def _counts(counter: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))


def _json_fields(fields: dict) -> str:
    """A JSON object with one field a line (a list such as the key vocabulary stays on its
    line)."""
    return (
        "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in fields.items()) + "\n}"
    )


def _validation(run: Path, step: int) -> str:
    """The latest validation at or before ``step``, as one line."""
    points = [p for p in read_metrics(run) if p["split"] == "val" and p["step"] <= step]
    if not points:
        return "no validation logged"
    last = points[-1]
    accs = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k.endswith("_acc"))
    return f"at step {last['step']}: {accs} ({last.get('samples', '?')} held-out samples)"


def _policy_intro(model_dir) -> str:
    return f"""- vision-language-action
---

# screenpilot VLA model

A vision-language-action transformer trained from scratch by screenpilot: a screenshot and
the task's text in, one action out (`click 80 105`, `type "hello"`, `key Enter`, `done`).
With `spot_words` above 0 in its config it reads the task's words off the screenshot by
word spotting: each word is rendered in DejaVu Sans and matched on the screen, so that
font should be installed where the model runs (without it a fallback font matches less
well).

```python
import screenpilot  # registers the model with transformers' AutoConfig and AutoModel
from transformers import AutoModel

model = AutoModel.from_pretrained("{model_dir}")
action = model.predict({{"screenshot": rgb_uint8_hwc, "task": "Click OK"}}, history=[])
```

Or `screenpilot run --model {model_dir} --env miniwob.click-test`.
"""


def _idm_intro(model_dir) -> str:
    return f"""- inverse-dynamics
---

# screenpilot inverse dynamics model

An inverse dynamics model trained from scratch by screenpilot on labelled screen
recordings: the frames around each frame of a recording in, the action that frame comes
before out (or none), with a confidence. It looks at later frames, so it labels videos
and never acts:

```sh
screenpilot label --idm {run_dir_of(model_dir)} --data videos --out videos_labelled
```
"""


def render_card(model_dir: str | Path, cfg, *, step: int, parameters: int,
                split: tuple[int, int]) -> str:  # fmt: skip
    """The card of the model saved at ``model_dir`` after ``step`` steps of ``cfg`` (a
    TrainConfig); ``split`` is (training, held-out) episodes."""
    data = data_summary(cfg.data)
    rows = "\n".join(
        f"| {d['path']} | {d['episodes']} | {d['steps']} | {d['successful']} | "
        f"{_counts(d['sources'])} | {d['task_texts']} |"
        for d in data
    )
    tasks = Counter()
    for d in data:
        tasks.update(d["tasks"])
    task_line = _counts(tasks) if set(tasks) != {"other"} else "none (recordings outside it)"
    intro = _idm_intro(model_dir) if cfg.kind == "idm" else _policy_intro(model_dir)
    return f"""---
library_name: screenpilot
tags:
- screenpilot
- computer-use
{intro}
## Training data

| dataset | episodes | steps | successful | sources | task texts |
| --- | --- | --- | --- | --- | --- |
{rows}

Trained on {split[0]} episodes; {split[1]} held out whole for validation.
Sandbox tasks (episodes): {task_line}.

## Training

- steps: {step} of {cfg.steps}
- parameters: {parameters:,} ({parameters / 1e6:.2f}M)
- batch size {cfg.batch_size}, peak learning rate {cfg.lr:g} (warmup {cfg.warmup_steps} steps,
  cosine to {cfg.min_lr_ratio:g} of it), weight decay {cfg.weight_decay:g}, seed {cfg.seed}
- validation {_validation(run_dir_of(model_dir), step)}

The full training config is `train_config.json` beside this file.

## Model config

```json
{_json_fields(cfg.model)}
```

{EVAL_BEGIN}
{NOT_EVALUATED}{EVAL_END}
"""


def eval_section(results: dict) -> str:
    """The card's evaluation section from an eval's results.json."""
    seeds = results["seeds"]
    first, last = seeds["offset"], seeds["offset"] + seeds["count"] - 1
    lines = [
        "## Evaluation",
        "",
        f"`screenpilot eval` on seeds {first}..{last} ({seeds['count']} a task, none seen in "
        f"training); mean success **{100 * results['mean_success']:.1f}%**.",
        "",
        "| task | success | 95% CI | mean steps |",
        "| --- | --- | --- | --- |",
    ]
    for task, r in results["tasks"].items():
        low, high = r["ci95"]
        lines.append(
            f"| {task} | {100 * r['success_rate']:.1f}% | {100 * low:.1f}-{100 * high:.1f}% "
            f"| {r['mean_steps']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def record_eval_results(model: str | Path | None, results: dict) -> Path | None:
    """Put an eval's results in the card of the model it evaluated (a run, model or
    checkpoint directory); the card's path, or None when there is no model or card."""
    if not model:
        return None
    from .checkpoint import resolve_model_dir
    from .errors import CheckpointError

    try:
        card = resolve_model_dir(model) / CARD_FILE
        text = card.read_text(encoding="utf-8")
    except (CheckpointError, OSError):  # a model saved before cards, or elsewhere
        return None
    head, begin, rest = text.partition(EVAL_BEGIN)
    _, end, tail = rest.partition(EVAL_END)
    if not (begin and end):
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    card.write_text(f"{head}{EVAL_BEGIN}\n{eval_section(results)}{EVAL_END}{tail}", "utf-8")
    return card
