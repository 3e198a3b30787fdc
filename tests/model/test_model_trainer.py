"""The trainer: exact resume, the schedule, the batch order, one-line user errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from conftest import write_episode
from screenpilot.agent.cli import main
from screenpilot.dataset.actions import Action
from screenpilot.model.data import global_batch_indices, open_datasets, rank_slice, split_episodes
from screenpilot.model.train import lr_factor, train
from screenpilot.model.train_config import TrainConfig

TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}


def synthetic_dataset(root, episodes=6):
    for i in range(episodes):
        word = ["alpha", "bravo", "charlie", "delta", "echo", "fox"][i % 6]
        actions = [Action("click", x=20 + 10 * i, y=50), Action("type", text=word),
                   Action("key", key="Enter"), Action("done")]  # fmt: skip
        write_episode(root, f'Type "{word}" and press Enter.', n_frames=9, actions=actions)
    return root


def config(tmp_path, data, out, **kw):
    values = dict(data=[str(data)], out=str(out), steps=6, batch_size=4, warmup_steps=2,
                  val_every=6, checkpoint_every=3, log_every=1, num_workers=0,
                  tensorboard=False, threads=1, model=dict(TINY))  # fmt: skip
    values.update(kw)
    return TrainConfig(**values)


def losses(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return {d["step"]: d["loss"] for d in map(json.loads, lines) if d["split"] == "train"}


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    data = synthetic_dataset(tmp_path / "ds")
    full = tmp_path / "full"
    train(config(tmp_path, data, full))
    # Interrupted after the checkpoint at step 3: the run dir as a killed run leaves it.
    part = tmp_path / "part"
    (part / "checkpoints").mkdir(parents=True)
    shutil.copy(full / "train_config.json", part / "train_config.json")
    shutil.copytree(full / "checkpoints" / "step_000003", part / "checkpoints" / "step_000003")
    train(config(tmp_path, data, part), resume=True)
    a, b = losses(full), losses(part)
    assert sorted(b) == [4, 5, 6]
    for step in (4, 5, 6):
        assert b[step] == pytest.approx(a[step], rel=1e-6, abs=1e-7)
    wa = torch.load(full / "checkpoints/step_000006/trainer_state.pt", weights_only=True)
    wb = torch.load(part / "checkpoints/step_000006/trainer_state.pt", weights_only=True)
    assert wa["step"] == wb["step"] == 6
    assert (part / "model" / "model.safetensors").exists()


def test_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    f = [lr_factor(s, (s - 10) / 90, cfg) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False))
    assert lr_factor(100, 1.0, cfg) == pytest.approx(0.1)
    assert lr_factor(50, 1.7, cfg) == pytest.approx(0.1)  # a budget overrun stays at the floor


def test_a_minutes_budget_stops_training_on_the_clock_with_the_schedule_spent(tmp_path):
    data = synthetic_dataset(tmp_path / "ds")
    run = tmp_path / "run"
    # steps=1 would end a step-sized run at once: the clock decides here, not the steps.
    train(config(tmp_path, data, run, steps=1, minutes=0.1, val_every=10**6,
                 checkpoint_every=10**6))  # fmt: skip
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train_lines = [d for d in lines if d["split"] == "train"]
    assert len(train_lines) > 1  # more than the one step the step count says
    assert train_lines[-1]["lr"] == pytest.approx(0.05 * TrainConfig().lr, rel=0.2)
    assert (run / "model" / "model.safetensors").exists()


def test_weight_decay_spares_biases_norms_embeddings_and_free_vectors():
    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.modeling import VLAModel
    from screenpilot.model.train import make_optimizer, no_weight_decay

    model = VLAModel(VLAConfig(**TINY))
    exempt = no_weight_decay(model)
    names = {n for n, _ in model.named_parameters()}
    assert {n for n in names if n.endswith(".bias")} <= exempt
    assert {"blocks.0.ln1.weight", "blocks.0.ln2.weight", "ln_f.weight", "queries",
            "byte_emb.weight", "hist_type.weight", "typed_emb.weight"} <= exempt  # fmt: skip
    decayed = names - exempt  # exactly the weights of linear and conv layers
    assert {"stem.cell.weight", "blocks.0.attn.qkv.weight", "blocks.0.mlp.0.weight",
            "point.q.weight", "type_head.weight"} <= decayed  # fmt: skip
    for name in decayed:
        module = model.get_submodule(name.removesuffix(".weight"))
        assert isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)), name
    cfg = config(None, "ds", "run")
    groups = make_optimizer(model, cfg, fused=False).param_groups
    by_id = {id(p): n for n, p in model.named_parameters()}
    assert [g["weight_decay"] for g in groups] == [cfg.weight_decay, 0.0] and cfg.weight_decay > 0
    assert {by_id[id(p)] for p in groups[0]["params"]} == decayed
    assert {by_id[id(p)] for p in groups[1]["params"]} == exempt


def test_batch_order_is_a_function_of_seed_and_step_and_ranks_split_it():
    a = global_batch_indices(10, 4, seed=1, step=2)  # crosses into the second epoch
    assert list(a) == list(global_batch_indices(10, 4, seed=1, step=2))
    first_epoch = [i for s in range(3) for i in global_batch_indices(10, 4, 1, s)][:10]
    assert sorted(first_epoch) == list(range(10))
    halves = [rank_slice(a, r, 2) for r in range(2)]
    assert [*halves[0], *halves[1]] == list(a)


def test_length_groups_give_the_whole_batch_s_gradient_and_logs():
    import numpy as np

    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.data import length_groups
    from screenpilot.model.modeling import VLAModel
    from screenpilot.model.preprocess import Preprocessor, collate
    from screenpilot.model.train import accumulate_gradients

    torch.manual_seed(0)
    model = VLAModel(VLAConfig(**TINY))
    pre = Preprocessor(model.config)
    rng = np.random.default_rng(0)
    steps = [("Click ok.", Action("click", x=30, y=40)),
             ('Type "echo" and press Enter now, then wait for the page.', Action("type", text="echo")),
             ('Enter "ab".', Action("key", key="Enter")),
             ("Click the button on the left side of the page.", Action("done"))] * 2  # fmt: skip
    samples = [{"image": rng.integers(0, 255, (210, 160, 3), dtype=np.uint8), "task": task,
                "history": [], "action": action, "screen": (160, 210)}
               for task, action in steps]  # fmt: skip
    batch = collate([pre(s) for s in samples])
    groups = length_groups(batch, 3)
    assert [len(g["image"]) for g in groups] == [3, 3, 2]
    spans = [(int(g["task_len"].min()), int(g["task_len"].max())) for g in groups]
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(2))  # short tasks together

    def gradient(groups):
        model.zero_grad()
        logs = accumulate_gradients(model, batch, config(None, "ds", "run", length_groups=groups),
                                    torch.device("cpu"))  # fmt: skip
        return logs, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    whole_logs, whole = gradient(1)
    split_logs, split = gradient(3)
    assert whole.keys() == split.keys() and len(whole) > 20
    for name in whole:
        torch.testing.assert_close(split[name], whole[name], rtol=1e-4, atol=1e-6, msg=name)
    torch.testing.assert_close(split_logs["loss"], whole_logs["loss"], rtol=1e-5, atol=1e-6)


def test_held_out_split_takes_whole_episodes_and_leaves_some_to_train(tmp_path):
    datasets = open_datasets([str(synthetic_dataset(tmp_path / "ds", episodes=4))])
    train_keys, val_keys = split_episodes(datasets, 0.25, seed=0)
    assert val_keys and train_keys and not set(train_keys) & set(val_keys)
    assert split_episodes(datasets, 0.25, seed=0) == (train_keys, val_keys)


def run_cli(capsys, *argv):
    code = main(["train", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def test_user_mistakes_end_in_one_line(tmp_path, capsys):
    code, line = run_cli(capsys, "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"))
    assert code == 1 and "no such dataset directory" in line

    empty = tmp_path / "empty"
    empty.mkdir()
    code, line = run_cli(capsys, "--data", str(empty), "--out", str(tmp_path / "r"))
    assert code == 1 and line.startswith("screenpilot: error:")

    from screenpilot.dataset.format import init_dataset

    init_dataset(tmp_path / "nothing")
    code, line = run_cli(capsys, "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"))
    assert code == 1 and "no training samples" in line

    data = synthetic_dataset(tmp_path / "ds", episodes=2)
    if not torch.cuda.is_available():
        code, line = run_cli(capsys, "--data", str(data), "--out", str(tmp_path / "r"),
                             "--device", "cuda")  # fmt: skip
        assert code == 1 and "no CUDA device" in line

    code, line = run_cli(capsys, "--data", str(data), "--out", str(tmp_path / "r"), "--resume")
    assert code == 1 and "resume" in line

    code, line = run_cli(capsys, "--data", str(data), "--out", str(tmp_path / "r"),
                         "--set", "nonsense=1")  # fmt: skip
    assert code == 1 and "unknown config field" in line


def test_a_checkpoint_of_another_format_version_is_refused_in_one_line(tmp_path, capsys):
    data = synthetic_dataset(tmp_path / "ds", episodes=2)
    run = tmp_path / "run"
    args = ["--data", str(data), "--out", str(run), "--steps", "2", "--checkpoint-every", "1",
            "--set", "num_workers=0", "--set", "tensorboard=false",
            "--set", f"model={json.dumps(TINY)}"]  # fmt: skip
    assert main(["train", *args]) == 0
    state_file = run / "checkpoints" / "step_000002" / "trainer_state.pt"
    state = torch.load(state_file, weights_only=True)
    state["format_version"] = 0
    torch.save(state, state_file)
    code, line = run_cli(capsys, *args, "--steps", "3", "--resume")
    assert code == 1 and "checkpoint format version 0 is not supported" in line
