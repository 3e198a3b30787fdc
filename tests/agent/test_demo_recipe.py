"""The demo's recipe: a training budget in minutes, and data sized from it."""

from __future__ import annotations

from conftest import screenpilot
from screenpilot.agent.demo import FULL, QUICK, recipe_for


def test_the_default_recipe_trains_for_minutes():
    assert recipe_for(None, quick=False) == FULL and recipe_for(None, quick=True) == QUICK
    assert FULL.train_minutes > 0 and QUICK.train_minutes < FULL.train_minutes


def test_a_longer_budget_gets_more_demonstrations_in_proportion():
    double = recipe_for(2 * FULL.train_minutes, quick=False)
    assert double.train_minutes == 2 * FULL.train_minutes
    assert double.episodes_per_task == 2 * FULL.episodes_per_task
    assert recipe_for(0.01, quick=False).episodes_per_task == 20  # never a token dataset


def test_a_budget_that_is_not_positive_is_one_clear_error(tmp_path):
    result = screenpilot("demo", "--minutes", "0", "--out", str(tmp_path / "d"))
    assert result.returncode != 0
    assert (
        result.stderr.strip().splitlines()[-1]
        == "screenpilot: error: --minutes must be positive, got 0"
    )
    assert not (tmp_path / "d").exists()
