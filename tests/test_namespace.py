"""One namespace: everything installs under ``screenpilot``; nothing else lands at the top of
site-packages; ``import screenpilot`` is cheap. Each check runs in a subprocess whose working
directory is not the repository, so the repository's own folders are not on sys.path."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ["dataset", "env", "model", "agent", "recorder"]  # install as screenpilot.<folder>
# pyproject's own line (tomllib is not in Python 3.10)
VERSION = re.search(r'^version = "(.+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)


def python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=120)  # fmt: skip


IMPORT_EACH = """
import importlib, json
seen = {}
for name in %r:
    try:
        importlib.import_module(name)
        seen[name] = "imported"
    except ImportError as e:
        seen[name] = type(e).__name__
    seen["screenpilot." + name] = importlib.import_module("screenpilot." + name).__name__
print(json.dumps(seen))
"""


def test_folders_import_only_under_screenpilot(tmp_path):
    out = python(IMPORT_EACH % FOLDERS, tmp_path)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    for name in FOLDERS:
        assert seen[name] == "ModuleNotFoundError"  # `import dataset` is someone else's
        assert seen[f"screenpilot.{name}"] == f"screenpilot.{name}"


def test_the_installed_files_stay_inside_the_namespace(tmp_path):
    # From tmp_path: in the repository, the source tree's egg-info would answer instead.
    code = ("from importlib.metadata import distribution; import json; d = distribution('screenpilot');"
            "print(json.dumps([d.read_text('top_level.txt'), [str(f) for f in d.files]]))")  # fmt: skip
    out = python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    top_level, files = json.loads(out.stdout)
    assert top_level.split() == ["screenpilot"]
    # The RECORD: everything the install put in site-packages (and its console script).
    allowed = ("screenpilot/", "screenpilot-", "__editable__", "__pycache__/__editable__")
    assert files and all(f.startswith(allowed) or f.endswith("/bin/screenpilot") for f in files)


@pytest.mark.integration  # builds a wheel: what a plain `pip install` would unpack
def test_the_wheel_holds_only_the_screenpilot_package(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    for folder in ["screenpilot", *FOLDERS]:
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("screenpilot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"screenpilot", f"screenpilot-{VERSION}.dist-info"}  # fmt: skip
    # Every module of every folder made it in (a subpackage missing from pyproject's list
    # would install a screenpilot that fails on import).
    for folder in FOLDERS:
        for module in (REPO / folder).rglob("*.py"):
            assert f"screenpilot/{folder}/{module.relative_to(REPO / folder)}" in names, module


def test_import_screenpilot_is_cheap_and_version_is_printed(tmp_path):
    heavy = ["torch", "transformers", "playwright", "gymnasium", "av"]
    out = python(f"import screenpilot, sys; print(screenpilot.__version__, "
                 f"[m for m in {heavy!r} if m in sys.modules])", tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=1) == [VERSION, "[]\n"]
    console = Path(sys.executable).parent / "screenpilot"
    out = subprocess.run([console, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"screenpilot {VERSION}"
