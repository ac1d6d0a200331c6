"""tf.distribute: two replicas on two logical CPU devices (MirroredStrategy) and two worker
processes on 127.0.0.1 (MultiWorkerMirroredStrategy, TF_CONFIG) train to the weights of one
device with the same global batch; gradient accumulation equals a larger batch.

Dropout is off in these runs, so replicas and the single device compute the same function and
only the order of float sums differs: weights agree within 2e-5 after the run's steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 2e-5


def flags(model_dir: Path, out: Path, batch: int, *extra: str) -> list[str]:
    return [
        "--do_train",
        f"--data_dir={ROOT / 'data' / 'demo'}",
        f"--model_dir={model_dir}",
        f"--output_dir={out}",
        "--num_train_epochs=0.5",  # 600 rows, global batch 32: 19 steps per epoch, 10 run
        "--max_seq_length=48",
        "--learning_rate=2e-3",
        "--head_dropout=0",
        "--calibration=none",
        f"--train_batch_size={batch}",
        *extra,
    ]


@pytest.fixture(scope="module")
def no_dropout_bert(tmp_path_factory) -> Path:
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    texts = [
        (ROOT / "data/demo" / f"{s}.tsv").read_text(encoding="utf-8") for s in ("train", "dev")
    ]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = dataclasses.replace(
        tiny_bert_config(len(vocab), num_layers=2, hidden_size=32),
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return write_google_bert_folder(tmp_path_factory.mktemp("bert"), vocab, config, seed=3)


def run(*args: str, env: dict | None = None, devices: int = 1) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tests.support.cpu_devices", str(devices), "scripts.train"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        timeout=600,
    )


def weights(out: Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(out / "model.weights.h5", "r") as handle:
        handle.visititems(
            lambda name, item: (
                found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        )
    return found


def assert_close(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
    assert worst < TOLERANCE, f"largest weight difference {worst}"
    return worst


@pytest.fixture(scope="module")
def single_device(no_dropout_bert, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("single") / "run"
    result = run(*flags(no_dropout_bert, out, 32))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["total_steps"] == 10
    return weights(out)


@pytest.mark.slow
def test_mirrored_over_two_devices_matches_one_device_and_resumes(
    no_dropout_bert, single_device, tmp_path
):
    out = tmp_path / "mirrored"
    result = run(*flags(no_dropout_bert, out, 16, "--distribution_strategy=mirrored"), devices=2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "batch 16 per replica x 2 replicas, 10 steps" in result.stderr
    assert_close(weights(out), single_device)

    resumed_out = tmp_path / "resumed"
    resumed = flags(
        no_dropout_bert,
        resumed_out,
        16,
        "--distribution_strategy=mirrored",
        "--save_checkpoints_steps=4",
    )
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", "batch:6"]
        + ["tests.support.cpu_devices", "2", "scripts.train", *resumed],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    result = run(*resumed, devices=2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from step 4 of 10" in result.stderr
    again, whole = weights(resumed_out), weights(out)
    assert max(float(np.max(np.abs(again[k] - whole[k]))) for k in whole) < 1e-6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_match_one_device_and_only_the_chief_writes(
    no_dropout_bert, single_device, tmp_path
):
    out = tmp_path / "cluster"
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    command = [sys.executable, "-m", "scripts.train"]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "2"}
        processes.append(
            subprocess.Popen(
                [
                    *command,
                    *flags(no_dropout_bert, out, 16, "--distribution_strategy=multi_worker"),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
    assert "batch 16 per replica x 2 replicas, 10 steps" in outputs[0][1]
    assert_close(weights(out), single_device)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps_done"] == 10
    assert not [p for p in out.iterdir() if p.name.startswith("classifier_worker")]


def test_gradient_accumulation_equals_a_larger_batch():
    """Two accumulated batches of 8 make the update of one batch of 16 (AdamW, clipping,
    weight decay and the warmup schedule included)."""
    import keras

    from classifier.training.optimizer import create_optimizer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")

    def trained(batch: int, accumulate: int) -> list[np.ndarray]:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
        optimizer = create_optimizer(
            1e-2,
            total_steps=4 * accumulate,
            warmup_proportion=0.5,
            clip_norm=1.0,
            gradient_accumulation_steps=accumulate,
        )
        model.compile(optimizer=optimizer, loss="mse")
        data = np.concatenate([x] * 4), np.concatenate([y] * 4)
        model.fit(*data, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        return model.get_weights()

    for a, b in zip(trained(8, 2), trained(16, 1), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def pretrain_flags(model_dir: Path, corpus: Path, out: Path, batch: int, *extra: str) -> list[str]:
    return [
        f"--input_file={corpus}",
        f"--model_dir={model_dir}",
        f"--output_dir={out}",
        "--num_train_steps=6",
        "--save_checkpoints_steps=3",
        "--max_seq_length=64",
        "--learning_rate=1e-3",
        "--eval_fraction=0.1",
        f"--train_batch_size={batch}",
        *extra,
    ]


@pytest.mark.slow
def test_pretraining_mirrored_over_two_devices_matches_one_device(no_dropout_bert, tmp_path):
    import tensorflow as tf

    corpus = tmp_path / "corpus.txt"
    lines = (ROOT / "data/demo/train.tsv").read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(line.split("\t")[1] for line in lines) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "tests.support.cpu_devices"]
    outputs = []
    for devices, batch, extra in ((1, 16, []), (2, 8, ["--distribution_strategy=mirrored"])):
        out = tmp_path / f"out_{devices}"
        result = subprocess.run(
            [*command, str(devices), "scripts.pretrain"]
            + pretrain_flags(no_dropout_bert, corpus, out, batch, *extra),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(tf.train.load_checkpoint(str(out / "bert_model.ckpt")))
    one, two = outputs
    names = [n for n in one.get_variable_to_shape_map() if "adam" not in n.lower()]
    worst = max(float(np.max(np.abs(one.get_tensor(n) - two.get_tensor(n)))) for n in names)
    # Adam moves every weight by about the learning rate (1e-3) whatever its gradient's size,
    # so float-order noise in near-zero MLM gradients shows more than in fine-tuning.
    assert worst < 1e-4, f"largest weight difference {worst}"
