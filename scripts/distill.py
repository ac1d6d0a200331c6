"""Command line of scripts/distill.sh: teacher run folder + data -> student run folder."""

from __future__ import annotations

import argparse
import logging
import sys

from classifier.flag_types import (
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
    probability,
)
from classifier.thresholds import STRATEGIES as THRESHOLD_STRATEGIES

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
    g.add_argument(
        "--save_checkpoints_steps",
        type=positive_int,
        default=1000,
        help="checkpoint the whole training state into OUTPUT_DIR/checkpoints every this many "
        "steps and at each epoch end; rerunning a killed run's command resumes it",
    )
    g.add_argument(
        "--keep_checkpoints",
        type=positive_int,
        default=3,
        help="how many recent checkpoints to keep",
    )

    g = p.add_argument_group("training")
    g.add_argument("--learning_rate", type=positive_float, default=1e-4)
    g.add_argument("--num_train_epochs", type=number(float, 0, 10_000, low_open=True), default=3.0)
    g.add_argument("--train_batch_size", type=positive_int, default=32)
    g.add_argument("--eval_batch_size", type=positive_int, default=64)
    g.add_argument("--predict_batch_size", type=positive_int, default=64)
    g.add_argument("--warmup_proportion", type=probability, default=0.1)
    g.add_argument("--weight_decay", type=non_negative_float, default=0.01)
    g.add_argument("--metric", default=None, help="dev metric that picks the best epoch")
    g.add_argument("--early_stopping_patience", type=positive_int, default=None)
    g.add_argument("--seed", type=non_negative_int, default=12345)
    g.add_argument(
        "--calibration",
        choices=("temperature", "none"),
        default="temperature",
        help="fit the student's probability temperature on dev after training",
    )
    g.add_argument(
        "--threshold_strategy",
        choices=THRESHOLD_STRATEGIES,
        default=argparse.SUPPRESS,  # the head's default (its help says which)
        help="multilabel: how the student's decision thresholds are fitted on dev (see train.sh) (default: per_label)",
    )
    add_bool(g, "verbose", False, "debug logging")
    return p


def options_from_args(args: argparse.Namespace):
    from classifier.distillation import DistillConfig, DistillOptions
    from classifier.training.training_config import TrainingConfig

    training = TrainingConfig(
        learning_rate=args.learning_rate,
        num_train_epochs=args.num_train_epochs,
        train_batch_size=args.train_batch_size,
        eval_batch_size=args.eval_batch_size,
        warmup_proportion=args.warmup_proportion,
        weight_decay=args.weight_decay,
        metric=args.metric,
        early_stopping_patience=args.early_stopping_patience,
        seed=args.seed,
        calibration=args.calibration,
        threshold_strategy=getattr(args, "threshold_strategy", None),
        save_checkpoints_steps=args.save_checkpoints_steps,
        keep_checkpoints=args.keep_checkpoints,
    )
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
