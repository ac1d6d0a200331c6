"""Command line of scripts/distill.sh: teacher run folder + data -> student run folder."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys

from classifier.distillation.config import DistillConfig
from classifier.flag_types import positive_int
from classifier.options import add_flags, flag_values
from classifier.training.training_config import TrainingConfig

from .cli_flags import (
    add_bool,
    add_verbosity,
    command_parser,
    env_default,
    setup_logging,
    verbosity,
)
from .train import make_processor, run_reporting_errors

logger = logging.getLogger("distill")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Distill a fine-tuned classifier (train.sh's output folder) into a "
        "smaller student of the teacher's own layers.",
        [
            "scripts/distill.sh --teacher_dir=output/my_task --data_dir=$DATA_DIR --output_dir=output/my_task_student",
            "scripts/distill.sh --teacher_dir=output/my_task --data_dir=$DATA_DIR --unlabeled_file=more_texts.txt --num_student_layers=3 --output_dir=output/student3",
        ],
    )
    g = p.add_argument_group("teacher and data")
    g.add_argument("--teacher_dir", required=True, help="the teacher: a train.sh output folder")
    g.add_argument(
        "--task_name",
        default=None,
        help="registered processor (default: the teacher's task_name)",
    )
    g.add_argument("--processor_file", help="a .py file (or module) that registers a processor")
    g.add_argument(
        "--data_dir",
        default=env_default("DATA_DIR"),
        help="folder with train.tsv (labelled; optional with --unlabeled_file), dev.tsv "
        "(selects the best epoch, reports) and test.tsv (--do_predict); default $DATA_DIR",
    )
    g.add_argument(
        "--unlabeled_file",
        action="append",
        default=[],
        help="text to distill on without labels: one text per line (pair tasks: "
        "text_a<TAB>text_b); repeat the flag for several files",
    )
    g.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether TSV files start with a header line",
    )
    add_bool(g, "skip_bad_rows", False, "skip malformed TSV rows (and report them)")

    add_flags(p, DistillConfig, "distill")  # the student and its losses

    g = p.add_argument_group("output")
    g.add_argument("--output_dir", required=True, help="the student's run folder")
    add_bool(g, "overwrite", False, "replace an earlier run's files in --output_dir")
    add_bool(g, "do_predict", False, "predict test.tsv into test_predictions.tsv")

    groups = add_flags(p, TrainingConfig, "distill")  # the settings train.sh shares
    groups["training"].add_argument(
        "--predict_batch_size", type=positive_int, default=64, help="texts per prediction batch"
    )
    add_verbosity(groups["training"])
    return p


def options_from_args(args: argparse.Namespace):
    from classifier.distillation import DistillOptions

    training = TrainingConfig(**flag_values(args, TrainingConfig, "distill"))
    distill = flag_values(args, DistillConfig, "distill")
    distill["student_layers"] = distill["student_layers"] or None  # "--student_layers=": default
    return DistillOptions(
        teacher_dir=args.teacher_dir,
        output_dir=args.output_dir,
        unlabeled_files=tuple(args.unlabeled_file),
        overwrite=args.overwrite,
        do_predict=args.do_predict,
        predict_batch_size=args.predict_batch_size,
        distill=DistillConfig(**distill),
        training=training,
    )


def teacher_task_name(args: argparse.Namespace) -> str:
    """--task_name, or the teacher's own."""
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import SPEC_FILE, TrainedModelError

    if args.task_name is not None:
        return args.task_name
    try:
        return ClassifierSpec.load(f"{args.teacher_dir}/{SPEC_FILE}").task_name
    except FileNotFoundError:
        raise TrainedModelError(
            f"--teacher_dir {args.teacher_dir} holds no trained classifier ({SPEC_FILE} "
            "missing); point it at a train.sh output folder"
        ) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    from classifier.distillation import distill

    summary = {}

    from classifier.files import refuse_writing_over_inputs

    def job() -> None:
        refuse_writing_over_inputs(
            [("--output_dir", args.output_dir)],
            [
                ("--teacher_dir", args.teacher_dir),
                ("--data_dir", args.data_dir),
                *(("--unlabeled_file", f) for f in args.unlabeled_file),
            ],
        )
        processor = make_processor(args, teacher_task_name(args))
        summary.update(distill(options_from_args(args), processor))

    code = run_reporting_errors(job, logger)
    if code == 0:
        logger.info("student written to %s (%.0f s)", args.output_dir, summary["seconds"])
    return code


if __name__ == "__main__":
    sys.exit(main())
