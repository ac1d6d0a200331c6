"""Command line of scripts/baseline.sh: jieba + TF-IDF + logistic regression on a data folder."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import sys
from pathlib import Path

from classifier.flag_types import positive_float

from .cli_flags import add_processor_arguments, command_parser

# What marks a train.sh run folder (its run record, its model's spec): the baseline's reports
# there would replace the fine-tuned model's own.
RUN_FOLDER_FILES = ("run.json", "classifier_config.json")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        __doc__.split("\n\n")[0],
        [
            "scripts/baseline.sh --data_dir=data/demo --output_dir=output/demo_baseline",
            "scripts/baseline.sh --data_dir=$DATA_DIR --task_name=multilabel --split=test "
            "--output_file=baseline.json",
        ],
    )
    parser.add_argument("--data_dir", required=True, help="train.tsv and dev.tsv (as train.sh)")
    add_processor_arguments(
        parser,
        "tsv, pair, multilabel, hierarchical or yours",
        "TSV files start with a header line",
    )
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="where to report")
    parser.add_argument(
        "--output_dir",
        help="write the split's reports here, as train.sh --do_eval does: eval_results.json, "
        "classification_report.txt, confusion_matrix.csv/.png (multiclass), "
        "reliability_diagram.png, error_analysis.md, and dev_predictions.tsv "
        "(--split=test: test_results.json, test_classification_report.txt, ..., "
        "test_predictions.tsv)",
    )
    parser.add_argument("--output_file", help="write the report as JSON here")
    parser.add_argument(
        "--C", type=positive_float, default=4.0, help="inverse regularisation strength"
    )
    return parser


def open_output_dir(path: str) -> Path:
    """Creates --output_dir before the fit, so that a folder that cannot hold the reports fails
    at once, naming the flag; refuses a train.sh run folder."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output_dir={path} is a file, not a folder")
    for name in RUN_FOLDER_FILES:
        if (folder / name).is_file():
            raise ValueError(
                f"--output_dir={path} holds a train.sh run ({name}): the baseline's reports "
                "would replace the fine-tuned model's; choose another --output_dir"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--output_dir={path} cannot be created: {err.strerror or err}") from None
    return folder


def _stamp(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, None when absent: an atomic write changes it, so the summary
    names the files this run wrote and not those an earlier run left in the folder."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    import processors
    from classifier.baseline import fit_and_predict
    from classifier.files import refuse_writing_over_inputs, write_json
    from classifier.heads import head_kind_of, make_head
    from classifier.split_reports import report_file_names, write_predictions, write_split_reports

    if args.processor_file:
        processors.load_processor_plugin(args.processor_file)
    header = {"auto": "auto", "yes": True, "no": False}[args.header]
    try:
        task = processors.get_processor(args.task_name)(args.data_dir, header=header)
        data_files = (task.train_file, task.dev_file, task.test_file, task.labels_file)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file), ("--output_dir", args.output_dir)],
            [("--data_dir", args.data_dir)]
            + [("--data_dir", Path(args.data_dir) / name) for name in data_files],
        )
        kind = head_kind_of(task)
        train = task.get_train_examples()
        evaluate = getattr(task, f"get_{args.split}_examples")()
        labels = task.get_labels()
        if not make_head(kind, labels).has_labels(evaluate):
            split_file = task.dev_file if args.split == "dev" else task.test_file
            raise ValueError(f"--split={args.split}: {split_file} has no labelled rows to score")
        out = open_output_dir(args.output_dir) if args.output_dir else None
    except (processors.DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run = fit_and_predict(train, evaluate, labels, c=args.C, kind=kind)
    report = run.report()
    figures = [k for k in ("accuracy", "macro_f1", "micro_f1", "samples_f1") if k in report]
    print(
        f"jieba + TF-IDF + logistic regression on {args.split} ({report['num_examples']} "
        f"examples): "
        + ", ".join(f"{k} {report[k]:.4f}" for k in figures)
        + f"; fit {report['fit_seconds']:.1f}s on {len(train)} examples, predict "
        f"{report['predict_examples_per_second']:.0f} examples/s"
    )
    if args.output_file:
        write_json(args.output_file, report)
    if out is not None:
        prefix = "eval" if args.split == "dev" else args.split
        names = report_file_names(prefix)
        before = {name: _stamp(out / name) for name in names.values()}
        write_split_reports(
            out, run.head, evaluate, run.logits, run.targets, prefix, extra=run.speed()
        )
        probabilities = run.head.probabilities(run.logits)
        write_predictions(
            out / names["predictions"], run.head, evaluate, probabilities, task.is_pair
        )
        written = [name for name in names.values() if _stamp(out / name) != before[name]]
        print(f"reports in {out}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
