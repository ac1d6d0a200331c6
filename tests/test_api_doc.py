"""docs/api.md's example runs as written (the Python API a new user starts from)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains and exports a tiny model

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_the_documented_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "FineTuner(model_dir" in b)
    exec(compile(example, str(DOC), "exec"), {"__name__": "api_example"})
    printed = [line for line in capsys.readouterr().out.splitlines() if "/step" not in line]
    printed = [line for line in printed if not line.startswith("Epoch ")]  # Keras' progress
    classes = next(line for line in printed if line.startswith("["))
    assert classes.startswith("['体育', '科技', '财经']")
    assert float(classes.split()[-1]) > 0.5  # dev accuracy of the tiny model
    assert printed[-1] in ("体育", "科技", "财经")
