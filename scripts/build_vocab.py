"""Build a Chinese WordPiece vocab.txt from a corpus (for pretraining from scratch).

    scripts/build_vocab.sh --input_file='corpus/*.txt' --output_file=vocab.txt \
        [--vocab_size 21128] [--min_frequency 2] \
        [--config_file=bert_config.json --model_size=mini]

With --config_file it also writes the model config that pretrain.sh needs to start from scratch
(Google's bert_config.json, its vocab_size this vocab's), in one of Google's BERT sizes (Turc et
al. 2019, the compact models): tiny L2/H128, mini L4/H256, small L4/H512, medium L8/H512,
base L12/H768; heads H/64, feed-forward 4H.

Every CJK character of the corpus, every other character (as a word start and as a "##"
continuation), then the most frequent Latin/digit words and "##" endings up to the size, in
Google's Chinese vocab.txt layout ([PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK], ...).
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys
from pathlib import Path

from classifier.flag_types import number, positive_int

from .cli_flags import add_bool, command_parser, setup_logging

logger = logging.getLogger("build_vocab")

# Google's compact BERT sizes (layers, hidden): Turc et al. 2019, "Well-Read Students Learn Better".
MODEL_SIZES = {
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
}


def write_config(path: Path, vocab_size: int, size: str) -> None:
    """Google's bert_config.json for a BERT of ``size`` over a vocab of ``vocab_size``."""
    import json

    from classifier.config import ModelConfig

    layers, hidden = MODEL_SIZES[size]
    config = ModelConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        intermediate_size=4 * hidden,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config.to_google_dict(), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "wrote %s: BERT-%s, %d layers, hidden %d, vocab %d", path, size, layers, hidden, vocab_size
    )


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        __doc__.split("\n\n")[0],
        [
            "scripts/build_vocab.sh --input_file='corpus/*.txt' --output_file=vocab.txt",
            "scripts/build_vocab.sh --input_file='corpus/*.txt' --output_file=vocab.txt "
            "--config_file=bert_config.json --model_size=mini",
        ],
    )
    parser.add_argument("--input_file", required=True, help="files, comma-separated, globs")
    parser.add_argument("--output_file", required=True, help="the vocab.txt to write")
    parser.add_argument(
        "--vocab_size", type=number(int, 10), default=21128, help="tokens, special ones included"
    )
    parser.add_argument(
        "--min_frequency", type=positive_int, default=2, help="rarer words are left out"
    )
    add_bool(parser, "do_lower_case", True, "count words as an uncased model will see them")
    parser.add_argument(
        "--config_file",
        help="also write a bert_config.json of --model_size for this vocab (pretraining from "
        "scratch: pretrain.sh --bert_config_file)",
    )
    parser.add_argument(
        "--model_size",
        choices=tuple(MODEL_SIZES),
        default="base",
        help="the size --config_file describes",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from classifier.files import refuse_writing_over_inputs
    from classifier.pretraining.corpus import CorpusError, expand_input_files, iter_corpus
    from classifier.pretraining.vocab_builder import build_vocab, count_words
    from classifier.text.vocab import write_vocab

    try:
        files = expand_input_files(args.input_file)
        outputs = [("--output_file", args.output_file), ("--config_file", args.config_file)]
        refuse_writing_over_inputs(outputs, [("--input_file", f) for f in files])
        texts = (s for document in iter_corpus(files) for s in document)
        counts = count_words(texts, args.do_lower_case)
        vocab = build_vocab(counts, args.vocab_size, args.min_frequency)
    except (CorpusError, ValueError) as err:
        logger.error("%s", err)
        return 2
    output = Path(args.output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_vocab(output, vocab)
    if args.config_file:
        write_config(Path(args.config_file), len(vocab), args.model_size)
    cjk = sum(1 for t in vocab if len(t) == 1 and "\u4e00" <= t <= "\u9fff")
    logger.info(
        "wrote %s: %d tokens (%d CJK characters) from %d files", output, len(vocab), cjk, len(files)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
