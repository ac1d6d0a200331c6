"""scripts/predict.sh as users run it: a REPL on a terminal, TSV from stdin or a file."""

from __future__ import annotations

import csv
import io
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from serving import Predictor

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

REPO = Path(__file__).resolve().parent.parent
PREDICT_SH = str(REPO / "scripts/predict.sh")
TEXTS = ["中超第6轮，浙江队5比0逆转武汉三镇", "央行宣布降准0.5个百分点", "", "好开心😀 naïve"]


@pytest.fixture(scope="module")
def multiclass(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def read_until(fd: int, buffer: bytearray, done, timeout: float = 180.0) -> None:
    """Reads the terminal into ``buffer`` until ``done(buffer)``."""
    deadline = time.monotonic() + timeout
    while not done(buffer):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, min(remaining, 1.0)))
        if remaining <= 0:
            raise AssertionError(f"timed out; the terminal showed {bytes(buffer)[-2000:]!r}")
        if ready:
            buffer += os.read(fd, 4096)


def test_repl_on_a_terminal_prints_label_and_score_per_line(serving_models, multiclass, tmp_path):
    """On a real terminal (a pty), as in the seed's test_serving.py: banner, prompt, one
    "label<TAB>score" line per text, q to quit."""
    master, slave = pty.openpty()
    with open(tmp_path / "stderr.log", "w") as stderr:
        proc = subprocess.Popen(
            [PREDICT_SH, "--export_dir", str(serving_models["multiclass"].export_dir)],
            stdin=slave,
            stdout=slave,
            stderr=stderr,
            close_fds=True,
        )
    os.close(slave)
    out = bytearray()
    try:
        for i, text in enumerate(TEXTS[:2]):
            read_until(master, out, lambda b, n=i + 1: b.count(b"> ") >= n)
            os.write(master, (text + "\n").encode("utf-8"))
        read_until(master, out, lambda b: b.count(b"> ") >= 3)
        os.write(master, b"q\n")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = out.decode("utf-8").replace("\r", "")
    assert "labels: 体育 财经 科技 娱乐" in text
    answers = [line.split("> ")[-1] for line in text.splitlines() if "\t" in line]
    expected = [multiclass.predict_one(t) for t in TEXTS[:2]]
    assert [a.split("\t")[0] for a in answers] == [p.label for p in expected]
    for answer, prediction in zip(answers, expected, strict=True):
        assert float(answer.split("\t")[1]) == pytest.approx(prediction.score, abs=1e-5)


def test_piped_stdin_gives_a_tsv(serving_models, multiclass):
    run = subprocess.run(
        [PREDICT_SH, "--export_dir", str(serving_models["multiclass"].export_dir)],
        input="".join(t + "\n" for t in TEXTS),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = list(csv.reader(io.StringIO(run.stdout), delimiter="\t"))
    assert rows[0] == [
        "text",
        "predicted_label",
        "probability",
        "p(体育)",
        "p(财经)",
        "p(科技)",
        "p(娱乐)",
    ]
    assert [r[0] for r in rows[1:]] == TEXTS
    for row, prediction in zip(rows[1:], multiclass.predict(TEXTS), strict=True):
        assert row[1] == prediction.label
        assert float(row[2]) == pytest.approx(prediction.score, abs=1e-5)
        assert [float(p) for p in row[3:]] == pytest.approx(
            list(prediction.probabilities.values()), abs=1e-5
        )


def test_input_file_to_output_file_for_pairs(serving_models, tmp_path):
    pair = Predictor.from_export_dir(serving_models["multilabel_pair"].export_dir)
    source = tmp_path / "pairs.txt"
    source.write_text("物流很快，隔天就到\t售后态度很差\n价格很良心\t\n", encoding="utf-8")
    target = tmp_path / "out.tsv"
    run = subprocess.run(
        [
            PREDICT_SH,
            "--export_dir",
            str(serving_models["multilabel_pair"].export_dir),
            "--version",
            "1",
            "--input_file",
            str(source),
            "--output_file",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == ""
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8")), delimiter="\t"))
    assert rows[0][:4] == ["text_a", "text_b", "predicted_labels", "probability"]
    expected = pair.predict(["物流很快，隔天就到", "价格很良心"], ["售后态度很差", ""])
    for row, prediction in zip(rows[1:], expected, strict=True):
        assert row[2] == "|".join(item.label for item in prediction.labels)
    assert not (tmp_path / "out.tsv.tmp").exists()


def test_a_missing_model_is_a_clear_error(tmp_path):
    run = subprocess.run(
        [PREDICT_SH, "--export_dir", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2
    assert "holds no SavedModel version" in run.stderr
