"""Command line of scripts/pretrain.sh: masked-LM pretraining, flags as run_pretraining.py."""

from __future__ import annotations

import argparse
import logging
import sys

from classifier.distribution import STRATEGIES
from classifier.flag_types import (
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
)

from .cli_flags import add_bool, env_default, setup_logging

logger = logging.getLogger("pretrain")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Masked-language-model pretraining of a BERT or ALBERT backbone.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("text")
    g.add_argument(
        "--input_file",
        required=True,
        help="UTF-8 text files, comma-separated, globs allowed: documents separated by blank "
        "lines, or one document per line",
    )
    g.add_argument(
        "--document_format",
        choices=("auto", "blank_lines", "lines"),
        default="auto",
        help="auto: blank-line-separated documents if a file has blank lines, else one per line",
    )
    g.add_argument(
        "--eval_fraction",
        type=number(float, 0, 1, high_open=True),
        default=0.02,
        help="documents held out",
    )
    g.add_argument("--max_eval_sequences", type=non_negative_int, default=2000)

    g = p.add_argument_group("model")
    g.add_argument(
        "--model_dir",
        default=env_default("BERT_BASE_DIR"),
        help="checkpoint folder to continue pretraining (default $BERT_BASE_DIR)",
    )
    g.add_argument(
        "--bert_config_file",
        "--config_file",
        dest="config_file",
        help="model config JSON: with --vocab_file and no --model_dir, pretrain from scratch",
    )
    g.add_argument("--vocab_file", help="vocab.txt (see scripts/build_vocab.sh)")
    g.add_argument("--init_checkpoint", help="checkpoint prefix or file (default: in --model_dir)")
    add_bool(g, "allow_pytorch_pickle", False, "read a Hugging Face pytorch_model.bin")
    add_bool(
        g,
        "allow_vocab_mismatch",
        False,
        "accept a vocab.txt with fewer tokens than the config's vocab_size (an embedding table "
        "with unused rows); otherwise a size mismatch is an error",
    )
    add_bool(g, "do_lower_case", True, "lower-case and strip accents (Chinese releases: true)")

    g = p.add_argument_group("masking")
    g.add_argument("--max_seq_length", type=number(int, 8, 512), default=128)
    g.add_argument("--max_predictions_per_seq", type=positive_int, default=20)
    g.add_argument("--masked_lm_prob", type=number(float, 0, 1, low_open=True), default=0.15)
    g.add_argument(
        "--masking",
        choices=("whole_word", "token"),
        default="whole_word",
        help="whole_word: every WordPiece of a jieba word masked together; token: plain BERT",
    )
    g.add_argument("--jieba_user_dict", help="jieba user dictionary (one word per line)")

    g = p.add_argument_group("training")
    g.add_argument("--output_dir", required=True)
    add_bool(g, "overwrite", False, "start again in an --output_dir that holds a run")
    g.add_argument("--train_batch_size", type=positive_int, default=32)
    g.add_argument("--eval_batch_size", type=positive_int, default=64)
    g.add_argument(
        "--learning_rate",
        type=positive_float,
        default=None,
        help="peak rate (default: 1e-4 from a checkpoint or for a knowledge adapter; from "
        "scratch 1e-3 up to hidden 128, 5e-4 up to 256, 1e-4 above)",
    )
    g.add_argument("--num_train_steps", type=positive_int, default=10000)
    g.add_argument(
        "--num_warmup_steps",
        type=non_negative_int,
        default=None,
        help="default: 10%% of num_train_steps",
    )
    g.add_argument("--weight_decay", type=non_negative_float, default=0.01)
    g.add_argument("--adam_epsilon", type=positive_float, default=1e-6)
    g.add_argument(
        "--save_checkpoints_steps",
        type=positive_int,
        default=1000,
        help="checkpoint, held-out evaluation and summary every this many steps",
    )
    g.add_argument("--keep_checkpoints", type=positive_int, default=3)
    g.add_argument(
        "--distribution_strategy",
        choices=STRATEGIES,
        default="default",
        help="default: one device; mirrored: every GPU of this machine; multi_worker: the "
        "machines in TF_CONFIG (docs/distributed.md). --train_batch_size is per replica",
    )
    g.add_argument(
        "--gradient_accumulation_steps",
        type=positive_int,
        default=1,
        help="average the gradients of this many batches into one update (Keras's optimizer "
        "option); --num_train_steps and --num_warmup_steps count batches",
    )
    g.add_argument("--log_every_steps", type=positive_int, default=100)
    g.add_argument("--seed", type=non_negative_int, default=12345)
    add_bool(g, "bf16", False, "mixed precision: bfloat16 compute, float32 weights")
    g.add_argument(
        "--output_format",
        choices=("tf1", "hf"),
        default="tf1",
        help="tf1: Google's format; hf: config.json + model.safetensors (BertForMaskedLM names)",
    )
    add_bool(g, "verbose", False, "debug logging")

    from classifier.adapters.flags import add_adapter_arguments

    group = add_adapter_arguments(
        p,
        kinds=("k_adapter",),
        title="K-Adapter knowledge infusion (phase 1)",
        adapter_help="train a knowledge adapter beside the frozen --model_dir instead of the model",
    )
    group.add_argument(
        "--knowledge_task",
        choices=("mlm", "tagging"),
        default=None,
        help="mlm: masked LM over domain text; tagging: part of speech and word position from "
        "a word/tag corpus (People's Daily format)",
    )
    return p


def knowledge_options(args: argparse.Namespace):
    """(knowledge task, KAdapterConfig) from the flags; (None, None) for plain pretraining."""
    from classifier.adapters.flags import adapter_config_from_args

    config = adapter_config_from_args(args)  # refuses adapter flags without --adapter
    if (config is None) != (args.knowledge_task is None):
        raise ValueError("--adapter=k_adapter and --knowledge_task go together")
    return args.knowledge_task, config


def options_from_args(args: argparse.Namespace):
    from classifier.pretraining.run import PretrainOptions

    knowledge_task, adapter_config = knowledge_options(args)
    return PretrainOptions(
        knowledge_task=knowledge_task,
        adapter_config=adapter_config,
        input_file=args.input_file,
        output_dir=args.output_dir,
        model_dir=args.model_dir,
        config_file=args.config_file,
        vocab_file=args.vocab_file,
        init_checkpoint=args.init_checkpoint,
        allow_pytorch_pickle=args.allow_pytorch_pickle,
        allow_vocab_mismatch=args.allow_vocab_mismatch,
        do_lower_case=args.do_lower_case,
        max_seq_length=args.max_seq_length,
        max_predictions_per_seq=args.max_predictions_per_seq,
        masked_lm_prob=args.masked_lm_prob,
        masking=args.masking,
        jieba_user_dict=args.jieba_user_dict,
        document_format=args.document_format,
        eval_fraction=args.eval_fraction,
        max_eval_sequences=args.max_eval_sequences,
        train_batch_size=args.train_batch_size,
        eval_batch_size=args.eval_batch_size,
        learning_rate=args.learning_rate,
        num_train_steps=args.num_train_steps,
        num_warmup_steps=args.num_warmup_steps,
        weight_decay=args.weight_decay,
        adam_epsilon=args.adam_epsilon,
        save_checkpoints_steps=args.save_checkpoints_steps,
        keep_checkpoints=args.keep_checkpoints,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        distribution_strategy=args.distribution_strategy,
        log_every_steps=args.log_every_steps,
        seed=args.seed,
        bf16=args.bf16,
        output_format=args.output_format,
        overwrite=args.overwrite,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from classifier.files import refuse_writing_over_inputs
    from classifier.pretraining.run import run_pretraining

    try:
        refuse_writing_over_inputs(
            [("--output_dir", args.output_dir)],
            [
                ("--model_dir", args.model_dir),
                ("--vocab_file", args.vocab_file),
                ("--bert_config_file", args.config_file),
            ],
        )
        run_pretraining(options_from_args(args))
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        logger.error("%s", err)
        return 2
    except (IsADirectoryError, NotADirectoryError, PermissionError) as err:
        logger.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
