"""train.sh trains every adapter kind end to end on a tiny BERT, and the saved adapter plus
head, loaded onto the base checkpoint, predicts exactly what the run wrote.

Runs go three at a time; AdapterFusion runs last, over the Pfeiffer and AdapterDrop adapters
trained here (AdapterDrop has no adapter in layer 0, so fusion there has a single member).
AdapterDrop's sampled mode and the other options are covered in tests/test_adapters*.py.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

RUNS = {
    "houlsby": ["--adapter=houlsby", "--adapter_size=8"],
    "pfeiffer": ["--adapter=pfeiffer"],
    "lora_multilabel": [
        "--adapter=lora",
        "--adapter_size=4",
        "--lora_alpha=8",
        "--task_name=multilabel",
        f"--data_dir={ROOT / 'data' / 'demo_multilabel'}",
    ],
    "k_adapter": [
        "--adapter=k_adapter",
        "--adapter_size=16",
        "--k_adapter_transformer_layers=1",
        "--adapter_layers=0,1",
    ],
    "adapter_drop": ["--adapter=adapter_drop", "--adapter_drop_n=1"],
    "compacter": ["--adapter=compacter", "--adapter_size=8"],
}
PARALLEL = 3


def command(model_dir: Path, out: Path, extra: list[str]) -> list[str]:
    return [
        str(ROOT / "scripts" / "train.sh"),
        "--task_name=tsv",
        f"--data_dir={ROOT / 'data' / 'demo'}",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--model_dir={model_dir}",
        f"--output_dir={out}",
        "--num_train_epochs=1",
        "--max_seq_length=32",
        "--train_batch_size=64",
        "--learning_rate=5e-3",
        *extra,
    ]


def run_all(jobs: dict[str, list[str]], root: Path) -> dict[str, tuple[int, str]]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    results, pending, running = {}, list(jobs.items()), []
    while pending or running:
        while pending and len(running) < PARALLEL:
            name, cmd = pending.pop(0)
            log = open(root / f"{name}.log", "w")  # noqa: SIM115  (closed below)
            running.append(
                (name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
            )
        name, proc, log = running.pop(0)
        code = proc.wait(timeout=600)
        log.close()
        results[name] = (code, (root / f"{name}.log").read_text())
    return results


@pytest.fixture(scope="module")
def runs(demo_bert_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapter_train_sh")
    jobs = {name: command(demo_bert_dir, root / name, extra) for name, extra in RUNS.items()}
    results = run_all(jobs, root)
    members = f"--fusion_adapters={root / 'pfeiffer'},{root / 'adapter_drop'}"
    results.update(
        run_all(
            {"fusion": command(demo_bert_dir, root / "fusion", ["--adapter=fusion", members])}, root
        )
    )
    return root, results


def written_probabilities(path: Path, labels: list[str]) -> np.ndarray:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return np.array([[float(row[f"p({label})"]) for label in labels] for row in rows])


@pytest.mark.parametrize("name", [*RUNS, "fusion"])
def test_train_sh_trains_the_adapter_and_it_reloads_onto_the_base(name, runs, demo_bert_dir):
    from classifier.adapter_tasks import load_adapter
    from classifier.adapters import read_adapter_config
    from classifier.inference import predict_logits
    from classifier.trained_model import inference_model, load_trained_model
    from classifier.training.data import encode_examples
    from processors import get_processor

    root, results = runs
    code, log = results[name]
    assert code == 0, log[-4000:]
    out = root / name
    summary = json.loads((out / "train_summary.json").read_text())
    saved = read_adapter_config(out / "adapter")
    params = saved["parameters"]
    expected = params["adapter_trainable"] + params["backbone_trained"] + params["head"]
    assert summary["trainable_params"] == expected
    assert summary["backbone_params"] == params["backbone"]
    assert summary["trainable_percent_of_backbone"] == round(100 * expected / params["backbone"], 4)
    assert (
        summary["adapter"]["file_bytes"]
        == (out / "adapter" / "adapter_model.safetensors").stat().st_size
    )
    assert f"trainable parameters {expected} (" in log
    results_file = json.loads((out / "eval_results.json").read_text())
    print(f"\n[{name}] dev: {results_file.get('accuracy', results_file.get('micro_f1'))}")

    # the small adapter folder + the base checkpoint = the model that wrote the predictions
    model, spec = load_adapter(out / "adapter", demo_bert_dir)
    full, _ = load_trained_model(out)
    task = "multilabel" if name == "lora_multilabel" else "tsv"
    data_dir = ROOT / "data" / ("demo_multilabel" if task == "multilabel" else "demo")
    examples = get_processor(task)(str(data_dir)).get_test_examples()
    encoder = spec.text_encoder(Path(demo_bert_dir) / "vocab.txt")
    data = encode_examples(encoder, examples, spec, with_labels=False)
    logits = predict_logits(model, data, 64)
    np.testing.assert_array_equal(logits, predict_logits(full, data, 64))
    written = written_probabilities(out / "test_predictions.tsv", list(spec.labels))
    np.testing.assert_allclose(spec.head.probabilities(logits), written, atol=1e-6)
    if name.startswith("lora"):  # what export gets: LoRA merged into the kernels
        merged = predict_logits(inference_model(full, spec), data, 64)
        np.testing.assert_allclose(merged, logits, atol=1e-5)
