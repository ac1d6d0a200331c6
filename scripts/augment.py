"""Command line of scripts/augment.sh: K augmented rows per row of a labelled TSV file."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys
from pathlib import Path

from classifier.flag_types import number, positive_int

from .cli_flags import (
    add_bool,
    add_processor_arguments,
    add_verbosity,
    command_parser,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("augment")

# curation.augmenter's names, restated so that --help imports nothing but the parser.
METHODS = ("swap", "delete", "insert", "mlm")
DEFAULT_METHODS = "swap,delete,insert"


def method_list(text: str) -> tuple[str, ...]:
    """--methods: comma-separated known method names, each once."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for index, name in enumerate(names):
        if name not in METHODS:
            raise argparse.ArgumentTypeError(
                f"unknown method {name!r} (known: {', '.join(METHODS)})"
            )
        if name in names[:index]:
            raise argparse.ArgumentTypeError(f"method {name!r} is given twice")
    if not names:
        raise argparse.ArgumentTypeError(f"no method given (known: {', '.join(METHODS)})")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Augment a small labelled data set: each row of --input_file is written first, then "
        "--num_aug augmented copies of it (jieba words swapped, deleted or inserted, or "
        "replaced by a masked LM's guesses), each with its row's label; exact duplicates of an "
        "earlier row are dropped and counted.",
        [
            "scripts/augment.sh --input_file=data/demo/train.tsv --output_file=output/train_aug.tsv",
            "scripts/augment.sh --input_file=train.tsv --output_file=train_aug.tsv --num_aug=8 "
            "--methods=swap,delete,insert,mlm --model_dir=$BERT_BASE_DIR",
            "scripts/augment.sh --input_file=pairs.tsv --output_file=pairs_aug.tsv "
            "--task_name=pair --augment_both",
        ],
    )
    g = p.add_argument_group("files")
    g.add_argument(
        "--input_file", required=True, help="labelled rows: label<TAB>text (as train.tsv)"
    )
    g.add_argument(
        "--output_file",
        required=True,
        help="the rows written, in the input's format (header kept); written atomically",
    )
    add_processor_arguments(
        g,
        "the one that reads the file: tsv, pair, multilabel, hierarchical or yours",
        "the file starts with a header line",
    )
    g = p.add_argument_group("augmentation")
    g.add_argument(
        "--num_aug", type=positive_int, default=4, help="augmented rows made per original row"
    )
    g.add_argument(
        "--methods",
        type=method_list,
        default=method_list(DEFAULT_METHODS),
        help="comma-separated, taken in turn: swap (two words change places), delete (each "
        "word dropped with probability --alpha, never all), insert (a copy of one of the "
        "text's words at a random place), mlm (words masked and refilled by the masked LM of "
        "--model_dir)",
    )
    g.add_argument(
        "--alpha",
        type=number(float, 0, 1, low_open=True, high_open=True),
        default=0.1,
        help="share of a text's words changed: max(1, alpha x words) swaps, insertions or "
        "masked words; delete's probability",
    )
    g.add_argument("--seed", type=int, default=12345, help="the same seed, the same output")
    add_bool(g, "keep_original", True, "write the original rows before the augmented ones")
    add_bool(g, "augment_both", False, "pair tasks: edit text_b too (otherwise text_a only)")
    g.add_argument(
        "--jieba_user_dict", help="jieba user dictionary (one word per line) for the word cuts"
    )
    g = p.add_argument_group("the masked LM (--methods=...,mlm)")
    g.add_argument(
        "--model_dir",
        help="a checkpoint with its MLM head: a Google BERT/ALBERT release, a Hugging Face "
        "*ForMaskedLM / *ForPreTraining folder or model id, or a pretrain.sh output",
    )
    g.add_argument(
        "--max_seq_length",
        type=number(int, 3, 512),
        default=128,
        help="tokens the model sees per text; words past them are never masked",
    )
    g.add_argument("--batch_size", type=positive_int, default=32, help="texts per masked-LM batch")
    add_bool(g, "do_lower_case", True, "lower-case the text for the vocab (true for Chinese)")
    add_verbosity(p)
    return p


def check_flags(args: argparse.Namespace) -> None:
    """Flag combinations argparse cannot check, and the input file, before anything loads."""
    if "mlm" in args.methods and not args.model_dir:
        raise ValueError("--methods=mlm needs --model_dir: a checkpoint with its masked-LM head")
    if args.model_dir and "mlm" not in args.methods:
        logger.warning("--model_dir is used by the mlm method only, which --methods leaves out")
    source = Path(args.input_file)
    if not source.exists():
        raise ValueError(f"--input_file={args.input_file} does not exist")
    if not source.is_file():
        raise ValueError(f"--input_file={args.input_file} is not a file")
    if args.jieba_user_dict and not Path(args.jieba_user_dict).is_file():
        raise ValueError(f"--jieba_user_dict={args.jieba_user_dict} is not a file")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    import processors
    from classifier.files import refuse_writing_over_inputs
    from classifier.pretraining.words import JiebaSegmenter
    from curation.augmenter import AugmentSettings, augment_table
    from curation.tsv_table import read_table, write_table

    try:
        check_flags(args)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)], [("--input_file", args.input_file)]
        )
        if args.processor_file:
            processors.load_processor_plugin(args.processor_file)
        header = {"auto": "auto", "yes": True, "no": False}[args.header]
        table = read_table(args.input_file, args.task_name, header)
        settings = AugmentSettings(
            methods=args.methods,
            num_aug=args.num_aug,
            alpha=args.alpha,
            seed=args.seed,
            augment_both=args.augment_both,
            keep_original=args.keep_original,
        )
        segmenter = JiebaSegmenter(args.jieba_user_dict)
        filler = masked_word_filler(args) if "mlm" in args.methods else None
    except (processors.DataError, ValueError, OSError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows, summary = augment_table(table, settings, segmenter.words, filler)
    try:
        write_table(args.output_file, table.header, rows)
    except OSError as err:
        print(f"error: --output_file={args.output_file}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"{summary.line(settings.methods)}; wrote {args.output_file}")
    return 0


def masked_word_filler(args: argparse.Namespace):
    """The mlm method's model (TensorFlow loads here, and only for mlm)."""
    from curation.mlm_fill import MaskedWordFiller

    return MaskedWordFiller(
        args.model_dir, args.max_seq_length, args.batch_size, args.do_lower_case
    )


if __name__ == "__main__":
    sys.exit(main())
