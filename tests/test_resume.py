"""train.sh killed with SIGKILL at any moment resumes, when rerun, to the uninterrupted result.

Each kill is delivered from inside the process at an exact moment (tests/support/killed_run):
mid-epoch, during a dev evaluation, and while the final files are written. The resumed run
must end with the dev results and test predictions of a run never interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
STEPS_PER_EPOCH = 19  # 600 demo rows, batches of 32
EPOCHS = 3


def flags(out: Path, model_dir: Path, data_dir: Path = ROOT / "data" / "demo") -> list[str]:
    return [
        "--task_name=tsv",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data_dir}",
        f"--model_dir={model_dir}",
        f"--output_dir={out}",
        f"--num_train_epochs={EPOCHS}",
        "--train_batch_size=32",
        "--max_seq_length=48",
        "--learning_rate=2e-3",
        "--save_checkpoints_steps=7",
        "--keep_checkpoints=2",
    ]


def train(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        [str(ROOT / "scripts" / "train.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def killed(moment: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", moment, "scripts.train", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert result.returncode == -9, f"not killed at {moment}: {result.stderr[-2000:]}"
    return result


def outcome(out: Path) -> dict:
    summary = json.loads((out / "train_summary.json").read_text())
    return {
        "eval": json.loads((out / "eval_results.json").read_text()),
        "predictions": (out / "test_predictions.tsv").read_text(),
        "dev_history": summary["dev_history"],
        "best_epoch": summary["best_epoch"],
        "steps_done": summary["steps_done"],
        "config": json.loads((out / "classifier_config.json").read_text()),
        # The interrupted epoch's training loss covers all its batches (the part before the
        # kill is carried in the checkpoint); merged as a batch-weighted mean, so equal to
        # rounding (the epoch's last batch is smaller than the others).
        "train_loss_history": [round(loss, 4) for loss in summary["train_loss_history"]],
    }


@pytest.fixture(scope="module")
def uninterrupted(demo_bert_dir, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("resume") / "whole"
    result = train(*flags(out, demo_bert_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from_step"] == 0 and summary["resumes"] == []
    assert summary["steps_done"] == STEPS_PER_EPOCH * EPOCHS
    assert json.loads((out / "run.json").read_text())["finished"] is True
    return outcome(out)


@pytest.mark.parametrize(
    ("moment", "resumed_from"),
    [
        ("batch:26", 21),  # mid-epoch 2: the checkpoint of step 21 is the latest
        ("dev:2", 35),  # during epoch 2's dev evaluation: back to step 35, epoch 2 re-judged
        ("write:model.weights.h5", 57),  # all steps done: only the final files are redone
        ("write:test_predictions.tsv", 57),
    ],
)
def test_a_killed_run_resumes_to_the_uninterrupted_result(
    moment, resumed_from, uninterrupted, demo_bert_dir, tmp_path
):
    out = tmp_path / "run"
    killed(moment, *flags(out, demo_bert_dir))
    assert json.loads((out / "run.json").read_text())["finished"] is False

    result = train(*flags(out, demo_bert_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from step {resumed_from} of 57" in result.stderr
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from_step"] == resumed_from
    assert summary["resumes"] == [resumed_from]
    assert outcome(out) == uninterrupted  # CPU kernels here are deterministic: exactly equal
    assert not list(out.rglob("*.tmp")), "a killed write's temporary file was left behind"
    assert not (out / "checkpoints").exists()  # a finished run keeps no checkpoints

    again = train(*flags(out, demo_bert_dir))
    assert again.returncode == 2 and "holds a finished run" in again.stderr


def test_an_unfinished_run_of_other_settings_or_data_is_refused(demo_bert_dir, tmp_path):
    out = tmp_path / "run"
    killed("batch:10", *flags(out, demo_bert_dir))
    before = sorted(p.name for p in out.iterdir())

    other_rate = [
        f if "learning_rate" not in f else "--learning_rate=1e-3" for f in flags(out, demo_bert_dir)
    ]
    refused = train(*other_rate)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "unfinished run of another configuration" in refused.stderr
    assert "learning_rate" in refused.stderr and "Traceback" not in refused.stderr

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    rows = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "train.tsv").write_text("".join(rows[1:]), encoding="utf-8")
    refused = train(*flags(out, demo_bert_dir, data))
    assert refused.returncode == 2
    assert "train_data_sha256" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written by a refusal

    # Checkpoint settings may change between a run and its resume.
    moved = [*flags(out, demo_bert_dir)[:-2], "--save_checkpoints_steps=5"]
    resumed = train(*moved)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from step 7 of 57" in resumed.stderr
