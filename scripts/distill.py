"""Command line of scripts/distill.sh: teacher run folder + data -> student run folder."""

from __future__ import annotations

import argparse
import logging
import sys

from classifier.flag_types import non_negative_float, positive_float, positive_int
from classifier.options import add_flags, flag_values
from classifier.training.training_config import TrainingConfig

from .cli_flags import add_bool, env_default, setup_logging
from .train import make_processor, run_reporting_errors

logger = logging.getLogger("distill")


def layer_list(text: str) -> list[int]:
    """ "3,7,11" -> [3, 7, 11] (teacher layers, 0-based)."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer numbers such as 3,7,11, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Distill a fine-tuned classifier (train.sh's output folder) into a "
        "smaller student of the teacher's own layers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
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
    g.add_argument("--header", choices=("auto", "yes", "no"), default="auto")
    add_bool(g, "skip_bad_rows", False, "skip malformed TSV rows (and report them)")

    g = p.add_argument_group("student")
    g.add_argument(
        "--student_layers",
        type=layer_list,
        default=None,
        help="teacher layers (0-based, increasing) the student's layers start from; default: "
        "--num_student_layers evenly spaced ones ending with the top layer (12 -> 3: 3,7,11)",
    )
    g.add_argument("--num_student_layers", type=positive_int, default=3)

    g = p.add_argument_group("distillation loss")
    g.add_argument(
        "--temperature",
        type=positive_float,
        default=2.0,
        help="softens teacher and student predictions in the soft-label loss (x T^2)",
    )
    g.add_argument(
        "--kd_loss_weight",
        type=non_negative_float,
        default=1.0,
        help="weight of the soft-label loss (KL from the teacher's predictions)",
    )
    g.add_argument(
        "--hard_label_weight",
        type=non_negative_float,
        default=0.0,
        help="weight of the ordinary loss on gold labels (labelled rows only)",
    )
    g.add_argument(
        "--hidden_loss_weight",
        type=non_negative_float,
        default=0.0,
        help="weight of the MSE between each student layer's output and that of the teacher "
        "layer it started from (0: off)",
    )

    g = p.add_argument_group("output")
    g.add_argument("--output_dir", required=True)
    add_bool(g, "overwrite", False, "replace an earlier run's files in --output_dir")
    add_bool(g, "do_predict", False, "predict test.tsv into test_predictions.tsv")

    groups = add_flags(p, TrainingConfig, "distill")  # the settings train.sh shares
    groups["training"].add_argument("--predict_batch_size", type=positive_int, default=64)
    add_bool(groups["training"], "verbose", False, "debug logging")
    return p


def options_from_args(args: argparse.Namespace):
    from classifier.distillation import DistillConfig, DistillOptions

    training = TrainingConfig(**flag_values(args, TrainingConfig, "distill"))
    return DistillOptions(
        teacher_dir=args.teacher_dir,
        output_dir=args.output_dir,
        unlabeled_files=tuple(args.unlabeled_file),
        overwrite=args.overwrite,
        do_predict=args.do_predict,
        predict_batch_size=args.predict_batch_size,
        distill=DistillConfig(
            student_layers=tuple(args.student_layers) if args.student_layers else None,
            num_student_layers=args.num_student_layers,
            temperature=args.temperature,
            kd_loss_weight=args.kd_loss_weight,
            hard_label_weight=args.hard_label_weight,
            hidden_loss_weight=args.hidden_loss_weight,
        ),
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
    setup_logging(args.verbose)
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
