"""scripts/*.sh on a fresh clone: the first run sets up .venv (through scripts/setup_env.sh)
before the command, with the installer's lines on stderr; a failed setup says in one line what
to run; an explicit $PYTHON is used as given (issue 24, item 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Stands in for scripts/setup_env.sh: records its argument, then "installs" by linking the
# running interpreter as .venv/bin/python and writing the stamp the real one writes.
FAKE_SETUP = """#!/usr/bin/env bash
set -euo pipefail
ROOT="$(cd "$(dirname "${{BASH_SOURCE[0]}}")/.." && pwd)"
echo "$1" >> "$ROOT/setup_calls.txt"
echo "installing $1 into .venv"
{fail}
mkdir -p "$ROOT/.venv/bin"
ln -sf {python} "$ROOT/.venv/bin/python"
echo hash > "$ROOT/.venv/.installed-$1"
"""


def fresh_clone(tmp_path: Path, fail: bool = False) -> Path:
    clone = tmp_path / "clone"
    shutil.copytree(
        ROOT / "scripts", clone / "scripts", ignore=shutil.ignore_patterns("__pycache__")
    )
    for package in ("classifier", "processors", "serving", "export"):
        (clone / package).symlink_to(ROOT / package)
    setup = clone / "scripts" / "setup_env.sh"
    setup.write_text(FAKE_SETUP.format(python=sys.executable, fail="exit 3" if fail else ""))
    setup.chmod(0o755)
    return clone


def run(clone: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "PYTHONPATH")}
    environment.update(env)
    return subprocess.run(
        [str(clone / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=clone,
    )


def test_first_run_sets_up_venv_then_runs_the_command(tmp_path):
    clone = fresh_clone(tmp_path)
    done = run(clone, "predict.sh", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: scripts/predict.sh")  # stdout: the command's only
    assert "first run: setting up" in done.stderr and "installing requirements.txt" in done.stderr
    assert (clone / "setup_calls.txt").read_text().split() == ["requirements.txt"]
    again = run(clone, "train.sh", "--help")  # set up once
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert (clone / "setup_calls.txt").read_text().split() == ["requirements.txt"]


def test_beam_needs_its_own_requirements(tmp_path):
    clone = fresh_clone(tmp_path)
    assert run(clone, "train.sh", "--help").returncode == 0
    done = run(clone, "predict_beam.sh", "--help")
    assert done.returncode == 0, done.stderr
    calls = (clone / "setup_calls.txt").read_text().split()
    assert calls == ["requirements.txt", "requirements-beam.txt"]


def test_a_failed_setup_says_what_to_run(tmp_path):
    clone = fresh_clone(tmp_path, fail=True)
    done = run(clone, "export.sh", "--help")
    assert done.returncode == 1
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("export.sh: could not set up .venv; run scripts/setup_env.sh")


def test_an_explicit_python_is_used_as_given(tmp_path):
    clone = fresh_clone(tmp_path)
    done = run(clone, "serve.sh", "--help", PYTHON=sys.executable)
    assert done.returncode == 0, done.stderr
    assert not (clone / "setup_calls.txt").exists()


@pytest.mark.parametrize("name", ["make_tiny_checkpoint", "train", "flag_docs"])
def test_a_command_runs_as_a_file(tmp_path, name):
    """``python scripts/<name>.py`` works as ``python -m scripts.<name>`` does, from anywhere."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / f"{name}.py"), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_every_command_file_starts_with_the_file_run_lines():
    for path in sorted((ROOT / "scripts").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if 'if __name__ == "__main__":' not in lines:
            continue
        shim = next(i for i, line in enumerate(lines) if "import _run_as_module" in line)
        first = next(
            i
            for i, line in enumerate(lines)
            if line.startswith(("import ", "from ")) and "__future__" not in line
        )
        assert shim < first, f"{path}: the file-run lines must come before its imports"
