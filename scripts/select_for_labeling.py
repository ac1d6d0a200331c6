"""Command line of scripts/select_for_labeling.sh: the pool's texts most worth labelling next.

The model (an export, or a train.sh run folder, loaded as predict.sh loads it) scores every
distinct text of the pool; the N best by the strategy go into a TSV, best first:
rank, line (in the pool file), text, predicted_label, probability, score.
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import os
import sys

from classifier.flag_types import positive_int
from curation.selection import STRATEGIES
from serving.text_io import INPUT_FORMATS

from .cli_flags import add_verbosity, command_parser, quiet_serving_logs, setup_logging, verbosity

logger = logging.getLogger("select_for_labeling")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Choose what to label next: score every text of an unlabelled pool with a model (an "
        "export, SavedModel or ONNX, or a train.sh run folder) and write the N most worth "
        "labelling, best first, to a TSV (rank, line, text, predicted_label, probability, "
        "score). Blank lines are skipped; a repeated text counts once.",
        [
            "scripts/select_for_labeling.sh --export_dir=exported/my_task --input_file=pool.txt "
            "--output_file=to_label.tsv --num=200",
            "scripts/select_for_labeling.sh --export_dir=exported/my_task --input_file=pool.txt "
            "--output_file=to_label.tsv --num=200 --strategy=diverse",
            "scripts/select_for_labeling.sh --run_dir=output/my_task --input_file=pool.csv "
            "--text_column=review --output_file=to_label.tsv --strategy=margin",
        ],
    )
    g = p.add_argument_group("the model (one of)")
    model = g.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--export_dir",
        help="export.sh --export_dir (or one version folder), SavedModel or ONNX; a train.sh "
        "run folder given here is used as --run_dir",
    )
    model.add_argument(
        "--run_dir", help="a train.sh (or distill.sh) --output_dir, predicted in memory"
    )
    g.add_argument(
        "--version", type=positive_int, default=None, help="export version (default: the highest)"
    )
    g = p.add_argument_group("the pool")
    g.add_argument(
        "--input_file",
        required=True,
        help="the unlabelled texts: one per line (blank lines skipped), or a tsv / csv / jsonl "
        "file with a text column",
    )
    g.add_argument(
        "--input_format",
        choices=INPUT_FORMATS,
        default="auto",
        help="lines, tsv, csv or jsonl, as predict.sh reads them; auto: from the extension "
        "(.tsv, .csv, .jsonl/.json; anything else: lines)",
    )
    g.add_argument(
        "--text_column",
        default=None,
        help="tsv/csv/jsonl: the column holding the text (default: text, else text_a)",
    )
    g = p.add_argument_group("the selection")
    g.add_argument(
        "--output_file",
        required=True,
        help="the TSV of chosen texts (rank, line, text, predicted_label, probability, score), "
        "written whole or not at all",
    )
    g.add_argument("--num", type=positive_int, default=100, help="how many texts to choose (N)")
    g.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="entropy",
        help="entropy: highest predictive entropy (multilabel: the sum of each label's); "
        "margin: smallest gap between the two most probable labels (multilabel: smallest "
        "|p - threshold|); least_confidence: lowest top probability (multilabel: the decision "
        "closest to its threshold, relative to the room on its side); diverse: entropy "
        "weighted by distance from the texts already chosen (TF-IDF over jieba words and "
        "character bigrams), so the N are not near-copies",
    )
    p.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch")
    add_verbosity(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    quiet_serving_logs(args)
    from classifier.files import refuse_writing_over_inputs
    from curation.pool import read_pool
    from serving.loader import RuntimeMissing
    from serving.text_io import input_format_for

    from .predict import load_predictor, model_source

    try:
        if not os.path.isfile(args.input_file):
            raise FileNotFoundError(f"--input_file={args.input_file}: no such file")
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)],
            [
                ("--input_file", args.input_file),
                ("--export_dir", args.export_dir),
                ("--run_dir", args.run_dir),
            ],
        )
        source = model_source(args)  # before TensorFlow loads
        pool = read_pool(
            args.input_file, input_format_for(args.input_file, args.input_format), args.text_column
        )
        predictor = load_predictor(source, args.batch_size)
        if predictor.info.is_pair:
            raise ValueError(
                f"{predictor.path} classifies text pairs; select_for_labeling.sh takes a "
                "single-text model"
            )
    except (OSError, ValueError, RuntimeMissing) as err:  # InputTextError, NoModelError too
        logger.error("%s", err)
        return 2
    return choose(predictor, pool, args)


def choose(predictor, pool, args: argparse.Namespace) -> int:
    """Scores the pool, writes the selection and prints the summary line."""
    from curation.selection import select, selected_rows, write_selection
    from serving.prediction import predictions_from_outputs

    info = predictor.info
    outputs = predictor.run(pool.texts)
    probabilities = outputs["probabilities"]
    thresholds = None
    if info.is_multilabel:
        thresholds = info.thresholds or (0.5,) * len(info.labels)
    selection = select(args.strategy, probabilities, args.num, thresholds, pool.texts)
    chosen = {
        key: value[selection.indices]
        for key, value in outputs.items()
        if len(value) == len(pool.texts)
    }
    predictions = predictions_from_outputs(chosen, info)
    rows = selected_rows(selection, pool.lines, pool.texts, predictions, info.is_multilabel)
    try:
        write_selection(args.output_file, rows)
    except OSError as err:
        logger.error("--output_file=%s: %s", args.output_file, err.strerror or err)
        return 2
    skipped = [
        f"{count} {what}"
        for count, what in ((pool.blank, "blank"), (pool.duplicates, "repeated"))
        if count
    ]
    short = (
        f"; the pool holds only {len(pool.texts)} distinct texts, all listed"
        if len(rows) < args.num
        else ""
    )
    print(
        f"{args.strategy}: {len(rows)} of {len(pool.texts)} texts"
        + (f" ({', '.join(skipped)} skipped)" if skipped else "")
        + f", scores {rows[0].score:.4f} to {rows[-1].score:.4f}, into {args.output_file}"
        + short
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
