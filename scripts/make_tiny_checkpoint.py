"""Write a tiny checkpoint folder in a real release format, with random weights.

    python -m scripts.make_tiny_checkpoint --output_dir /tmp/tiny_bert \
        [--family bert|albert|albert_brightmart] [--format tf1|hf] [--preset NAME] \
        [--vocab_file FILE] [--num_layers 2] [--hidden_size 64] [--randomize]

Each folder looks exactly like the real release, so that the demo and the tests exercise the
same loading code a real download goes through:
  bert tf1            Google chinese_L-12_H-768_A-12: bert_config.json, vocab.txt, bert_model.ckpt.*
  albert tf1          Google albert_base_zh: albert_config.json, model.ckpt-best.*, vocab_chinese.txt
  albert_brightmart   brightmart albert_tiny_zh: albert_config_tiny.json, albert_model.ckpt.*,
                      vocab.txt (brightmart naming; --ln_type preln for the pre-LN variant)
  bert/albert hf      config.json, model.safetensors, vocab.txt (--hf_task_model: with the
                      bert./albert. prefix and pretraining heads, as BertForPreTraining saves)
--preset NAME takes the family, naming and file names of a known checkpoint (classifier.presets).
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import dataclasses
import sys
from pathlib import Path

from classifier.flag_types import positive_int

from .cli_flags import add_bool, command_parser

SCHEMES = {
    ("bert", "tf1"): "google_bert_tf1",
    ("albert", "tf1"): "google_albert_tf1",
    ("albert_brightmart", "tf1"): "brightmart_albert_tf1",
    ("bert", "hf"): "hf_bert",
    ("albert", "hf"): "hf_albert",
}


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        __doc__.split("\n\n")[0],
        [
            "python -m scripts.make_tiny_checkpoint --output_dir=/tmp/tiny_bert",
            "python -m scripts.make_tiny_checkpoint --output_dir=/tmp/tiny_albert --family=albert --vocab_texts data/demo/train.tsv",
        ],
    )
    parser.add_argument("--output_dir", required=True, help="the checkpoint folder to write")
    parser.add_argument(
        "--family",
        choices=("bert", "albert", "albert_brightmart"),
        default="bert",
        help="architecture and naming scheme",
    )
    parser.add_argument(
        "--format",
        choices=("tf1", "hf"),
        default="tf1",
        help="Google's TF1 release layout or Hugging Face's",
    )
    parser.add_argument("--preset", help="use this known checkpoint's family and file names")
    parser.add_argument("--vocab_file", help="use this vocab instead of the built-in tiny one")
    parser.add_argument(
        "--vocab_texts",
        nargs="*",
        default=[],
        help="TSV/text files whose characters join the built-in tiny vocab",
    )
    parser.add_argument("--num_layers", type=positive_int, default=2, help="transformer layers")
    parser.add_argument("--hidden_size", type=positive_int, default=64, help="hidden width")
    parser.add_argument("--embedding_size", type=int, default=32, help="ALBERT only")
    parser.add_argument("--num_hidden_groups", type=int, default=1, help="Google ALBERT only")
    parser.add_argument("--inner_group_num", type=int, default=1, help="Google ALBERT only")
    parser.add_argument(
        "--ln_type",
        choices=("postln", "preln"),
        default="postln",
        help="brightmart ALBERT: LayerNorm after (postln) or before (preln) each block",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    add_bool(parser, "randomize", False, "random values in every tensor (parity tests)")
    add_bool(parser, "hf_task_model", False, "HF: bert./albert. prefix and pretraining heads")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from classifier.checkpoints.schemes import get_scheme
    from classifier.checkpoints.tiny import tiny_config, write_tiny_folder
    from classifier.checkpoints.writer import layout_of_files
    from classifier.config import GELU_EXACT
    from classifier.text.vocab import build_tiny_chinese_vocab, load_vocab

    layout = None
    if args.preset:
        from classifier.presets import get_preset

        preset = get_preset(args.preset)
        scheme = preset.scheme
        family = preset.family
        layout = layout_of_files(preset.files)
    else:
        if (args.family, args.format) not in SCHEMES:
            print("brightmart's albert_zh naming exists only as TF1 checkpoints", file=sys.stderr)
            return 2
        scheme = SCHEMES[(args.family, args.format)]
        family = get_scheme(scheme).family
    if args.vocab_file:
        vocab = list(load_vocab(args.vocab_file))
    else:
        texts = [Path(p).read_text(encoding="utf-8-sig") for p in args.vocab_texts]
        vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_config(
        family,
        len(vocab),
        args.num_layers,
        args.hidden_size,
        embedding_size=args.embedding_size,
        num_hidden_groups=args.num_hidden_groups,
        inner_group_num=args.inner_group_num,
        ln_type=args.ln_type,
    )
    if scheme == "hf_bert":  # Hugging Face BERT configs say "gelu": the exact erf form
        config = dataclasses.replace(config, hidden_act=GELU_EXACT)
    prefix = {"hf_bert": "bert.", "hf_albert": "albert."}.get(scheme, "")
    out = write_tiny_folder(
        args.output_dir,
        vocab,
        config,
        scheme,
        seed=args.seed,
        randomize=args.randomize,
        layout=layout,
        hf_prefix=prefix if args.hf_task_model else "",
    )
    print(
        f"wrote {out} ({scheme}): {config.num_hidden_layers} layers, hidden "
        f"{config.hidden_size}, vocab {config.vocab_size}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
