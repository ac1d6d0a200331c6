"""Every command's --help answers without loading TensorFlow (or Keras, scikit-learn), shows each
default once (never "None"), each number's range, and examples (issue 24, item 2)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "sklearn", "torch", "transformers", "jieba")


def command_modules() -> list[str]:
    """The modules behind the console commands pyproject.toml installs (zh-textclf-*)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return sorted({target.split(":")[0].rsplit(".", 1)[-1] for target in scripts.values()})


COMMANDS = command_modules() + ["predict_beam"]

PROBE = """
import contextlib, io, json, sys
import scripts.{name} as command
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        command.main(["--help"])
        code = None
    except SystemExit as stop:
        code = stop.code
print(json.dumps({{"code": code, "help": out.getvalue(),
                  "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize("name", COMMANDS)
def test_help_needs_no_tensorflow(name):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = PROBE.format(name=name, heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["heavy"] == [], f"{name} --help imported {result['heavy']}"
    text = result["help"]
    assert "examples:" in text, f"{name} --help shows no examples"
    examples = text.split("examples:")[1]
    assert f"scripts/{name}" in examples or f"scripts.{name}" in examples
    assert "default: None" not in text and "(default: None)" not in text


@pytest.mark.parametrize("name", COMMANDS)
def test_every_flag_has_help_and_its_default_once(name):
    parser = importlib.import_module(f"scripts.{name}").build_parser()
    formatter = parser._get_formatter()
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        flag = action.option_strings[-1]
        assert action.help, f"{name}: {flag} has no help"
        entry = formatter._expand_help(action)  # the help text --help prints for the flag
        assert entry.lower().count("default") <= 1, f"{name}: {flag} says its default twice"
        shown = action.default not in (None, False, "", [], ())
        if shown and not action.required:
            assert "default" in entry.lower(), f"{name}: {flag} hides its default"
        bounds = getattr(action.type, "bounds", "")
        if bounds and "range" not in action.help:
            assert f"range: {bounds}" in entry, f"{name}: {flag} does not show {bounds}"


def test_help_shows_the_default_and_range_of_a_number():
    parser = importlib.import_module("scripts.train").build_parser()
    text = " ".join(parser.format_help().split())
    assert "--max_seq_length MAX_SEQ_LENGTH tokens per text" in text
    assert "(default: 128; range: >= 3 and <= 512)" in text
    assert "usage: " in text and "--output_dir=OUTPUT_DIR [options]" in text


def test_a_shell_command_answers_help_with_its_own_name():
    done = subprocess.run(
        [str(ROOT / "scripts" / "predict.sh"), "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "usage: scripts/predict.sh (--export_dir=EXPORT_DIR | --run_dir=RUN_DIR) [options]"
    )
    assert done.stderr == ""
