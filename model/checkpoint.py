"""Checkpoints on disk, and loading a trained model for the agent.

RUN/train_config.json                     the resolved training config
RUN/checkpoints/step_000500/              every --checkpoint-every steps and at the end:
    config.json, model.safetensors        save_pretrained (the model alone)
    README.md                             the model card (model/card.py)
    trainer_state.pt                      step, optimizer, training seconds, RNG
RUN/model/                                the final model and its card, for
                                          `AutoModel.from_pretrained` after `import screenpilot`

torch is imported inside the functions that need it: finding a model directory (the eval
report, the model card) must not pay for it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .card import CARD_FILE
from .errors import CheckpointError

# Bumped when trainer_state.pt changes meaning: an old one is refused, not misread.
CHECKPOINT_FORMAT_VERSION = 1
_STEP_DIR = re.compile(r"^step_(\d+)$")


def checkpoint_dir(run: Path, step: int) -> Path:
    return Path(run) / "checkpoints" / f"step_{step:06d}"


def latest_checkpoint(run: str | Path) -> Path | None:
    root = Path(run) / "checkpoints"
    if not root.is_dir():
        return None
    done = [
        p for p in root.iterdir() if _STEP_DIR.match(p.name) and (p / "trainer_state.pt").exists()
    ]
    return max(done, key=lambda p: int(_STEP_DIR.match(p.name).group(1)), default=None)


def save_checkpoint(
    run, step, model, optimizer, spent_s: float, train_config_json: str, card: str | None = None
) -> Path:
    """Written to a temporary directory then renamed: a crash never leaves a half checkpoint
    that --resume would pick. ``card`` is the model card's text (README.md)."""
    import torch

    final = checkpoint_dir(run, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    (tmp / "train_config.json").write_text(train_config_json)
    if card is not None:
        (tmp / CARD_FILE).write_text(card, encoding="utf-8")
    torch.save(
        {
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "step": step,
            "optimizer": optimizer.state_dict(),
            "spent_s": spent_s,  # training seconds so far: a minutes budget resumes from it
            "torch_rng": torch.get_rng_state(),
        },
        tmp / "trainer_state.pt",
    )
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def load_trainer_state(path: Path) -> dict:
    import torch

    file = Path(path) / "trainer_state.pt"
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not a checkpoint (no trainer_state.pt)") from None
    except Exception as e:  # a truncated or foreign file: one line, not a pickle traceback
        raise CheckpointError(f"{file}: unreadable ({type(e).__name__})") from None
    version = state.get("format_version") if isinstance(state, dict) else None
    if version != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is not supported "
            f"(this screenpilot reads version {CHECKPOINT_FORMAT_VERSION})"
        )
    return state


def resolve_model_dir(path: str | Path) -> Path:
    """A model directory, a checkpoint, or a run directory (-> its final model, else its
    latest checkpoint)."""
    path = Path(path)
    if (path / "config.json").exists():
        return path
    if (path / "model" / "config.json").exists():
        return path / "model"
    latest = latest_checkpoint(path)
    if latest is not None:
        return latest
    raise CheckpointError(f"{path}: no model here (expected config.json and model.safetensors)")


# What each kind of model calls itself in its config.json, and who trains one.
MODEL_TYPES = {
    "policy": ("screenpilot-vla", "`screenpilot train` trains one"),
    "idm": ("screenpilot-idm", "`screenpilot train --kind idm` trains one"),
}


def load_model(path: str | Path, device: str = "cpu", kind: str = "policy"):
    """The trained model of ``kind`` (the policy, or the inverse dynamics model), in
    eval mode, from a model, checkpoint or run directory."""
    from .configuration import MODEL_FORMAT_VERSION

    model_dir = resolve_model_dir(path)
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{model_dir / 'config.json'}: unreadable ({e})") from None
    version = config.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise CheckpointError(
            f"{model_dir}: model format version {version} is not supported "
            f"(this screenpilot reads version {MODEL_FORMAT_VERSION})"
        )
    if not (model_dir / "model.safetensors").exists():
        raise CheckpointError(f"{model_dir}: no model.safetensors")
    wanted, trainer = MODEL_TYPES[kind]
    found = config.get("model_type", wanted)
    if found != wanted:
        name = "an inverse dynamics model" if kind == "idm" else "a policy"
        raise CheckpointError(f"{model_dir}: a {found} model, not {name} ({trainer})")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the agent's own progress bar is the one to see
    if kind == "idm":
        from .idm import IDMModel as model_class
    else:
        from .modeling import VLAModel as model_class
    return model_class.from_pretrained(model_dir).to(device).eval()
