"""Command line of scripts/find_label_issues.sh: the train.tsv rows that look mislabelled.

Each row is predicted by a model that never saw it (k folds: the TF-IDF baseline, or your
checkpoint fine-tuned), then cleanlab's confident learning picks the rows whose given label
those out-of-fold probabilities contradict, most suspect first (docs/data.md).
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys
from pathlib import Path

from classifier.flag_types import non_negative_int, number, positive_float, positive_int
from curation.cleaned_copy import CLEANINGS
from curation.label_issues import RANKINGS

from .cli_flags import (
    add_processor_arguments,
    add_verbosity,
    command_parser,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("find_label_issues")

DETECTORS = ("model", "tfidf")
SUPPORTED_HEADS = ("multiclass", "multilabel")
SHOWN_ISSUES = 5


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        __doc__.split("\n\n")[0],
        [
            "scripts/find_label_issues.sh --task_name=tsv --data_dir=data/demo "
            "--output_file=output/label_issues.tsv",
            "scripts/find_label_issues.sh --task_name=multilabel --data_dir=$DATA_DIR "
            "--output_file=issues.tsv --write_cleaned=$DATA_DIR.cleaned --cleaning=relabel",
            "scripts/find_label_issues.sh --data_dir=$DATA_DIR --output_file=issues.tsv "
            "--model_dir=$BERT_BASE_DIR --num_train_epochs=2",
        ],
    )
    parser.add_argument("--data_dir", required=True, help="the folder holding train.tsv")
    parser.add_argument(
        "--output_file",
        required=True,
        help="the issues TSV to write: line, given_label, suggested_label, score, text "
        "(pair: + text_b; multilabel: + labels_to_add, labels_to_remove)",
    )
    add_processor_arguments(
        parser,
        "tsv, pair, multilabel or yours (multiclass or multilabel)",
        "train.tsv starts with a header line (lines are counted with it)",
    )
    g = parser.add_argument_group("out-of-fold predictions")
    g.add_argument(
        "--detector",
        choices=DETECTORS,
        default=None,
        help="what predicts each held-out fold: model (fine-tune --model_dir on the other "
        "folds) or tfidf (jieba + TF-IDF + logistic regression, seconds on a CPU); "
        "default: model when --model_dir is given, else tfidf",
    )
    g.add_argument(
        "--model_dir", help="the checkpoint folder to fine-tune (as train.sh's --model_dir)"
    )
    g.add_argument(
        "--num_folds",
        type=number(int, 2, 100),
        default=5,
        help="folds; a label on fewer rows is skipped (docs/data.md)",
    )
    g.add_argument("--seed", type=non_negative_int, default=12345, help="folds and fine-tuning")
    g.add_argument(
        "--C", type=positive_float, default=4.0, help="tfidf: inverse regularisation strength"
    )
    g.add_argument(
        "--num_train_epochs",
        type=number(float, 0, 10_000, low_open=True),
        default=3.0,
        help="model: epochs per fold",
    )
    g.add_argument(
        "--learning_rate", type=positive_float, default=2e-5, help="model: peak learning rate"
    )
    g.add_argument(
        "--max_seq_length",
        type=number(int, 3, 512),
        default=128,
        help="model: tokens per text (or pair), [CLS] and [SEP] included",
    )
    g.add_argument("--batch_size", type=positive_int, default=32, help="model: training batch")
    g.add_argument(
        "--work_dir",
        help="model: where finished folds are kept, so that the same command resumes a killed "
        "run (default: beside --output_file, named after it: issues.tsv -> issues_folds/)",
    )
    g = parser.add_argument_group("issues")
    g.add_argument(
        "--rank_by",
        choices=RANKINGS,
        default=RANKINGS[0],
        help="cleanlab's label quality score, the file's score column and order",
    )
    g.add_argument(
        "--write_cleaned",
        metavar="DIR",
        help="write a copy of the data set here: train.tsv without (or relabelling) the issue "
        "rows; dev.tsv, test.tsv and labels.txt copied unchanged",
    )
    g.add_argument(
        "--cleaning",
        choices=CLEANINGS,
        default="remove",
        help="--write_cleaned: remove the issue rows or relabel them to suggested_label",
    )
    add_verbosity(parser)
    return parser


def default_work_dir(output_file: str) -> Path:
    """Beside the issues file, named after it: a second data set's run gets its own."""
    path = Path(output_file)
    return path.with_name(f"{path.stem}_folds")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    import processors

    try:
        job = prepare(args, processors)
    except (processors.DataError, ValueError, ImportError, OSError) as err:
        logger.error("%s", err)
        return 2
    try:
        job()
    except (processors.DataError, ValueError, OSError) as err:
        logger.error("%s", err)
        return 2
    except RuntimeError as err:  # training diverged (TrainingError)
        logger.error("%s", err)
        return 1
    return 0


def prepare(args: argparse.Namespace, processors):
    """Reads and checks every input before any model is fitted; returns the job to run."""
    from classifier.files import refuse_writing_over_inputs
    from classifier.heads import head_kind_of, make_head
    from curation.folds import describe_rare_labels, plan_folds
    from curation.issues_file import train_lines
    from curation.label_issues import require_cleanlab

    detector_name = args.detector or ("model" if args.model_dir else "tfidf")
    if detector_name == "model" and not args.model_dir:
        raise ValueError("--detector=model fine-tunes a checkpoint: give --model_dir")
    if args.cleaning != "remove" and not args.write_cleaned:
        raise ValueError(f"--cleaning={args.cleaning} applies to --write_cleaned: give the folder")
    if args.processor_file:
        processors.load_processor_plugin(args.processor_file)
    header = {"auto": "auto", "yes": True, "no": False}[args.header]
    task = processors.get_processor(args.task_name)(args.data_dir, header=header)
    data = Path(args.data_dir)
    files = (task.train_file, task.dev_file, task.test_file, task.labels_file)
    work_dir = Path(args.work_dir) if args.work_dir else default_work_dir(args.output_file)
    refuse_writing_over_inputs(
        [
            ("--output_file", args.output_file),
            ("--write_cleaned", args.write_cleaned),
            ("--work_dir", work_dir if detector_name == "model" else None),
        ],
        [("--data_dir", data), ("--model_dir", args.model_dir)]
        + [("--data_dir", data / name) for name in files],
    )
    if Path(args.output_file).is_dir():
        raise IsADirectoryError(f"--output_file={args.output_file} is a folder, not a file")
    kind = head_kind_of(task)
    if kind not in SUPPORTED_HEADS:
        raise ValueError(
            f"--task_name={args.task_name}: {kind} labels are not checked; "
            "find_label_issues.sh checks multiclass and multilabel tasks"
        )
    require_cleanlab()
    examples = task.get_train_examples()
    labels = task.get_labels()
    head = make_head(kind, labels)
    lines = train_lines(examples, task.train_file)
    targets = head.encode_labels(examples)
    plan = plan_folds(targets, labels, args.num_folds, args.seed)
    if detector_name == "model":
        from classifier.checkpoints.model_files import find_model_files

        try:
            find_model_files(args.model_dir)
        except FileNotFoundError as err:  # ModelFilesError
            raise FileNotFoundError(
                f"--model_dir={args.model_dir} is not a checkpoint: {err}"
            ) from None
    rare = describe_rare_labels(plan, head.multiple_labels)
    if rare:
        logger.warning("%s", rare)

    def job() -> None:
        run(args, task, examples, labels, head, lines, targets, plan, detector_name, work_dir)

    return job


def run(args, task, examples, labels, head, lines, targets, plan, detector_name, work_dir):
    """Out-of-fold probabilities, cleanlab, the issues file, the cleaned copy, the summary."""
    from curation.cleaned_copy import changes_for, label_column, write_cleaned_copy
    from curation.fold_store import FoldStore, fingerprint
    from curation.issues_file import LABEL_SEPARATOR, write_issues_file
    from curation.label_issues import find_label_issues
    from curation.out_of_fold import (
        FineTuneDetector,
        TfidfDetector,
        examples_digest,
        out_of_fold_probabilities,
    )

    multilabel = head.multiple_labels
    store = None
    if detector_name == "model":
        detector = FineTuneDetector(
            args.model_dir,
            labels,
            multilabel,
            task.is_pair,
            work_dir,
            num_train_epochs=args.num_train_epochs,
            learning_rate=args.learning_rate,
            max_seq_length=args.max_seq_length,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        settings = {
            **detector.settings(),
            "task": args.task_name,
            "labels": labels,
            "examples": examples_digest(examples),
            "num_folds": plan.num_folds,
        }
        store = FoldStore(work_dir, fingerprint(settings, plan.fold_of), settings).open()
    else:
        detector = TfidfDetector(labels, head.kind, c=args.C)
    probabilities = out_of_fold_probabilities(examples, len(labels), plan, detector, store)
    issues = find_label_issues(targets, probabilities, plan, labels, args.rank_by)
    write_issues_file(args.output_file, issues, examples, lines, task.is_pair, multilabel)

    checked = len(plan.checked_rows)
    share = len(issues) / checked if checked else 0.0
    print(
        f"checked {checked} of {len(examples)} rows of {Path(args.data_dir) / task.train_file} "
        f"({detector.name} detector, {plan.num_folds} folds): {len(issues)} label issues "
        f"({share:.1%}), in {args.output_file}"
    )
    for issue in issues[:SHOWN_ISSUES]:
        given = LABEL_SEPARATOR.join(issue.given) or "(none)"
        suggested = LABEL_SEPARATOR.join(issue.suggested) or "(none)"
        text = examples[issue.row].text_a
        text = text if len(text) <= 30 else text[:29] + "…"
        print(f"  line {lines[issue.row]}: {given} -> {suggested} (score {issue.score:.3f}) {text}")
    if args.write_cleaned:
        separator = getattr(task, "label_separator", LABEL_SEPARATOR)
        changes = changes_for(issues, lines, args.cleaning, separator)
        written = write_cleaned_copy(
            args.data_dir,
            args.write_cleaned,
            task.train_file,
            (task.dev_file, task.test_file, task.labels_file),
            changes,
            label_column(task.columns),
        )
        verb = "relabelled" if args.cleaning == "relabel" else "removed"
        print(
            f"cleaned copy in {args.write_cleaned} ({len(changes)} rows {verb}): "
            + ", ".join(written)
        )


if __name__ == "__main__":
    sys.exit(main())
