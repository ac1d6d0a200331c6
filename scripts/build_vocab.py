"""Build a Chinese WordPiece vocab.txt from a corpus (for pretraining from scratch).

    scripts/build_vocab.sh --input_file='corpus/*.txt' --output_file=vocab.txt \
        [--vocab_size 21128] [--min_frequency 2]

Every CJK character of the corpus, every other character (as a word start and as a "##"
continuation), then the most frequent Latin/digit words and "##" endings up to the size, in
Google's Chinese vocab.txt layout ([PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK], ...).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from classifier.flag_types import number, positive_int

from .cli_flags import add_bool, setup_logging

logger = logging.getLogger("build_vocab")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input_file", required=True, help="files, comma-separated, globs")
    parser.add_argument("--output_file", required=True)
    parser.add_argument("--vocab_size", type=number(int, 10), default=21128)
    parser.add_argument("--min_frequency", type=positive_int, default=2)
    add_bool(parser, "do_lower_case", True, "count words as an uncased model will see them")
    args = parser.parse_args(argv)
    setup_logging()
    from classifier.files import refuse_writing_over_inputs
    from classifier.pretraining.corpus import CorpusError, expand_input_files, iter_corpus
    from classifier.pretraining.vocab_builder import build_vocab, count_words
    from classifier.text.vocab import write_vocab

    try:
        files = expand_input_files(args.input_file)
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)], [("--input_file", f) for f in files]
        )
        texts = (s for document in iter_corpus(files) for s in document)
        counts = count_words(texts, args.do_lower_case)
        vocab = build_vocab(counts, args.vocab_size, args.min_frequency)
    except (CorpusError, ValueError) as err:
        logger.error("%s", err)
        return 2
    output = Path(args.output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_vocab(output, vocab)
    cjk = sum(1 for t in vocab if len(t) == 1 and "\u4e00" <= t <= "\u9fff")
    logger.info(
        "wrote %s: %d tokens (%d CJK characters) from %d files", output, len(vocab), cjk, len(files)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
