"""Command line of scripts/baseline.sh: jieba + TF-IDF + logistic regression on a data folder."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import json
import sys
from pathlib import Path

from classifier.flag_types import positive_float

from .cli_flags import command_parser


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        __doc__.split("\n\n")[0],
        [
            "scripts/baseline.sh --data_dir=data/demo",
            "scripts/baseline.sh --data_dir=$DATA_DIR --task_name=multilabel --split=test "
            "--output_file=baseline.json",
        ],
    )
    parser.add_argument("--data_dir", required=True, help="train.tsv and dev.tsv (as train.sh)")
    parser.add_argument(
        "--task_name", default="tsv", help="registered processor: tsv, pair, multilabel or yours"
    )
    parser.add_argument("--processor_file", help="a .py file (or module) registering a processor")
    parser.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether TSV files start with a header line",
    )
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
