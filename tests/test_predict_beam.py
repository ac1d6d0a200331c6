"""scripts/predict_beam.py on Beam's DirectRunner writes predict.sh's rows for the same lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, *flags: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", f"scripts.{module}", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=stdin,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize(
    ("model", "lines"),
    [
        (
            "multiclass",
            ["今天天气很好", "这家餐厅的菜太难吃了", "", "股票市场今天大涨，投资者非常高兴"],
        ),
        ("multilabel_pair", ["苹果发布了新款手机\t价格很高", "北京\t", "中国足球队\t获得了冠军"]),
    ],
)
def test_beam_rows_equal_predict_sh_rows(serving_models, model, lines, tmp_path):
    export_dir = str(serving_models[model].export_dir)
    inputs = tmp_path / "in"
    inputs.mkdir()
    half = len(lines) // 2
    (inputs / "a.txt").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    (inputs / "b.txt").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")

    expected = run(
        "predict",
        f"--export_dir={export_dir}",
        "--interactive=false",
        stdin="\n".join(lines) + "\n",
    ).stdout.splitlines()
    run(
        "predict_beam",
        f"--export_dir={export_dir}",
        f"--input={inputs}/*.txt",
        f"--output={tmp_path}/out/predictions",
        "--batch_size=2",
        "--runner=DirectRunner",
    )
    shards = sorted((tmp_path / "out").glob("predictions-*.tsv"))
    assert shards
    rows = []
    for shard in shards:
        header, *body = shard.read_text(encoding="utf-8").splitlines()
        assert header == expected[0]
        rows += body
    assert sorted(rows) == sorted(expected[1:])
    assert len(rows) == len(lines)


def test_a_missing_export_is_named_before_the_pipeline_starts(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scripts.predict_beam", f"--export_dir={tmp_path}/none"]
        + [f"--input={tmp_path}/x.txt", f"--output={tmp_path}/out"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(tmp_path / "none") in result.stderr
