"""Command line of scripts/train.sh: read the data with a processor, then train/eval/predict."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys

from classifier.distribution import STRATEGIES
from classifier.flag_types import number, positive_int, str_list
from classifier.options import add_flags, flag_values
from classifier.training.training_config import PRECISION, TrainingConfig

from .cli_flags import (
    add_bool,
    add_long_text_arguments,
    add_verbosity,
    command_parser,
    env_default,
    long_text_overrides,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("train")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Fine-tune a BERT/ALBERT checkpoint for text classification.",
        [
            "scripts/train.sh --do_train --do_eval --data_dir=data/demo --model_dir=$BERT_BASE_DIR --output_dir=output/demo",
            "scripts/train.sh --task_name=multilabel --do_train --do_eval --do_predict --data_dir=$DATA_DIR --model_dir=$BERT_BASE_DIR --output_dir=output/tags",
            "scripts/train.sh --do_train --do_eval --adapter=lora --data_dir=$DATA_DIR --model_dir=$BERT_BASE_DIR --output_dir=output/lora",
        ],
    )
    g = p.add_argument_group("task and data")
    g.add_argument(
        "--task_name",
        default="tsv",
        help="registered processor: tsv, pair, multilabel, hierarchical (label paths 体育##足球) or your own",
    )
    g.add_argument(
        "--processor_file", help="a .py file (or module) that registers your own processor"
    )
    g.add_argument(
        "--data_dir",
        default=env_default("DATA_DIR"),
        help="folder with train.tsv, dev.tsv, test.tsv (default $DATA_DIR)",
    )
    g.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether TSV files start with a header line",
    )
    g.add_argument(
        "--cache_dir",
        default=None,
        help="where train.tsv is kept encoded (TFRecord shards), reused by later runs on the "
        "same data and settings (default $ZH_TEXTCLF_CACHE or ~/.cache/zh-textclf)",
    )
    add_bool(g, "skip_bad_rows", False, "skip malformed rows (and report them) instead of stopping")

    g = p.add_argument_group("pretrained model")
    g.add_argument(
        "--model_dir",
        default=env_default("BERT_BASE_DIR"),
        help="downloaded checkpoint folder, or a Hugging Face model id (owner/name[@revision]) "
        "or preset name read from the Hugging Face cache (default $BERT_BASE_DIR)",
    )
    g.add_argument("--bert_config_file", help="model config JSON (default: found in --model_dir)")
    g.add_argument("--vocab_file", help="vocab.txt (default: found in --model_dir)")
    g.add_argument(
        "--init_checkpoint", help="checkpoint prefix or file (default: found in --model_dir)"
    )
    add_bool(
        g,
        "allow_pytorch_pickle",
        False,
        "read a Hugging Face pytorch_model.bin (a pickle: only for files you trust; needs torch)",
    )
    add_bool(
        g,
        "allow_vocab_mismatch",
        False,
        "accept a vocab.txt with fewer tokens than the config's vocab_size (an embedding table "
        "with unused rows); otherwise a size mismatch is an error",
    )
    add_bool(
        g,
        "do_lower_case",
        True,
        "lower-case and strip accents (True for all Chinese BERT/ALBERT releases)",
    )
    g.add_argument(
        "--max_seq_length",
        type=number(int, 3, 512),
        default=128,
        help="tokens per text (or pair), [CLS] and [SEP] included; longer texts follow --long_text",
    )
    add_long_text_arguments(
        p,
        "Stored in the run folder with --do_train; given with --do_eval/--do_predict alone, "
        "they override the stored settings for that evaluation.",
    )

    g = p.add_argument_group("what to run")
    add_bool(g, "do_train", False, "fine-tune on train.tsv, selecting the best epoch on dev.tsv")
    add_bool(g, "do_eval", False, "evaluate on dev.tsv and write the reports")
    add_bool(g, "do_predict", False, "predict test.tsv into test_predictions.tsv")
    g.add_argument(
        "--output_dir", required=True, help="the run folder: checkpoints, model, reports"
    )
    add_bool(g, "overwrite", False, "replace an earlier run's files in --output_dir")
    add_bool(
        g,
        "explain_errors",
        True,
        "error_analysis.md says why its most confident mistakes were made (top words by "
        "integrated gradients, the 3 nearest training rows), and training ends by building "
        "the support index of the training rows (up to 50,000; one forward pass) that "
        "scripts/explain.sh reads; false: neither",
    )

    # Every training setting, from its one declaration (classifier.training.training_config).
    groups = add_flags(p, TrainingConfig, "train")
    groups["training"].add_argument(
        "--predict_batch_size", type=positive_int, default=64, help="texts per prediction batch"
    )
    g = p.add_argument_group("devices and machines (docs/distributed.md)")
    g.add_argument(
        "--distribution_strategy",
        choices=STRATEGIES,
        default="default",
        help="default: one device; mirrored: every GPU of this machine (MirroredStrategy); "
        "multi_worker: the machines in TF_CONFIG (MultiWorkerMirroredStrategy). "
        "--train_batch_size is per replica",
    )
    add_verbosity(groups[PRECISION])
    add_adapter_flags(p)
    return p


def add_adapter_flags(p: argparse.ArgumentParser) -> None:
    """Adapter flags, generated from the registry's list (classifier.adapter_config.flags)."""
    from classifier.adapter_config.flags import add_adapter_arguments

    add_adapter_arguments(p)
    g = p.add_argument_group("K-Adapter knowledge adapters (phase 2)")
    g.add_argument(
        "--knowledge_adapters",
        type=str_list,
        help="comma-separated knowledge adapters from pretrain.sh --adapter=k_adapter (their "
        "output dirs): run beside the backbone, their features concatenated for the head",
    )
    add_bool(g, "train_knowledge_adapters", False, "fine-tune the knowledge adapters too")
    add_bool(
        g,
        "freeze_backbone",
        False,
        "with --knowledge_adapters: keep the backbone frozen (default: fine-tune it)",
    )


def options_from_args(args: argparse.Namespace):
    from classifier.adapter_config.flags import adapter_config_from_args, default_learning_rate
    from classifier.training.run import RunOptions

    adapter = adapter_config_from_args(args)
    if args.knowledge_adapters:
        if adapter is not None:
            raise ValueError("--knowledge_adapters cannot be combined with --adapter")
        from classifier.adapter_config import KnowledgeAdaptersConfig

        adapter = KnowledgeAdaptersConfig(
            adapter_dirs=tuple(args.knowledge_adapters),
            train_adapters=args.train_knowledge_adapters,
            train_backbone=not args.freeze_backbone,
        )
    elif args.train_knowledge_adapters or args.freeze_backbone:
        raise ValueError(
            "--train_knowledge_adapters and --freeze_backbone need --knowledge_adapters"
        )
    values = flag_values(args, TrainingConfig, "train")
    if values["learning_rate"] is None:  # the default depends on --adapter
        values["learning_rate"] = default_learning_rate(adapter)
    training = TrainingConfig(**values)
    return RunOptions(
        output_dir=args.output_dir,
        do_train=args.do_train,
        do_eval=args.do_eval,
        do_predict=args.do_predict,
        overwrite=args.overwrite,
        task_name=args.task_name,
        model_dir=args.model_dir,
        config_file=args.bert_config_file,
        vocab_file=args.vocab_file,
        init_checkpoint=args.init_checkpoint,
        allow_pytorch_pickle=args.allow_pytorch_pickle,
        allow_vocab_mismatch=args.allow_vocab_mismatch,
        do_lower_case=args.do_lower_case,
        max_seq_length=args.max_seq_length,
        predict_batch_size=args.predict_batch_size,
        long_text=long_text_overrides(args),
        training=training,
        adapter=adapter,
        distribution_strategy=args.distribution_strategy,
        cache_dir=args.cache_dir,
        explain_errors=args.explain_errors,
    )


def make_processor(args: argparse.Namespace, task_name: str | None = None):
    """The processor of ``task_name`` (default --task_name) over --data_dir, after loading
    --processor_file; train.sh's and distill.sh's."""
    import processors

    if args.processor_file:
        processors.load_processor_plugin(args.processor_file)
    if not args.data_dir:
        raise ValueError("--data_dir is required (or set DATA_DIR)")
    header = {"auto": "auto", "yes": True, "no": False}[args.header]
    cls = processors.get_processor(task_name or args.task_name)
    return cls(args.data_dir, skip_bad_rows=args.skip_bad_rows, header=header)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    if not (args.do_train or args.do_eval or args.do_predict):
        logger.error("nothing to do: pass at least one of --do_train, --do_eval, --do_predict")
        return 2
    from classifier.files import refuse_writing_over_inputs
    from classifier.training.run import run

    def job() -> None:
        refuse_writing_over_inputs(
            [("--output_dir", args.output_dir)],
            [
                ("--data_dir", args.data_dir),
                ("--model_dir", args.model_dir),
                ("--vocab_file", args.vocab_file),
                ("--bert_config_file", args.bert_config_file),
            ],
        )
        run(options_from_args(args), make_processor(args))

    return run_reporting_errors(job)


def run_reporting_errors(job, log: logging.Logger = logger) -> int:
    """Runs ``job``; a bad input (data, flag, file) is logged without a traceback and exits 2,
    a run that diverged exits 1."""
    from classifier.training.checkpointing import TrainingError
    from processors import DataError

    try:
        job()
    except (DataError, ValueError, FileNotFoundError, FileExistsError) as err:
        log.error("%s", err)
        return 2
    except (IsADirectoryError, NotADirectoryError, PermissionError) as err:
        log.error("%s", err)
        return 2
    except TrainingError as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
