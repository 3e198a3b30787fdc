"""synthetic.click-word: screens drawn from the seed alone, in MiniWoB++'s page, judged at
the first click; its scripted expert; its place among the registered tasks."""

import random
import warnings

import numpy as np
import pytest

from screenpilot.agent.cli import main as screenpilot
from screenpilot.dataset.actions import Action
from screenpilot.env import gym_id, task_names
from screenpilot.env.browser_env import BrowserEnv
from screenpilot.env.experts import ExpertPolicy, expert_tasks
from screenpilot.env.registration import UnknownTaskError, make_task
from screenpilot.env.rollout import run_episode
from screenpilot.env.tasks import synthetic
from screenpilot.env.tasks.synthetic_words import MAX_LETTERS, MIN_LETTERS, near_miss

TASK = "synthetic.click-word"
SCREENS = [synthetic.generate_screen(seed) for seed in range(300)]

# ---- the generator, without a browser ---------------------------------------------


def test_a_screen_is_a_function_of_its_seed():
    assert synthetic.generate_screen(7) == synthetic.generate_screen(7)
    assert synthetic.generate_screen(7, attempt=1) != synthetic.generate_screen(7)
    assert len({screen.task for screen in SCREENS}) > 250


def test_screens_hold_distinct_readable_words_and_ask_for_one_of_them():
    for screen in SCREENS:
        words = [item.word for item in screen.items]
        assert synthetic.MIN_ITEMS <= len(words) <= synthetic.MAX_ITEMS
        assert len({w.lower() for w in words}) == len(words)  # one answer, even ignoring case
        assert all(MIN_LETTERS <= len(w) <= MAX_LETTERS and w.isalnum() for w in words)
        target = screen.items[screen.target]
        assert screen.task in [p.format(target.word) for p in synthetic.PHRASINGS[target.kind]]


def test_screens_mix_kinds_layouts_and_hard_negatives():
    assert {s.layout for s in SCREENS} == set(synthetic.LAYOUTS)
    assert {s.items[s.target].kind for s in SCREENS} == set(synthetic.KINDS)
    assert sum(len({item.kind for item in s.items}) > 1 for s in SCREENS) > 100
    look_alike = sum(
        any(
            i != s.target and (item.word[0] == target[0] or len(item.word) == len(target))
            for i, item in enumerate(s.items)
        )
        for s in SCREENS
        for target in [s.items[s.target].word]
    )
    assert look_alike > len(SCREENS) // 2
    # random letters, not only vocabulary words
    assert sum(not s.items[s.target].word.lower().isalpha() for s in SCREENS) > 30


def test_a_near_miss_differs_from_its_word():
    rng = random.Random(0)
    for word in ["ok", "Submit", "x7Kq", "fringilla"]:
        for _ in range(50):
            other = near_miss(word, rng)
            assert other != word and 1 <= len(other) <= MAX_LETTERS


def test_the_page_needs_no_network_and_hides_its_answer():
    page = synthetic.page_html(SCREENS[0])
    assert not any(ref in page for ref in ("src=", "href=", "url(", "http"))
    # the target is marked only in the script's configuration, never in the markup
    markup = page.split("<script>")[0]
    assert "target" not in markup.split("</style>")[-1]


def test_the_task_is_registered_with_its_expert():
    import gymnasium

    assert TASK in task_names() and TASK in expert_tasks()
    assert gym_id(TASK) == "screenpilot/synthetic.click-word-v0"
    assert gymnasium.spec(gym_id(TASK)).max_episode_steps == synthetic.MAX_STEPS
    assert isinstance(make_task(TASK), synthetic.ClickWordTask)
    with pytest.raises(UnknownTaskError):
        make_task("synthetic.click-nothing")


def test_tasks_verb_lists_it_with_its_expert(capsys):
    import json

    assert screenpilot(["tasks", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == TASK)
    assert {k: row[k] for k in ("name", "suite", "gym_id", "max_steps", "expert")} == {
        "name": TASK,
        "suite": "synthetic",
        "gym_id": gym_id(TASK),
        "max_steps": synthetic.MAX_STEPS,
        "expert": True,
    }
    assert row["expert_success"] == 1.0  # measured by bench/expert_bench.py


# ---- in the browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def click_word():
    import gymnasium

    e = gymnasium.make(gym_id(TASK)).unwrapped  # made as users make it, so it has a spec
    assert isinstance(e, BrowserEnv)
    yield e
    e.close()


def _item_box(e, index: int) -> dict:
    return e.page.evaluate(
        """(i) => {
          const el = document.querySelector('[data-sp-item="' + i + '"]');
          const r = el.getBoundingClientRect();
          const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
          return { left: r.left, top: r.top, right: r.right, bottom: r.bottom,
                   text: el.textContent, onTop: el.contains(hit) };
        }""",
        index,
    )


@pytest.mark.integration
def test_check_env_passes(click_word):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(click_word)


@pytest.mark.integration
def test_same_seed_same_pixels_other_seed_other_screen(click_word):
    first, _ = click_word.reset(seed=11)
    other, _ = click_word.reset(seed=12)
    again, _ = click_word.reset(seed=11)
    assert first["task"] == again["task"]
    np.testing.assert_array_equal(first["screenshot"], again["screenshot"])
    assert other["task"] != first["task"]
    assert not np.array_equal(other["screenshot"], first["screenshot"])
    assert first["screenshot"].shape == (210, 160, 3)
    assert click_word.blocked_urls == []


@pytest.mark.integration
def test_every_item_and_the_target_word_are_on_screen(click_word):
    for seed in range(12):
        obs, _ = click_word.reset(seed=seed)
        screen = click_word.task.screen
        assert obs["task"] == screen.task
        for i, item in enumerate(screen.items):
            box = _item_box(click_word, i)
            assert box["text"] == item.word and box["onTop"]
            assert box["left"] >= 0 and box["right"] <= 160
            assert box["top"] >= 50 and box["bottom"] <= 210  # below the query box
        # the target's word is drawn: dark pixels inside its box on a white page
        box = _item_box(click_word, screen.target)
        inside = obs["screenshot"][
            int(box["top"]) : int(box["bottom"]), int(box["left"]) : int(box["right"])
        ]
        assert inside.min() < 100


@pytest.mark.integration
def test_the_expert_clicks_the_target(click_word):
    policy = ExpertPolicy()
    results = [run_episode(click_word, policy, seed=seed) for seed in range(100, 120)]
    assert [(r.success, len(r.actions)) for r in results] == [(True, 1)] * 20


def _center(box: dict) -> tuple[int, int]:
    return int((box["left"] + box["right"]) / 2), int((box["top"] + box["bottom"]) / 2)


@pytest.mark.integration
def test_a_click_on_another_item_ends_the_episode_in_failure(click_word):
    click_word.reset(seed=3)
    screen = click_word.task.screen
    wrong = next(i for i in range(len(screen.items)) if i != screen.target)
    _, reward, terminated, truncated, info = click_word.step(
        Action("click", *_center(_item_box(click_word, wrong)))
    )
    assert (reward, terminated, truncated, info["success"]) == (0.0, True, False, False)
    assert info["raw_reward"] == -1.0 and screen.items[wrong].word in info["reason"]


@pytest.mark.integration
def test_a_click_on_blank_page_fails_and_a_move_does_not_end_the_episode(click_word):
    click_word.reset(seed=4)
    _, _, terminated, _, _ = click_word.step(Action("move", x=1, y=208))
    assert not terminated
    _, reward, terminated, _, info = click_word.step(Action("click", x=1, y=208))
    assert (reward, terminated, info["reason"]) == (0.0, True, "clicked no item")


@pytest.mark.integration
def test_a_checkbox_counts_on_its_label_as_on_its_box(click_word):
    seed = next(
        s
        for s in range(200, 400)
        if (sc := synthetic.generate_screen(s)).items[sc.target].kind == "checkbox"
    )
    click_word.reset(seed=seed)
    screen = click_word.task.screen
    box = _item_box(click_word, screen.target)
    # the right end of the label is its word, away from the box
    _, reward, terminated, _, info = click_word.step(
        Action("click", x=int(box["right"]) - 2, y=_center(box)[1])
    )
    assert (reward, terminated, info["reason"]) == (1.0, True, "clicked the target")
    assert click_word.page.evaluate(
        "(i) => document.querySelector('[data-sp-item=\"' + i + '\"] input').checked",
        screen.target,
    )
