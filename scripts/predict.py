"""Command line of scripts/predict.sh: a REPL on a terminal, predictions of a file, of piped
stdin or of --text otherwise; over an export or a train.sh run folder.

scripts/predict.sh --export_dir exported/demo                      # REPL: prompt, label, score
scripts/predict.sh --export_dir exported/demo --text 股市大涨 --text 中超开赛
scripts/predict.sh --run_dir output/demo < texts.txt > predictions.tsv
scripts/predict.sh --export_dir exported/demo --text 股市大涨 --top_k 3    # the 3 best labels
scripts/predict.sh --export_dir exported/demo --abstain_threshold 0.6 --abstain_label 其他
scripts/predict.sh --export_dir exported/demo --input_file reviews.csv --id_column id \
    --output_file predictions.jsonl
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.flag_types import non_negative_int, number, positive_int
from serving.text_io import INPUT_FORMATS, OUTPUT_FORMATS

from .cli_flags import (
    add_bool,
    add_runtime_arguments,
    add_verbosity,
    command_parser,
    quiet_serving_logs,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("predict")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Predict with an export (SavedModel or ONNX, told from its files) or a train.sh run "
        "folder: an interactive REPL on "
        "a terminal; otherwise the texts of --text, --input_file or piped stdin (plain lines, "
        "TSV or CSV with a header, JSONL) to predictions (TSV, CSV or JSONL).",
        [
            "scripts/predict.sh --export_dir=exported/my_task                    # a REPL",
            "scripts/predict.sh --run_dir=output/my_task --text='物流很快，好评' --text='太难吃了'",
            "scripts/predict.sh --export_dir=exported/my_task --input_file=reviews.csv "
            "--text_column=review --id_column=id --output_file=predictions.jsonl",
            "printf '物流很快，好评\\n' | scripts/predict.sh --export_dir=exported/my_task",
            "scripts/predict.sh --export_dir=exported/my_task --text='物流很快，好评' --top_k=3",
        ],
    )
    g = p.add_argument_group("the model (one of)")
    model = g.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--export_dir",
        help="export.sh --export_dir (or one version folder); a train.sh run folder given here "
        "is recognised and predicted as --run_dir",
    )
    model.add_argument(
        "--run_dir",
        help="a train.sh (or distill.sh) --output_dir, predicted in memory with the decisions "
        "its export would make (no export needed)",
    )
    g.add_argument(
        "--version",
        type=positive_int,
        default=None,
        help="export version (default: the highest)",
    )
    g = p.add_argument_group("texts in")
    g.add_argument(
        "--text",
        action="append",
        default=None,
        help="a text to predict (repeat for more); printed as the batch mode prints files",
    )
    g.add_argument(
        "--text_b",
        action="append",
        default=None,
        help="pair models: the second text of each --text, in the same order",
    )
    g.add_argument("--input_file", help="texts to predict (default: stdin)")
    g.add_argument(
        "--input_format",
        choices=INPUT_FORMATS,
        default="auto",
        help="lines: one text per line (pairs: text_a<TAB>text_b); tsv / csv: a header line "
        "naming the columns; jsonl: one JSON object per line. auto: from the extension "
        "(.tsv, .csv, .jsonl/.json; anything else and stdin: lines)",
    )
    g.add_argument(
        "--text_column",
        default=None,
        help="tsv/csv/jsonl: the column holding the text (default: text, else text_a)",
    )
    g.add_argument(
        "--text_b_column",
        default=None,
        help="tsv/csv/jsonl, pair models: the column holding text_b (default: text_b)",
    )
    g.add_argument(
        "--id_column",
        default=None,
        help="tsv/csv/jsonl: a column carried into the output as its first column",
    )
    g = p.add_argument_group("predictions out")
    g.add_argument("--output_file", help="where the predictions go (default: stdout)")
    g.add_argument(
        "--output_format",
        choices=OUTPUT_FORMATS,
        default="auto",
        help="tsv (train.sh --do_predict's columns), csv (the same) or jsonl (one object per "
        "text); auto: from --output_file's extension, tsv on stdout",
    )
    g.add_argument(
        "--top_k",
        type=positive_int,
        default=None,
        metavar="N",
        help="also give each text's N most probable labels with their probabilities, best "
        'first (tables: columns top1_label, top1_probability, ...; jsonl: "top_k"; the '
        "REPL: lines under each answer); N over the number of labels gives them all; "
        "multilabel models: the N highest, whatever the thresholds",
    )
    g.add_argument(
        "--abstain_threshold",
        type=number(float, 0.0, 1.0),
        default=None,
        metavar="P",
        help="abstain below P: a text whose calibrated top probability (multilabel: every "
        "label's) is under P gets --abstain_label and no decisions (outputs gain an abstained "
        "column / field); overrides the export's export.sh --abstain_threshold, 0 switches it "
        "off; a --run_dir has none of its own (default: the export's setting)",
    )
    g.add_argument(
        "--abstain_label",
        default=None,
        metavar="LABEL",
        help="the label an abstained text gets (default: the export's, else empty)",
    )
    g.add_argument(
        "--min_labels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="multilabel: at least N labels per text, the most probable added after the "
        "thresholds (default: the export's, or the run's train.sh --min_labels)",
    )
    g.add_argument(
        "--max_labels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="multilabel: at most N labels per text, the least probable dropped (default: the "
        "export's or the run's)",
    )
    g = p.add_argument_group("explanations")
    g.add_argument(
        "--explain",
        action="store_true",
        help="also say which words drove each prediction (integrated gradients): every output "
        'line is a JSON object with "label", "words" [{"word", "score"}, ...] and "tokens" '
        "in text order (output format jsonl); the REPL starts with :explain on",
    )
    g.add_argument(
        "--ig_steps",
        type=number(int, 1, 1000),
        default=50,
        metavar="N",
        help="integrated-gradients steps per explanation (more: closer to exact, slower)",
    )
    g.add_argument(
        "--ig_baseline",
        choices=("pad", "mask"),
        default="pad",
        help="what the words are compared with: [PAD] or [MASK] in their place",
    )
    g.add_argument(
        "--explain_label",
        default=None,
        metavar="LABEL",
        help="explain this label for every text (default: the predicted labels; nothing "
        "predicted: the most probable)",
    )
    p.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch")
    add_runtime_arguments(p)
    add_bool(
        p,
        "interactive",
        None,
        "force the REPL (true) or the batch mode (false); default: REPL when stdin is a "
        "terminal and neither --text nor --input_file is given",
    )
    add_verbosity(p)
    return p


class UsageError(ValueError):
    """Flags that do not go together, or do not fit the model: the message names the flag."""


@dataclass(frozen=True)
class ModelSource:
    """A model to load: a run folder (predicted in memory) or an export's version."""

    run_dir: Path | None = None
    version: Any = None  # serving.versions.ModelVersion


def check_flags(args: argparse.Namespace) -> None:
    """Refuses combinations that cannot mean anything, before a model loads."""
    if args.text is not None:
        if args.input_file is not None:
            raise UsageError("--text and --input_file: give texts one way")
        if args.interactive:
            raise UsageError("--text and --interactive=true: give texts one way")
        for flag in ("input_format", "text_column", "text_b_column", "id_column"):
            if getattr(args, flag) not in (None, "auto"):
                raise UsageError(f"--{flag} describes an input file; --text takes plain texts")
        if args.text_b is not None and len(args.text_b) != len(args.text):
            raise UsageError(f"{len(args.text)} --text but {len(args.text_b)} --text_b")
        for flag, values in (("--text", args.text), ("--text_b", args.text_b or [])):
            for number, value in enumerate(values, 1):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise UsageError(f"{flag} #{number}: not valid UTF-8") from None
    elif args.text_b is not None:
        raise UsageError("--text_b goes with --text (pair models: one --text_b per --text)")
    explaining = args.explain_label is not None or args.ig_steps != 50 or args.ig_baseline != "pad"
    if explaining and not args.explain:
        raise UsageError("--explain_label, --ig_steps and --ig_baseline go with --explain")
    if args.explain and args.output_format in ("tsv", "csv"):
        raise UsageError("--explain writes JSON lines: --output_format=jsonl (or leave it auto)")


def explain_settings(args: argparse.Namespace):
    """--explain's settings (None without it)."""
    if not args.explain:
        return None
    from serving.explaining import ExplainSettings

    return ExplainSettings(args.ig_steps, args.ig_baseline, args.explain_label)


def model_source(args: argparse.Namespace) -> ModelSource:
    """The run folder or export version the flags name (told apart without TensorFlow)."""
    from classifier.run_folder import SPEC_FILE, holds_trained_classifier
    from serving.versions import NoModelError, list_versions, select_version

    path = args.run_dir or args.export_dir
    flag = "--run_dir" if args.run_dir else "--export_dir"
    if holds_trained_classifier(path):
        if args.version is not None:
            raise UsageError(f"--version applies to exports; {flag}={path} is a run folder")
        if args.export_dir:
            logger.info("%s is a train.sh run folder: predicting it in memory", path)
        return ModelSource(run_dir=Path(path))
    if args.run_dir and not list_versions(path):
        raise NoModelError(
            f"--run_dir {path} holds no trained classifier ({SPEC_FILE} missing): give a "
            "train.sh --output_dir, or an export with --export_dir"
        )
    try:
        return ModelSource(version=select_version(path, args.version))
    except NoModelError as err:
        if args.version is None and args.export_dir:
            raise NoModelError(f"{err}; nor is it a train.sh run folder ({SPEC_FILE})") from None
        raise


def load_predictor(
    source: ModelSource,
    batch_size: int,
    runtime: str | None = None,
    precision: str | None = None,
    dtype: str | None = None,
):
    """A serving.Predictor over the export (an OnnxPredictor over an ONNX one), or the run
    folder in memory (classifier.FineTuner
    computing the export's outputs, with the metadata the export would carry)."""
    if source.run_dir is None:  # a SavedModel or an ONNX export, told from its files
        from serving.loader import load_version

        return load_version(
            source.version,
            runtime=runtime,
            precision=precision,
            dtype=dtype,
            batch_size=batch_size,
        )
    if runtime is not None or precision is not None or dtype == "bfloat16":
        raise ValueError(
            "--runtime, --precision and --dtype=bfloat16 apply to an export (--export_dir); a "
            "run folder is computed in memory in float32"
        )
    from classifier.estimator import FineTuner

    return run_folder_predictor(FineTuner.load(source.run_dir), source.run_dir, batch_size)


def run_folder_predictor(tuner, run_dir: Path, batch_size: int):
    """An InMemoryPredictor over a loaded run folder (a classifier.FineTuner): the decisions
    its export would make, and explanations by integrated gradients."""
    from classifier.explain.integrated_gradients import model_attribution
    from classifier.trained_model import VOCAB_FILE
    from export.exporter import export_metadata
    from serving.in_memory import InMemoryPredictor

    def run(texts: list[str], texts_b: list[str] | None, abstention=None):
        if abstention is None:
            return tuner.predict_outputs(texts, texts_b, batch_size)
        return tuner.predict_outputs(
            texts, texts_b, batch_size, abstention.threshold, abstention.label
        )

    return InMemoryPredictor(
        run,
        export_metadata(tuner.spec_, run_dir),
        run_dir,
        attribute=lambda: model_attribution(tuner.model_),
        vocab_file=run_dir / VOCAB_FILE,
    )


def with_decision_flags(predictor, args: argparse.Namespace):
    """The predictor answered at --abstain_threshold / --abstain_label and --min_labels /
    --max_labels over the model's own settings (serving.abstention.resolve,
    serving.label_bounds.resolve); unchanged without the flags."""
    asked_abstention = args.abstain_threshold is not None or args.abstain_label is not None
    asked_bounds = args.min_labels is not None or args.max_labels is not None
    if not asked_abstention and not asked_bounds:
        return predictor
    from serving import label_bounds
    from serving.abstention import resolve
    from serving.prediction import AbstainingPredictor

    abstention = predictor.info.abstention
    if asked_abstention:
        try:
            abstention = resolve(abstention, args.abstain_threshold, args.abstain_label)
        except ValueError:
            raise UsageError(
                "--abstain_label needs --abstain_threshold (this model does not abstain)"
            ) from None
    info = predictor.info
    try:
        bounds = label_bounds.resolve(
            info.label_bounds, args.min_labels, args.max_labels, len(info.labels)
        )
    except label_bounds.BoundsError as err:
        raise UsageError(f"--{err.field}: {err}") from None
    return AbstainingPredictor(predictor, abstention, bounds if asked_bounds else None)


def text_rows(args: argparse.Namespace, is_pair: bool) -> Iterator[Any]:
    """The rows of --text, with the pair check only a loaded model can make."""
    from serving.text_io import TextRow

    if is_pair and args.text_b is None:
        raise UsageError("this model classifies text pairs: give a --text_b for each --text")
    if not is_pair and args.text_b is not None:
        raise UsageError("this model takes single texts: --text_b is not an input")
    texts_b = args.text_b or [None] * len(args.text)
    return (TextRow(i, t, b) for i, (t, b) in enumerate(zip(args.text, texts_b, strict=True), 1))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    quiet_serving_logs(args)
    from classifier.files import refuse_writing_over_inputs
    from serving.explaining import ExplainUnavailable
    from serving.loader import RuntimeMissing
    from serving.text_io import Columns, InputTextError, input_format_for, output_format_for

    try:
        check_flags(args)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)],
            [
                ("--input_file", args.input_file),
                ("--export_dir", args.export_dir),
                ("--run_dir", args.run_dir),
            ],
        )
        stale = f"{args.output_file}.tmp" if args.output_file else None
        if stale is not None and os.path.isfile(stale):  # left by a killed run of this command
            os.remove(stale)
        source = model_source(args)  # before TensorFlow loads
        input_format = input_format_for(args.input_file, args.input_format)
        output_format = output_format_for(
            args.output_file, args.output_format, "jsonl" if args.explain else "tsv"
        )
        if args.explain and output_format != "jsonl":
            raise UsageError(
                f"--explain writes JSON lines: --output_file {args.output_file} names a "
                f"{output_format} file (use a .jsonl name or --output_format=jsonl)"
            )
        settings = explain_settings(args)
        predictor = with_decision_flags(
            load_predictor(source, args.batch_size, args.runtime, args.precision, args.dtype), args
        )
        labels = predictor.info.labels
        if settings is not None and settings.label is not None and settings.label not in labels:
            raise UsageError(
                f"--explain_label {settings.label!r}: not a label of this model (its labels: "
                f"{', '.join(labels)})"
            )
    except (OSError, ValueError, RuntimeMissing) as err:  # NoModelError, TrainedModelError
        logger.error("%s", err)  # and a broken ONNX export (OnnxExportError) are OSErrors
        return 2

    interactive = args.interactive
    if interactive is None:
        interactive = args.text is None and args.input_file is None and sys.stdin.isatty()
    if interactive:
        from serving.repl import run_repl

        try:
            return run_repl(predictor, sys.stdin, sys.stdout, top_k=args.top_k, explain=settings)
        except KeyboardInterrupt:
            print(file=sys.stdout)
            return 0

    columns = Columns(args.text_column, args.text_b_column, args.id_column)
    is_pair = predictor.info.is_pair
    name = args.input_file or "<stdin>"
    tmp = f"{args.output_file}.tmp" if args.output_file else None
    try:
        if args.text is not None:
            rows = text_rows(args, is_pair)
        elif args.input_file is not None:
            rows = read_input_file(args.input_file, input_format, is_pair, columns)
        else:
            rows = read_rows(sys.stdin.buffer, name, input_format, is_pair, columns)
        count = write_output(predictor, rows, args, output_format, tmp, settings)
    except (InputTextError, UsageError, OSError, ExplainUnavailable) as err:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)  # nothing half-written is left; an earlier output file is kept
        logger.error("%s", err)
        return 2
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
        raise
    logger.info(
        "predicted %d texts%s", count, f" into {args.output_file}" if args.output_file else ""
    )
    return 0


def read_rows(stream, name: str, input_format: str, is_pair: bool, columns) -> Iterator[Any]:
    from serving.text_io import read_text_rows

    return read_text_rows(stream, name, input_format, is_pair, columns)


def read_input_file(path: str, input_format: str, is_pair: bool, columns) -> Iterator[Any]:
    """The file's rows, read once through first so that a bad row stops the command before
    any prediction runs (stdin can only be checked as it streams)."""
    with open(path, "rb") as stream:
        for _ in read_rows(stream, path, input_format, is_pair, columns):
            pass

    def rows() -> Iterator[Any]:
        with open(path, "rb") as stream:
            yield from read_rows(stream, path, input_format, is_pair, columns)

    return rows()


def write_output(
    predictor, rows, args: argparse.Namespace, output_format: str, tmp, explain=None
) -> int:
    """Predictions of ``rows`` (explained with ``explain``, an ExplainSettings) to stdout, or
    into ``tmp`` renamed to --output_file when complete."""
    from serving.repl import write_predictions
    from serving.text_io import PredictionWriter

    chunk = args.batch_size * 4
    if tmp is None:
        writer = PredictionWriter(
            sys.stdout, output_format, predictor.info, args.id_column, args.top_k
        )
        return write_predictions(predictor, rows, writer, chunk, explain)
    with open(tmp, "w", encoding="utf-8", newline="") as target:
        writer = PredictionWriter(target, output_format, predictor.info, args.id_column, args.top_k)
        count = write_predictions(predictor, rows, writer, chunk, explain)
    os.replace(tmp, args.output_file)
    return count


if __name__ == "__main__":
    sys.exit(main())
