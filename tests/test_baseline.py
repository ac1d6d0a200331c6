"""scripts/baseline.sh: jieba + TF-IDF + logistic regression, the quick baseline to beat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import processors
from classifier.baseline import jieba_words, tfidf_baseline

ROOT = Path(__file__).resolve().parent.parent


def test_jieba_cuts_words_not_characters():
    assert jieba_words("今天天气很好 NBA") == ["今天天气", "很", "好", "nba"]


def test_demo_topics_are_learned():
    task = processors.get_processor("tsv")(ROOT / "data" / "demo")
    report = tfidf_baseline(task.get_train_examples(), task.get_dev_examples(), task.get_labels())
    assert report["accuracy"] > 0.9
    assert report["num_examples"] == 120
    assert report["fit_seconds"] > 0 and report["predict_examples_per_second"] > 0


def test_multilabel_reports_micro_f1():
    task = processors.get_processor("multilabel")(ROOT / "data" / "demo_multilabel")
    report = tfidf_baseline(
        task.get_train_examples(), task.get_dev_examples(), task.get_labels(), multilabel=True
    )
    assert report["micro_f1"] > 0.8
    assert set(report["thresholds"].values()) == {0.5}


@pytest.mark.slow
def test_script_writes_the_report_without_loading_tensorflow(tmp_path):
    out = tmp_path / "baseline.json"
    code = (
        "import sys\n"
        "from scripts.baseline import main\n"
        f"assert main(['--data_dir', 'data/demo', '--output_file', {str(out)!r}]) == 0\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(out.read_text())["accuracy"] > 0.9


@pytest.mark.slow
def test_bad_data_dir_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "baseline.sh"), "--data_dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "train.tsv not found" in result.stderr
