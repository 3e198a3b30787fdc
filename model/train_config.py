"""The training config: a dataclass, a JSON file, flags. Flags override the file, the file
overrides the defaults, and the resolved config is saved in the run directory.

No torch here: ``screenpilot --help`` builds these flags.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import TrainConfigError


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)  # dataset directories
    out: str = ""  # the run directory: config, checkpoints, logs, final model
    # policy: the next action from the screen before it. idm: the inverse dynamics model,
    # the action between frames (it sees frames after it too), for `screenpilot label`.
    kind: str = "policy"
    # Weights to start from: a model, checkpoint or run directory (a DAgger round, a
    # fine-tune). The weights only: the optimizer and the schedule start afresh.
    init: str = ""
    steps: int = 2000
    # A wall-clock budget instead of a step count (0: use steps): training stops after
    # this many minutes of training (evaluation and checkpoints not counted), and the
    # learning rate's cosine follows the clock, so a slower CPU gets fewer steps, not a
    # cut-off schedule.
    minutes: float = 0.0
    batch_size: int = 32  # global: split across data-parallel ranks
    # Each process's batch is run as this many micro-batches of samples with similar task
    # lengths, their gradients summed (the same gradient as one pass). The encoder pays for
    # the longest task text of what it is given, one token a byte, so a batch that mixes a
    # 17-byte and a 95-byte task pays the long one's padding for every sample. The policy
    # only: the IDM runs each batch in one pass.
    length_groups: int = 4
    lr: float = 2e-3  # small from-scratch transformers take a high peak rate
    min_lr_ratio: float = 0.05  # cosine decays to lr * this
    warmup_steps: int = 100
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # auto: bf16 autocast on CUDA, fp32 on CPU (bf16 on CPU is an option: see BENCHMARKS.md)
    precision: str = "auto"
    compile: bool = False  # torch.compile the model (worth it on CUDA for long runs)
    num_workers: int = 2  # DataLoader workers when samples are not preloaded
    # CPU threads per process (0: torch's default, one per core). On a CPU shared with other
    # busy processes 1 can be several times faster: OpenMP threads wait on each other.
    threads: int = 0
    # Decode and preprocess every sample once into memory when they fit in this many GiB:
    # video decoding then costs nothing per step, which on 2 cores is most of the win.
    preload_max_gib: float = 4.0
    val_fraction: float = 0.1  # of episodes, held out whole (never their steps alone)
    val_every: int = 250
    val_max_samples: int = 1024
    # Sub-patch shifts of the screenshot (the labels move with it) and a brightness and
    # contrast jitter, drawn afresh every step (model/augment.py). Off by default: at the
    # demo's budget (~600 steps) it cost 10 points of reading (BENCHMARKS.md, Reading).
    augment: bool = False
    # Share of the batches per task: 0 keeps the data's own mix (a task with six steps an
    # episode gets six times the samples of a one-step task), 1 gives every task the same.
    task_balance: float = 0.5
    click_tolerance: int = 4  # pixels (each axis) a click may miss its target by
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    tensorboard: bool = True
    model: dict = field(default_factory=dict)  # VLAConfig fields, e.g. {"hidden_size": 64}

    def validate(self) -> None:
        if not self.data:
            raise TrainConfigError("no data: pass --data DIR[,DIR...]")
        if not self.out:
            raise TrainConfigError("no run directory: pass --out RUN")
        for name in ("steps", "batch_size", "length_groups", "val_every", "checkpoint_every",
                     "log_every"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise TrainConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.minutes < 0:
            raise TrainConfigError(f"minutes must be positive (or 0 for steps), got {self.minutes}")
        if not 0 <= self.task_balance <= 1:
            raise TrainConfigError(f"task_balance must be in [0, 1], got {self.task_balance}")
        if self.lr <= 0:
            raise TrainConfigError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise TrainConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.kind not in ("policy", "idm"):
            raise TrainConfigError(f"kind must be policy or idm, got {self.kind!r}")
        if self.kind == "idm" and self.augment:
            raise TrainConfigError(
                "augment shifts one screenshot; the idm reads a window of frames"
            )
        if self.precision not in ("auto", "bf16", "fp32"):
            raise TrainConfigError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        for path in self.data:
            if not Path(path).is_dir():
                raise TrainConfigError(f"{path}: no such dataset directory")
        if self.init:
            self._validate_init()
        self._validate_model_fields()

    def _validate_init(self) -> None:
        from .checkpoint import resolve_model_dir
        from .errors import CheckpointError

        if not Path(self.init).is_dir():
            raise TrainConfigError(f"init: {self.init}: no such model or run directory")
        try:
            resolve_model_dir(self.init)
        except CheckpointError as e:
            raise TrainConfigError(f"init: {e}") from None

    def _validate_model_fields(self) -> None:
        """``model`` names VLAConfig fields with values of their defaults' types: a typo
        (``--set model.hiden_size=64``) or a word for a number is one clear error, not a
        field silently ignored or a traceback from inside torch."""
        if self.kind == "idm":
            from .idm_config import IDMConfig as config_class
        else:
            from .configuration import VLAConfig as config_class

        defaults = config_class().vla_fields()
        for name, value in (self.model or {}).items():
            if name not in defaults:
                raise TrainConfigError(f"unknown model field {name!r} (model.{name})")
            default = defaults[name]
            numeric = isinstance(default, int | float) and not isinstance(default, bool)
            wrong = (
                (isinstance(default, bool) and not isinstance(value, bool))
                or (numeric and (isinstance(value, bool) or not isinstance(value, int | float)))
                or (isinstance(default, int) and not isinstance(default, bool)
                    and isinstance(value, float) and not value.is_integer())
                or (isinstance(default, str) and not isinstance(value, str))
            )  # fmt: skip
            if wrong:
                kind = type(default).__name__
                raise TrainConfigError(
                    f"model.{name} must be {'an' if kind == 'int' else 'a'} {kind}, got {value!r}"
                )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def load_config_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise TrainConfigError(f"{path}: no such config file") from None
    except json.JSONDecodeError as e:
        raise TrainConfigError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(values, dict):
        raise TrainConfigError(f"{path}: expected a JSON object of config fields")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainConfigError(f"{path}: unknown config field(s) {', '.join(unknown)}")
    return values


# ---- flags --------------------------------------------------------------------------------
_FLAG_HELP = {
    "data": "dataset directories, comma-separated",
    "kind": "policy, or idm: an inverse dynamics model for `screenpilot label`",
    "out": "run directory (config, checkpoints, TensorBoard logs, final model)",
    "steps": "optimizer steps",
    "minutes": "train for this many minutes of wall clock instead of --steps",
    "batch_size": "global batch size (split across processes)",
    "lr": "peak learning rate",
    "device": "auto, cpu, cuda or cuda:N",
    "precision": "auto (bf16 autocast on CUDA), bf16 or fp32",
    "compile": "torch.compile the model",
    "num_workers": "DataLoader workers when samples are not preloaded",
    "val_every": "evaluate on held-out episodes every N steps",
    "checkpoint_every": "save a checkpoint every N steps",
    "seed": "seed of initialisation and data order",
}
_DIRECT_FLAGS = ("kind", "steps", "minutes", "batch_size", "lr", "device", "precision",
                 "num_workers", "val_every", "checkpoint_every", "seed")  # fmt: skip


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `screenpilot train` and `python -m screenpilot.model.train` (one definition)."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    defaults = TrainConfig()
    parser.add_argument("--data", metavar="DIR[,DIR...]", help=_FLAG_HELP["data"])
    parser.add_argument("--out", metavar="RUN", help=_FLAG_HELP["out"])
    for name in _DIRECT_FLAGS:
        kind = {"int": int, "float": float, "str": str}[types[name]]
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=None,
            metavar=name.upper(),
            help=f"{_FLAG_HELP[name]} (default {getattr(defaults, name)})",
        )
    parser.add_argument("--compile", action="store_true", default=None, help=_FLAG_HELP["compile"])
    parser.add_argument(
        "--init", metavar="RUN", help="start from the weights of this model, checkpoint or run "
        "(a fresh optimizer and schedule)",
    )  # fmt: skip
    parser.add_argument("--config", metavar="FILE", help="JSON file of config fields")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other config field, e.g. --set warmup_steps=50 --set model.hidden_size=64 "
        "(values are JSON, else strings)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """defaults < the run's saved config (--resume) < --config FILE < --set < flags."""
    values: dict = {}
    if getattr(args, "resume", False) and args.out:
        saved = Path(args.out) / "train_config.json"
        if not saved.exists():
            raise TrainConfigError(f"{args.out}: nothing to resume (no train_config.json)")
        values.update(load_config_file(saved))
    elif args.out and (Path(args.out) / "train_config.json").exists():
        raise TrainConfigError(
            f"{args.out} already holds a run: --resume continues it; pick another --out "
            "to start afresh"
        )
    if args.config:
        values.update(load_config_file(args.config))
    known = {f.name for f in fields(TrainConfig)}
    for item in args.set:
        name, eq, text = item.partition("=")
        if not eq:
            raise TrainConfigError(f"--set needs FIELD=VALUE, got {item!r}")
        if name.startswith("model."):
            values.setdefault("model", {})
            values["model"] = {**values["model"], name[len("model.") :]: _parse_value(text)}
        elif name in known:
            values[name] = _parse_value(text)
        else:
            raise TrainConfigError(f"--set: unknown config field {name!r}")
    if args.data:
        values["data"] = [p for p in args.data.split(",") if p]
    if args.out:
        values["out"] = args.out
    if getattr(args, "init", None):
        values["init"] = args.init
    for name in (*_DIRECT_FLAGS, "compile"):
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if isinstance(values.get("data"), str):
        values["data"] = [p for p in values["data"].split(",") if p]
    try:
        config = TrainConfig(**values)
    except TypeError as e:
        raise TrainConfigError(f"bad config: {e}") from None
    config.validate()
    return config
