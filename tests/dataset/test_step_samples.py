"""Training samples: the right screen for each step, history, and DataLoader workers."""

import numpy as np
import pytest

from conftest import ui_frame, write_episode
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.samples import StepSamples, collate_samples

pytestmark = pytest.mark.integration


def test_every_step_with_the_frame_before_it(small_dataset):
    samples = StepSamples(small_dataset, history=2)
    assert len(samples) == 5 + 4  # the second episode has 8 frames: 4 of its actions fit
    s = samples[2]
    assert s["task"] == "Click the button"
    assert s["action"].to_text() == "drag 10 100 120 100"
    assert [a.to_text() for a in s["history"]] == ["click 40 50", 'type "hello"']
    assert [a.to_text() for a in s["history"]] == ["click 40 50", 'type "hello"']
    assert s["image"].shape == (210, 160, 3) and s["image"].dtype == np.uint8
    expected = ui_frame(s["action"].frame)
    assert np.abs(s["image"].astype(int) - expected).mean() < 2
    assert samples[0]["history"] == []
    with pytest.raises(DatasetError):
        samples[len(samples)]


def test_transform_runs_per_sample(small_dataset):
    samples = StepSamples(small_dataset, transform=lambda s: (s["image"].mean(), s["action"].type))
    assert samples[0][1] == "click"


def test_dataloader_with_workers_and_shuffling(tmp_path):
    root = tmp_path / "ds"
    for e in range(6):
        write_episode(root, f"task {e}", n_frames=12)
    torch = pytest.importorskip("torch")
    samples = StepSamples(root, max_open_videos=2)
    # A sample read here first leaves videos open in this process: forked workers must
    # neither share nor free them (that once hung in avcodec_free_context).
    assert samples[3]["image"].shape == (210, 160, 3)
    loader = torch.utils.data.DataLoader(
        samples, batch_size=7, shuffle=True, num_workers=2, collate_fn=collate_samples,
        multiprocessing_context="fork", timeout=120,
    )  # fmt: skip
    seen = 0
    for batch in loader:
        assert batch["image"].shape[1:] == (210, 160, 3)
        for img, action in zip(batch["image"], batch["action"], strict=True):
            assert np.abs(img.astype(int) - ui_frame(action.frame)).mean() < 2
        seen += len(batch["action"])
    assert seen == len(samples) == 30


def test_several_datasets_and_a_chosen_split(tmp_path):
    write_episode(tmp_path / "a", "a", n_frames=4)
    write_episode(tmp_path / "b", "b", n_frames=4)
    write_episode(tmp_path / "b", "c", n_frames=4)
    both = StepSamples([tmp_path / "a", tmp_path / "b"])
    assert {both[i]["task"] for i in range(len(both))} == {"a", "b", "c"}
    only_c = StepSamples([tmp_path / "a", tmp_path / "b"], episodes=[(1, 1)])
    assert {only_c[i]["task"] for i in range(len(only_c))} == {"c"}
