"""The two learners the data-tool benchmarks train, each through its command as a user runs it.

  tfidf  scripts/baseline.sh: jieba words, TF-IDF, logistic regression (seconds on a CPU)
  model  scripts/train.sh fine-tuning a BERT folder (the benchmarks' small random one unless
         given a checkpoint): dev-selected epoch, calibrated on dev (minutes)

Both are trained on a data folder's train.tsv and scored on its test.tsv, so that a figure
differs from another only by the training rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from common import run_script

LEARNERS = ("tfidf", "model")


@dataclass(frozen=True)
class FineTuning:
    """train.sh's settings for the ``model`` learner."""

    model_dir: Path
    epochs: float
    learning_rate: float
    max_seq_length: int = 128


def learner_accuracy(
    learner: str, data: Path, out: Path, seed: int, fine_tuning: FineTuning | None = None
) -> float:
    """Test accuracy of ``learner`` trained on ``data``; its files go to the folder ``out``."""
    if learner == "tfidf":
        out.mkdir(parents=True, exist_ok=True)
        report = out / "baseline.json"
        run_script("baseline", f"--data_dir={data}", "--split=test", f"--output_file={report}")
        return json.loads(report.read_text(encoding="utf-8"))["accuracy"]
    if fine_tuning is None:
        raise ValueError("the model learner needs its FineTuning settings")
    fine_tune(data, out, seed, fine_tuning)
    return json.loads((out / "test_results.json").read_text(encoding="utf-8"))["accuracy"]


def fine_tune(data: Path, out: Path, seed: int, settings: FineTuning) -> Path:
    """train.sh on ``data`` into the run folder ``out`` (test predictions included)."""
    run_script(
        "train",
        "--task_name=tsv",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data}",
        f"--model_dir={settings.model_dir}",
        f"--output_dir={out}",
        "--overwrite",
        f"--learning_rate={settings.learning_rate}",
        f"--num_train_epochs={settings.epochs}",
        f"--max_seq_length={settings.max_seq_length}",
        f"--seed={seed}",
    )
    return out
