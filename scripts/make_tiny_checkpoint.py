"""Write a tiny checkpoint folder in a real release format, with random weights.

    python scripts/make_tiny_checkpoint.py --output_dir /tmp/tiny_bert \
        [--vocab_file FILE] [--num_layers 2] [--hidden_size 64]

The folder looks exactly like Google's chinese_L-12_H-768_A-12 (bert_config.json, vocab.txt,
bert_model.ckpt.index/.data-00000-of-00001/.meta), so that the demo and the tests exercise the
same loading code a real download goes through.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--vocab_file", help="use this vocab instead of the built-in tiny one")
    parser.add_argument(
        "--vocab_texts",
        nargs="*",
        default=[],
        help="TSV/text files whose characters join the built-in tiny vocab",
    )
    parser.add_argument("--num_layers", type=int, default=2)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--randomize", action="store_true", help="random values in every tensor (parity tests)"
    )
    args = parser.parse_args(argv)

    from classifier.text.vocab import build_tiny_chinese_vocab, load_vocab

    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder

    if args.vocab_file:
        vocab = load_vocab(args.vocab_file)
    else:
        texts = [Path(p).read_text(encoding="utf-8-sig") for p in args.vocab_texts]
        vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), args.num_layers, args.hidden_size)
    out = write_google_bert_folder(
        args.output_dir, vocab, config, seed=args.seed, randomize=args.randomize
    )
    print(
        f"wrote {out}: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"vocab {config.vocab_size}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
