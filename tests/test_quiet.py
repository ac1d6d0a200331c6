"""Commands start quietly: TensorFlow's C++ start-up lines and third-party deprecation
warnings are hidden unless debugging is asked for (scripts/quiet.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.quiet import debug_requested

ROOT = Path(__file__).resolve().parent.parent
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) ")


@pytest.mark.parametrize(
    "argv, environ, expected",
    [
        ([], {}, False),
        (["--output_dir=x"], {"ZH_TEXTCLF_LOG": "info"}, False),
        (["--verbose"], {}, True),
        (["--verbose=true"], {}, True),
        (["--verbose=false"], {}, False),
        (["--verbosity=debug"], {}, True),
        (["--verbosity", "debug"], {}, True),
        (["--verbosity", "info"], {}, False),
        ([], {"ZH_TEXTCLF_LOG": "DEBUG"}, True),
    ],
)
def test_debugging_is_asked_for_by_flag_or_environment(argv, environ, expected):
    assert debug_requested(argv, environ) is expected


def run_export(*extra: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    environ.pop("ZH_TEXTCLF_LOG", None)
    return subprocess.run(
        [sys.executable, "-m", "scripts.export", "--output_dir=/nonexistent/run"]
        + ["--export_dir=/nonexistent/export", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environ, **env},
    )


def test_a_command_that_loads_tensorflow_prints_only_its_own_lines():
    quiet = run_export()
    assert quiet.returncode == 2
    lines = quiet.stderr.strip().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), quiet.stderr
    assert "holds no trained classifier" in quiet.stderr
    debug = run_export(ZH_TEXTCLF_LOG="debug")
    assert debug.returncode == 2
    assert "holds no trained classifier" in debug.stderr
    noisy = [line for line in debug.stderr.splitlines() if not LOG_LINE.match(line)]
    assert noisy, "debug should show TensorFlow's start-up lines (this TensorFlow prints some)"


@pytest.mark.parametrize(
    "argv, level",
    [([], "info"), (["--verbosity=warning"], "warning"), (["--verbose"], "debug")],
)
def test_verbosity_flags_choose_the_log_level(argv, level):
    import argparse

    from scripts.cli_flags import add_verbosity, verbosity

    parser = argparse.ArgumentParser()
    add_verbosity(parser)
    assert verbosity(parser.parse_args(argv)) == level
