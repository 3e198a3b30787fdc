"""CLI manners: progress bars that suit a log, --quiet, --version, a closed pipe."""

import os
import subprocess

import screenpilot as package
from conftest import SCREENPILOT, screenpilot
from screenpilot import console


def _run_bar(capsys, **kwargs) -> str:
    bar = console.progress_bar(total=2000, desc="work", **kwargs)
    for i in range(2000):
        bar.update(1)
        bar.set_postfix(done=i, refresh=False)
    bar.close()
    return capsys.readouterr().err


def test_a_bar_written_to_a_log_redraws_rarely(capsys):
    # pytest's captured stderr is not a terminal: like `2> train.log`
    err = _run_bar(capsys)
    assert "2000/2000" in err
    assert err.count("\r") <= 3  # the first draw, the last, and nothing between


def test_quiet_turns_every_bar_off(capsys):
    console.set_quiet(True)
    try:
        assert _run_bar(capsys) == ""
    finally:
        console.set_quiet(False)
    assert _run_bar(capsys, disable=True) == ""


def test_version_and_quiet_anywhere_on_the_line():
    out = screenpilot("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"screenpilot {package.__version__}"
    for args in (["-q", "tasks"], ["tasks", "--quiet"], ["dataset", "info", "--help"]):
        assert screenpilot(*args).returncode == 0, args
    assert "--quiet" in screenpilot("dataset", "info", "--help").stdout


def test_a_closed_pipe_ends_quietly():
    # The reader is gone before the first write, as `| head -c 100` is gone after its
    # 100 bytes: the output meets a closed pipe however small it is.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = subprocess.run(
            [*SCREENPILOT, "tasks", "--json"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert out.returncode == 141
    assert out.stderr == ""
