"""Command line of scripts/pretrain.sh: masked-LM pretraining, flags as run_pretraining.py."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys

from .cli_flags import add_verbosity, command_parser, setup_logging, verbosity

logger = logging.getLogger("pretrain")


def build_parser() -> argparse.ArgumentParser:
    from classifier.adapter_config.flags import add_adapter_arguments
    from classifier.options import add_flags
    from classifier.pretraining.options import GROUPS, KNOWLEDGE, TRAINING, PretrainOptions

    p = command_parser(
        "Masked-language-model pretraining of a BERT or ALBERT backbone.",
        [
            "scripts/pretrain.sh --input_file='corpus/*.txt' --model_dir=$BERT_BASE_DIR --output_dir=output/domain_bert --num_train_steps=10000",
            "scripts/pretrain.sh --input_file='corpus/*.txt' --bert_config_file=bert_config.json --vocab_file=vocab.txt --output_dir=output/my_bert",
            "scripts/pretrain.sh --adapter=k_adapter --knowledge_task=tagging --input_file=tagged.txt --model_dir=$BERT_BASE_DIR --output_dir=output/ka_tagging",
        ],
    )
    groups = {title: p.add_argument_group(title) for title in GROUPS}  # --help's order
    add_flags(p, PretrainOptions, "pretrain", groups, sections=GROUPS)
    add_verbosity(groups[TRAINING])
    groups[KNOWLEDGE] = add_adapter_arguments(
        p,
        kinds=("k_adapter",),
        title=KNOWLEDGE,
        adapter_help="train a knowledge adapter beside the frozen --model_dir instead of the model",
    )
    add_flags(p, PretrainOptions, "pretrain", groups, sections=(KNOWLEDGE,))
    return p


def knowledge_options(args: argparse.Namespace):
    """(knowledge task, KAdapterConfig) from the flags; (None, None) for plain pretraining."""
    from classifier.adapter_config.flags import adapter_config_from_args

    config = adapter_config_from_args(args)  # refuses adapter flags without --adapter
    if (config is None) != (args.knowledge_task is None):
        raise ValueError("--adapter=k_adapter and --knowledge_task go together")
    return args.knowledge_task, config


def options_from_args(args: argparse.Namespace):
    from classifier.options import flag_values
    from classifier.pretraining.options import PretrainOptions

    values = flag_values(args, PretrainOptions, "pretrain")
    values["knowledge_task"], values["adapter_config"] = knowledge_options(args)
    return PretrainOptions(**values)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
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
