"""Command line of scripts/convert_annotations.sh: annotation tools' files (doccano, Label
Studio) to label-text TSV and back, with a model's predictions as pre-annotations."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import os
import sys

from classifier.flag_types import positive_int

from .cli_flags import (
    add_bool,
    add_verbosity,
    command_parser,
    quiet_serving_logs,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("convert_annotations")

# The names of curation.annotation_formats, repeated so that --help imports nothing of it.
READ_FORMATS = ("doccano", "label_studio", "tsv", "text")
WRITE_FORMATS = ("tsv", "doccano", "label_studio")
TASKS = ("multiclass", "multilabel")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Convert annotation tools' files (doccano JSONL, Label Studio JSON) to the project's "
        "label-text TSV and back, with an export's predictions as pre-annotations.",
        [
            "scripts/convert_annotations.sh --from=label_studio --to=tsv "
            "--input_file=project-1.json --output_file=data/train.tsv",
            "scripts/convert_annotations.sh --from=doccano --to=tsv --task=multilabel "
            "--input_file=all.jsonl --output_file=train.tsv --unlabelled_file=todo.txt",
            "scripts/convert_annotations.sh --from=tsv --to=label_studio "
            "--input_file=to_label.tsv --output_file=tasks.json --export_dir=exported/my_task",
            "scripts/convert_annotations.sh --from=text --to=doccano --input_file=texts.txt "
            "--output_file=import.jsonl --export_dir=exported/my_task",
        ],
    )
    g = p.add_argument_group("files")
    g.add_argument(
        "--from",
        dest="source_format",
        metavar="FORMAT",
        required=True,
        choices=READ_FORMATS,
        help="the input's format: doccano (JSONL export, text classification), label_studio "
        "(JSON export, text-classification template), tsv (label<TAB>text rows, a text alone "
        "for no label, or a table with a header naming a text column: find_label_issues.sh "
        "and select_for_labeling.sh output) or text (one unlabelled text per line)",
    )
    g.add_argument(
        "--to",
        dest="target_format",
        metavar="FORMAT",
        required=True,
        choices=WRITE_FORMATS,
        help="the output's format: tsv (label<TAB>text, labelled rows only, as train.sh "
        "reads), doccano (JSONL import) or label_studio (JSON import)",
    )
    g.add_argument("--input_file", required=True, help="the file to convert")
    g.add_argument(
        "--output_file",
        required=True,
        help="where the converted file goes (written whole or not at all)",
    )
    g.add_argument(
        "--unlabelled_file",
        help="--to=tsv: write the texts nobody labelled here, one per line (--from=text "
        "reads it back); without it they are skipped and counted",
    )
    g.add_argument(
        "--task",
        choices=TASKS,
        default="multiclass",
        help="multiclass: at most one label per text (a record with two is an error); "
        "multilabel: any number, joined by | in TSV",
    )
    add_bool(
        g,
        "flatten_text",
        False,
        "TSV output: replace each run of tabs and line breaks in a text by one space (a "
        "TSV row cannot carry them); without it such a text is refused, naming its record",
    )
    g = p.add_argument_group("tables (--from=tsv)")
    g.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the first line names the columns; auto: when it names a text column "
        "and every field looks like a column name",
    )
    g.add_argument(
        "--text_column",
        help="the header's text column (default: text, else text_a, sentence, content)",
    )
    g.add_argument(
        "--label_column",
        help="the header's label column (default: label, else labels, given_label; none: "
        "unlabelled); the other columns travel as metadata",
    )
    g = p.add_argument_group("Label Studio")
    g.add_argument(
        "--from_name",
        help="the Choices control's name (<Choices name=...>): written into annotations and "
        "predictions (default: sentiment, the template's); when reading, only its choices "
        "count (without it, any one control's)",
    )
    g.add_argument(
        "--to_name",
        default="text",
        help="the Text object the choices label (<Choices toName=...>)",
    )
    g = p.add_argument_group("pre-annotations (--to=doccano or label_studio)")
    g.add_argument(
        "--export_dir",
        help="an export.sh --export_dir (SavedModel or ONNX) or one version folder: its "
        "predictions become pre-annotations (Label Studio predictions with their score; "
        "doccano: label, the row's own labels moving to given_label)",
    )
    g.add_argument(
        "--version",
        type=positive_int,
        default=None,
        help="the export version to load (default: the highest)",
    )
    g.add_argument(
        "--model_version",
        help="the name predictions carry (default: the export's folder and version, e.g. "
        "my_task/1)",
    )
    g.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch")
    add_verbosity(p)
    return p


class UsageError(ValueError):
    """Flags that do not go together: the message names the flag."""


def check_flags(args: argparse.Namespace) -> None:
    """Refuses flags that would be ignored, before anything is read."""
    to_tsv = args.target_format == "tsv"
    if args.unlabelled_file and not to_tsv:
        raise UsageError(
            f"--unlabelled_file goes with --to=tsv; --to={args.target_format} keeps the "
            "unlabelled texts as tasks to label"
        )
    if args.export_dir and to_tsv:
        raise UsageError(
            "--export_dir adds pre-annotations for an annotation tool: --to=doccano or "
            "--to=label_studio"
        )
    for flag in ("version", "model_version"):
        if getattr(args, flag) is not None and not args.export_dir:
            raise UsageError(f"--{flag} goes with --export_dir")
    for flag in ("text_column", "label_column"):
        if getattr(args, flag) is not None and args.source_format != "tsv":
            raise UsageError(f"--{flag} names a column of a --from=tsv table")
    if args.header != "auto" and args.source_format != "tsv":
        raise UsageError("--header describes a --from=tsv table")
    if args.unlabelled_file and args.unlabelled_file == args.output_file:
        raise UsageError("--unlabelled_file and --output_file name the same file")
    if not os.path.isfile(args.input_file):
        what = "is a folder" if os.path.isdir(args.input_file) else "does not exist"
        raise UsageError(f"--input_file={args.input_file} {what}")


def load_model(args: argparse.Namespace):
    """The export's Predictor, loaded as predict.sh loads it (serving.loader)."""
    from serving.loader import load_predictor

    predictor = load_predictor(args.export_dir, args.version, batch_size=args.batch_size)
    info = predictor.info
    if info.is_pair:
        raise UsageError(
            f"--export_dir={args.export_dir} classifies text pairs; annotation tasks here "
            "carry one text"
        )
    if info.is_multilabel and args.task == "multiclass":
        raise UsageError(
            f"--export_dir={args.export_dir} is a multilabel model: give --task=multilabel"
        )
    return predictor


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    quiet_serving_logs(args)
    from classifier.files import refuse_writing_over_inputs
    from curation.annotation_formats import (
        FormatOptions,
        format_annotations,
        format_unlabelled,
        read_annotations,
        split_labelled,
    )
    from curation.annotation_label_studio import ControlNames
    from curation.annotation_suggestions import model_version_of, with_suggestions
    from curation.annotation_tsv import TsvLayout
    from serving.loader import RuntimeMissing

    options = FormatOptions(
        task=args.task,
        layout=TsvLayout(args.header, args.text_column, args.label_column),
        controls=ControlNames(args.from_name, args.to_name),
        flatten_text=args.flatten_text,
    )
    try:
        check_flags(args)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file), ("--unlabelled_file", args.unlabelled_file)],
            [("--input_file", args.input_file), ("--export_dir", args.export_dir)],
        )
        records = read_annotations(args.source_format, args.input_file, options)
        if not records:
            raise UsageError(f"--input_file={args.input_file} holds no texts")
        if args.export_dir:
            predictor = load_model(args)
            name = args.model_version or model_version_of(predictor.path)
            records = with_suggestions(records, predictor, name)
        labelled, unlabelled = split_labelled(records)
        if args.target_format == "tsv":
            if not labelled:
                raise UsageError(
                    f"--input_file={args.input_file}: none of its {len(records)} texts has a "
                    "label, so --to=tsv has nothing to write"
                )
            text = format_annotations("tsv", labelled, options)
            spare = format_unlabelled(unlabelled, options) if args.unlabelled_file else None
        else:
            text = format_annotations(args.target_format, records, options)
            spare = None
        write_outputs(args.output_file, text, args.unlabelled_file, spare)
    except (OSError, ValueError, RuntimeMissing) as err:  # AnnotationError is a ValueError
        logger.error("%s", err)
        return 2
    logger.info("%s", summary(args, len(labelled), len(unlabelled)))
    return 0


def write_outputs(path: str, text: str, spare_path: str | None, spare: str | None) -> None:
    """Both files through temporary files beside them; the output is renamed last, once the
    unlabelled file is in place, so a failure leaves no half-written file."""
    from classifier.files import atomic_write, atomic_write_text

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        if spare_path is not None and spare is not None:
            atomic_write_text(spare_path, spare)

    atomic_write(path, write)


def summary(args: argparse.Namespace, labelled: int, unlabelled: int) -> str:
    """The one line that says what was written and what was left out."""
    if args.target_format != "tsv":
        guessed = " with the model's pre-annotations" if args.export_dir else ""
        return (
            f"wrote {labelled + unlabelled} texts ({labelled} labelled, {unlabelled} to label)"
            f"{guessed} to {args.output_file}"
        )
    line = f"wrote {labelled} labelled rows to {args.output_file}"
    if args.unlabelled_file:
        return line + f"; {unlabelled} without a label to {args.unlabelled_file}"
    if unlabelled:
        return line + (f"; skipped {unlabelled} without a label (--unlabelled_file keeps them)")
    return line


if __name__ == "__main__":
    sys.exit(main())
