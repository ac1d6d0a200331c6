"""Convert a BERT/ALBERT checkpoint folder: TF1 (Google naming) <-> Hugging Face safetensors.

    scripts/convert_checkpoint.sh --input_dir chinese_L-12_H-768_A-12 \
        --output_dir chinese_L-12_H-768_A-12_hf            # TF1 -> config.json + model.safetensors
    scripts/convert_checkpoint.sh --input_dir hfl_rbt3 --output_dir rbt3_tf1 --to tf1
    scripts/convert_checkpoint.sh --input_dir hfl_macbert_base --output_dir macbert_st \
        --to hf --allow_pytorch_pickle                     # pytorch_model.bin -> safetensors

The input's family and format are detected; --to defaults to the other format. Tensors are
copied exactly (TF1 -> HF -> TF1 gives byte-identical tensors); pretraining heads are dropped.
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys

from .cli_flags import add_bool, command_parser, setup_logging

logger = logging.getLogger("convert_checkpoint")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        __doc__.split("\n\n")[0],
        [
            "scripts/convert_checkpoint.sh --input_dir=$BERT_BASE_DIR --output_dir=bert_hf --to=hf",
            "scripts/convert_checkpoint.sh --input_dir=hfl/chinese-roberta-wwm-ext --output_dir=roberta_tf1 --to=tf1",
        ],
    )
    p.add_argument(
        "--input_dir",
        required=True,
        help="downloaded checkpoint folder, or a Hugging Face model id (owner/name) or preset "
        "name read from the Hugging Face cache",
    )
    p.add_argument("--output_dir", required=True, help="where the converted folder goes")
    p.add_argument("--to", choices=("hf", "tf1"), help="target format (default: the other one)")
    p.add_argument("--bert_config_file", help="config JSON (default: found in --input_dir)")
    p.add_argument("--vocab_file", help="vocab.txt (default: found in --input_dir)")
    p.add_argument("--init_checkpoint", help="checkpoint prefix or file (default: found)")
    add_bool(
        p,
        "allow_pytorch_pickle",
        False,
        "read a pytorch_model.bin (a pickle: only for files you trust; needs torch)",
    )
    add_bool(p, "overwrite", False, "write into a non-empty --output_dir")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    from classifier.checkpoints.convert import convert_checkpoint
    from classifier.files import refuse_writing_over_inputs

    try:
        refuse_writing_over_inputs(
            [("--output_dir", args.output_dir)],
            [
                ("--input_dir", args.input_dir),
                ("--bert_config_file", args.bert_config_file),
                ("--vocab_file", args.vocab_file),
            ],
        )
        result = convert_checkpoint(
            args.input_dir,
            args.output_dir,
            args.to,
            allow_pickle=args.allow_pytorch_pickle,
            overwrite=args.overwrite,
            config_file=args.bert_config_file,
            vocab_file=args.vocab_file,
            init_checkpoint=args.init_checkpoint,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        logger.error("%s", err)
        return 2
    print(
        f"wrote {result.output_dir} ({result.scheme_name}) from {result.source.files.checkpoint} "
        f"({result.source.scheme.name})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
