"""train.sh fine-tunes every family end to end from a folder with no format flags.

One tiny folder per family: Google BERT TF1, and brightmart's pre-LN albert_zh for ALBERT (the
ALBERT path with the most that differs: embedding layout, pre-LN, one block run at every layer;
the layout must survive into classifier_config.json for --do_eval to rebuild the model). Google
ALBERT and Hugging Face folders reach the same AlbertBackbone / BertBackbone through
load_pretrained (tests/test_albert_parity.py, tests/test_hf_parity.py, tests/test_presets.py).
The runs go in parallel to keep CI time down.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.samples import CHINESE_SAMPLES

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("google_bert_tf1", "brightmart_albert_tf1_preln")

pytestmark = pytest.mark.slow


def write_tsv(folder: Path) -> None:
    """40 train and 12 dev rows of two labels, from characters the tiny vocab knows."""
    folder.mkdir(parents=True, exist_ok=True)
    good, bad = CHINESE_SAMPLES[0], CHINESE_SAMPLES[1]
    for split, n in (("train", 40), ("dev", 12)):
        rows = [
            f"{'pos' if i % 2 else 'neg'}\t{(good if i % 2 else bad)[: 6 + i % 5]}{i}"
            for i in range(n)
        ]
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def runs(zoo_dirs, tmp_path_factory):
    root = tmp_path_factory.mktemp("train_sh")
    write_tsv(root / "data")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    procs = {}
    for variant in VARIANTS:
        out = root / f"out_{variant}"
        cmd = [
            str(ROOT / "scripts" / "train.sh"),
            "--task_name=tsv",
            "--do_train",
            "--do_eval",
            f"--data_dir={root / 'data'}",
            f"--model_dir={zoo_dirs[variant]}",
            f"--output_dir={out}",
            "--num_train_epochs=1",
            "--max_seq_length=32",
            "--train_batch_size=16",
        ]
        log = open(root / f"{variant}.log", "w")  # noqa: SIM115  (closed below)
        procs[variant] = (
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env),
            log,
            out,
        )
    results = {}
    for variant, (proc, log, out) in procs.items():
        code = proc.wait(timeout=600)
        log.close()
        results[variant] = (code, out, (root / f"{variant}.log").read_text())
    return results


@pytest.mark.parametrize("variant", VARIANTS)
def test_train_sh_fine_tunes(runs, variant):
    code, out, log = runs[variant]
    assert code == 0, log[-3000:]
    results = json.loads((out / "eval_results.json").read_text())
    assert results["num_examples"] == 12
    spec = json.loads((out / "classifier_config.json").read_text())
    family = "bert" if "bert_" in variant and "albert" not in variant else "albert"
    assert spec["model"]["family"] == family
    assert spec["base_model"]["scheme"] in log
    if "brightmart" in variant:
        assert spec["model"]["embedding_layout"] == "brightmart"
        assert spec["model"]["ln_type"] == "preln"
