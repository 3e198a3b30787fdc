"""env/ without a browser: spaces, action parsing, names, the sandbox's host filter, CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest

from screenpilot import env
from screenpilot.agent.cli import main as screenpilot
from screenpilot.dataset.actions import ACTION_TYPES, Action
from screenpilot.dataset.errors import ActionError, UserError
from screenpilot.env import spaces
from screenpilot.env.browser import host_allowed
from screenpilot.env.browser_env import to_action
from screenpilot.env.experts import ExpertPolicy, expert_tasks
from screenpilot.env.experts.base import NoExpertError
from screenpilot.env.registration import UnknownTaskError, make_task, parse_task_list

REQUIRED_EXPERTS = [
    "click-test",
    "click-test-2",
    "click-test-transfer",
    "click-button",
    "click-button-sequence",
    "click-link",
    "click-dialog",
    "click-dialog-2",
    "click-color",
    "click-shades",
    "click-shape",
    "click-widget",
    "click-option",
    "click-tab",
    "click-tab-2",
    "click-collapsible",
    "click-collapsible-2",
    "click-checkboxes",
    "click-checkboxes-large",
    "click-checkboxes-soft",
    "click-checkboxes-transfer",
    "click-menu",
    "click-pie",
    "click-scroll-list",
    "choose-list",
    "grid-coordinate",
    "identify-shape",
    "navigate-tree",
    "focus-text",
    "focus-text-2",
    "enter-text",
    "enter-text-2",
    "enter-text-dynamic",
    "enter-password",
    "enter-date",
    "login-user",
    "login-user-popup",
    "unicode-test",
    "use-autocomplete",
    "use-slider",
]


def test_every_miniwob_task_is_registered_with_gymnasium():
    import gymnasium as gym

    names = env.task_names()
    assert len([n for n in names if n.startswith("miniwob.")]) >= 100
    assert "miniwob.click-button" in names and "web" in names
    for name in names:
        assert env.gym_id(name) in gym.registry
    assert (
        gym.registry["screenpilot/miniwob.click-button-v0"].entry_point
        == "screenpilot.env.browser_env:BrowserEnv"
    )


def test_every_registration_carries_the_task_step_limit():
    import gymnasium as gym

    for info in env.task_infos():
        assert gym.spec(info.gym_id).max_episode_steps == info.default_max_steps
    assert gym.spec("screenpilot/miniwob.book-flight-v0").max_episode_steps == 40
    assert gym.spec("screenpilot/miniwob.click-test-v0").max_episode_steps == 12


@pytest.mark.parametrize(
    "code",
    [
        # Gymnasium 1.x's way to register on demand: the module before the colon is imported
        "import gymnasium as gym\ne = gym.make('screenpilot:screenpilot/miniwob.click-test-v0')",
        # after `import screenpilot`, whichever comes first, without importing screenpilot.env
        "import screenpilot, gymnasium as gym\ne = gym.make('screenpilot/miniwob.click-test-v0')",
        "import gymnasium as gym, screenpilot\ne = gym.make('screenpilot/miniwob.click-test-v0')",
    ],
)
def test_gym_make_works_in_a_fresh_interpreter(code, tmp_path):
    # The env is built (lazily: no browser starts before reset) and wrapped in a TimeLimit.
    code += "\nprint(type(e).__name__, e.spec.max_episode_steps, e.unwrapped.task.name)\ne.close()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["TimeLimit", "12", "miniwob.click-test"]


def test_importing_env_does_not_import_playwright():
    code = "import screenpilot.env, sys; print('playwright' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_task_is_a_user_error():
    with pytest.raises(UnknownTaskError, match="screenpilot tasks"):
        make_task("miniwob.no-such-task")
    with pytest.raises(NoExpertError):
        ExpertPolicy().reset("web")  # any page: nothing scripted knows it
    with pytest.raises(UserError, match="sandbox tasks only"):
        ExpertPolicy().reset(None)  # a web page or the desktop: nothing to read


def test_experts_exist_for_the_forty_required_tasks():
    assert {f"miniwob.{t}" for t in REQUIRED_EXPERTS} <= set(expert_tasks())


def test_experts_in_a_task_list_stands_for_every_miniwob_task_with_an_expert():
    benchmark = [t for t in expert_tasks() if t.startswith("miniwob.")]
    assert parse_task_list("experts") == benchmark
    assert "synthetic.click-word" in expert_tasks()  # a training aid, not the benchmark
    # Each task once, in the order given; spaces and empty items are ignored.
    assert parse_task_list(" miniwob.click-test, experts,,") == [
        "miniwob.click-test", *[t for t in benchmark if t != "miniwob.click-test"]
    ]  # fmt: skip
    assert parse_task_list("web,miniwob.click-link,web") == ["web", "miniwob.click-link"]
    with pytest.raises(UserError, match="no tasks"):
        parse_task_list(" , ")


def test_action_space_samples_become_actions():
    space = spaces.action_space(160, 210)
    space.seed(0)
    seen = set()
    for _ in range(500):
        action = to_action(space.sample())
        assert isinstance(action, Action)
        if action.point:
            assert 0 <= action.x < 160 and 0 <= action.y < 210
        seen.add(action.type)
    assert seen == set(ACTION_TYPES)


def test_every_accepted_action_form():
    click = Action(type="click", x=3, y=4)
    assert to_action(click) is click
    assert to_action({"type": "click", "x": 3, "y": 4}) == click
    assert to_action("click 3 4") == click
    for bad in ({"type": "click"}, "fly 1 2", 42, {"type": "explode", "x": 1}):
        with pytest.raises(ActionError):
            to_action(bad)


def test_observation_space_admits_any_task_text():
    space = spaces.observation_space(4, 3)
    obs = {"screenshot": np.zeros((3, 4, 3), np.uint8), "task": 'Click "确定" ♥ ÖK, ヘルプ!\n'}
    assert space.contains(obs)


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("file:///pages/x.html", frozenset(), True),
        ("data:text/plain,hi", frozenset(), True),
        ("http://example.com/", frozenset(), False),
        ("https://example.com/a", frozenset({"example.com"}), True),
        ("https://api.example.com/a", frozenset({"example.com"}), True),
        ("https://evilexample.com/", frozenset({"example.com"}), False),
        ("http://127.0.0.1:8000/", frozenset({"localhost"}), False),
    ],
)
def test_host_filter(url, allowed, ok):
    assert host_allowed(url, allowed) is ok


def test_tasks_verb_lists_names_and_details(capsys):
    assert screenpilot(["tasks"]) == 0
    lines = capsys.readouterr().out.split()
    assert "miniwob.click-button" in lines and "web" in lines
    assert screenpilot(["tasks", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    row = rows["miniwob.click-button"]
    assert {k: row[k] for k in ("name", "suite", "gym_id", "max_steps", "expert")} == {
        "name": "miniwob.click-button",
        "suite": "miniwob",
        "gym_id": "screenpilot/miniwob.click-button-v0",
        "max_steps": 12,
        "expert": True,
    }
    # The expert's measured figures: tests/env/test_expert_measure.py.
    assert {"expert_success", "expert_mean_steps", "expert_action_types"} <= set(row)
    assert rows["web"]["expert"] is False


class _RecordingFrames:
    """Stands in for PumpedFrames' transport: records what would be sent (the real
    browser path is covered by tests/env/test_env_browser.py)."""

    def __init__(self):
        self.sent = []

    def dispatch(self, commands, needs_frame=True, wait=True):
        self.sent.append((commands, needs_frame))


def _key_events(sent):
    return [(p["type"], p.get("key"), p.get("text"), p.get("modifiers")) for _, p in sent[0][0]]


def test_cdp_keyboard_types_like_playwrights_us_layout():
    from screenpilot.env.keyboard import CDPKeyboard

    frames = _RecordingFrames()
    CDPKeyboard(frames).type("aB\né")
    commands, needs_frame = frames.sent[0]
    assert not needs_frame  # key events are answered without a frame
    assert [(m, p.get("type"), p.get("key"), p.get("text")) for m, p in commands] == [
        ("Input.dispatchKeyEvent", "keyDown", "a", "a"),
        ("Input.dispatchKeyEvent", "keyUp", "a", None),
        ("Input.dispatchKeyEvent", "keyDown", "B", "B"),
        ("Input.dispatchKeyEvent", "keyUp", "B", None),
        ("Input.dispatchKeyEvent", "keyDown", "Enter", "\r"),
        ("Input.dispatchKeyEvent", "keyUp", "Enter", None),
        ("Input.insertText", None, None, "é"),  # no key for it on the layout
    ]
    assert commands[2][1]["code"] == "KeyB" and commands[2][1]["windowsVirtualKeyCode"] == 66


def test_cdp_keyboard_presses_combos_with_modifiers_around_the_key():
    from screenpilot.env.keyboard import CDPKeyboard

    frames = _RecordingFrames()
    keyboard = CDPKeyboard(frames)
    keyboard.press("Control+a")
    assert _key_events(frames.sent) == [
        ("rawKeyDown", "Control", None, 2),
        ("rawKeyDown", "a", None, 2),  # Control held: the key types nothing
        ("keyUp", "a", None, 2),
        ("keyUp", "Control", None, 0),
    ]
    frames.sent.clear()
    keyboard.press("Shift+=")
    assert _key_events(frames.sent)[1] == ("keyDown", "+", "+", 8)  # shift gives its face
    frames.sent.clear()
    keyboard.press("Shift++")
    assert _key_events(frames.sent)[1][1] == "+"
    with pytest.raises(ValueError):
        keyboard.press("Hyper+a")


def test_cdp_mouse_sends_one_batch_per_action_with_the_buttons_held():
    from screenpilot.env.mouse import CDPMouse

    frames = _RecordingFrames()
    mouse = CDPMouse(frames, run_script=None)
    mouse.click(10, 20)
    (commands, needs_frame), *_ = frames.sent
    assert needs_frame  # the page handles the click before the step's judging runs
    assert [
        (p["type"], p["x"], p["y"], p["buttons"], p.get("clickCount")) for _, p in commands
    ] == [
        ("mouseMoved", 10, 20, 0, None),
        ("mousePressed", 10, 20, 1, 1),
        ("mouseReleased", 10, 20, 0, 1),
    ]
    frames.sent.clear()
    mouse.down()
    mouse.move(30, 20, steps=2)  # a frame after each step: a drag handler sees the path
    assert [c[0][0][1]["x"] for c in frames.sent[1:]] == [20, 30]
    assert all(c[0][0][1]["buttons"] == 1 for c in frames.sent[1:])


def test_every_canonical_key_has_a_devtools_key_and_a_pyautogui_name():
    from screenpilot.dataset.actions import EDITING_COMBOS, SPECIAL_KEYS
    from screenpilot.env.keyboard import CDPKeyboard, combo_to_playwright
    from screenpilot.env.pyautogui_keys import PYAUTOGUI_NAMES, combo_to_pyautogui

    keyboard = CDPKeyboard(_RecordingFrames())
    for combo in (*SPECIAL_KEYS, *EDITING_COMBOS, "ctrl+shift+t", "meta+ArrowLeft"):
        keyboard.press(combo_to_playwright(combo))  # raises for a key it has no table row for
    assert combo_to_playwright("ctrl+shift+t") == "Control+Shift+t"
    assert combo_to_playwright("Space") == "Space" and combo_to_playwright("ctrl++") == "Control+="
    assert set(SPECIAL_KEYS) < set(PYAUTOGUI_NAMES)
    assert combo_to_pyautogui("ctrl+a") == ["ctrl", "a"]
    assert combo_to_pyautogui("shift+ArrowLeft") == ["shift", "left"]
    assert combo_to_pyautogui("Escape") == ["esc"]
    assert combo_to_pyautogui("meta+PageDown") == ["win", "pagedown"]


def test_a_human_pace_path_is_seeded_smooth_and_lands_on_the_target():
    from screenpilot.env.os_input import HumanPace

    path = HumanPace(seed=3).path((10, 10), (300, 200))
    assert path == HumanPace(seed=3).path((10, 10), (300, 200))
    assert path != HumanPace(seed=4).path((10, 10), (300, 200))
    assert path[-1][1:] == (300, 200)
    assert 0.08 <= sum(delay for delay, _, _ in path) <= 0.5
    steps = [abs(b[1] - a[1]) + abs(b[2] - a[2]) for a, b in zip(path, path[1:], strict=False)]
    assert max(steps) < 60  # no jumps: a pointer that travels
    assert HumanPace().path((5, 5), (5, 5)) == []
