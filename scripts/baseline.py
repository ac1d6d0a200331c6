"""Command line of scripts/baseline.sh: jieba + TF-IDF + logistic regression on a data folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from classifier.flag_types import positive_float


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data_dir", required=True, help="train.tsv and dev.tsv (as train.sh)")
    parser.add_argument("--task_name", default="tsv")
    parser.add_argument("--processor_file")
    parser.add_argument("--header", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="where to report")
    parser.add_argument("--output_file", help="write the report as JSON here")
    parser.add_argument(
        "--C", type=positive_float, default=4.0, help="inverse regularisation strength"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    import processors
    from classifier.baseline import tfidf_baseline

    if args.processor_file:
        processors.load_processor_plugin(args.processor_file)
    header = {"auto": "auto", "yes": True, "no": False}[args.header]
    from classifier.files import refuse_writing_over_inputs

    try:
        task = processors.get_processor(args.task_name)(args.data_dir, header=header)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)],
            [
                ("--data_dir", Path(args.data_dir) / name)
                for name in (task.train_file, task.dev_file, task.test_file, task.labels_file)
            ],
        )
        train = task.get_train_examples()
        evaluate = getattr(task, f"get_{args.split}_examples")()
        labels = task.get_labels()
    except (processors.DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = tfidf_baseline(train, evaluate, labels, multilabel=task.is_multilabel, c=args.C)
    figures = [k for k in ("accuracy", "macro_f1", "micro_f1", "samples_f1") if k in report]
    print(
        f"jieba + TF-IDF + logistic regression on {args.split} ({report['num_examples']} "
        f"examples): "
        + ", ".join(f"{k} {report[k]:.4f}" for k in figures)
        + f"; fit {report['fit_seconds']:.1f}s on {len(train)} examples, predict "
        f"{report['predict_examples_per_second']:.0f} examples/s"
    )
    if args.output_file:
        Path(args.output_file).write_text(
            json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
