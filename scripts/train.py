"""Command line of scripts/train.sh: read the data with a processor, then train/eval/predict."""

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
    probability,
    str_list,
)
from classifier.thresholds import STRATEGIES as THRESHOLD_STRATEGIES

from .cli_flags import (
    add_bool,
    add_long_text_arguments,
    env_default,
    long_text_overrides,
    setup_logging,
)

logger = logging.getLogger("train")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Fine-tune a BERT/ALBERT checkpoint for text classification.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("task and data")
    g.add_argument(
        "--task_name", default="tsv", help="registered processor: tsv, pair, multilabel or your own"
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
        help="downloaded checkpoint folder (default $BERT_BASE_DIR)",
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
    g.add_argument("--max_seq_length", type=number(int, 3, 512), default=128)
    add_long_text_arguments(
        p,
        "Stored in the run folder with --do_train; given with --do_eval/--do_predict alone, "
        "they override the stored settings for that evaluation.",
    )

    g = p.add_argument_group("what to run")
    add_bool(g, "do_train", False, "fine-tune on train.tsv, selecting the best epoch on dev.tsv")
    add_bool(g, "do_eval", False, "evaluate on dev.tsv and write the reports")
    add_bool(g, "do_predict", False, "predict test.tsv into test_predictions.tsv")
    g.add_argument("--output_dir", required=True)
    add_bool(g, "overwrite", False, "replace an earlier run's files in --output_dir")
    g.add_argument(
        "--save_checkpoints_steps",
        type=positive_int,
        default=1000,
        help="checkpoint the whole training state into OUTPUT_DIR/checkpoints every this many "
        "steps and at each epoch end; rerunning a killed run's command resumes it",
    )
    g.add_argument(
        "--keep_checkpoints",
        type=positive_int,
        default=3,
        help="how many recent checkpoints to keep",
    )

    g = p.add_argument_group("training")
    g.add_argument("--train_batch_size", type=positive_int, default=32)
    g.add_argument("--eval_batch_size", type=positive_int, default=64)
    g.add_argument("--predict_batch_size", type=positive_int, default=64)
    g.add_argument(
        "--learning_rate",
        type=positive_float,
        default=None,
        help="peak learning rate (default 2e-5; 1e-4 with --adapter)",
    )
    g.add_argument("--num_train_epochs", type=number(float, 0, 10_000, low_open=True), default=3.0)
    g.add_argument("--warmup_proportion", type=probability, default=0.1)
    g.add_argument("--weight_decay", type=non_negative_float, default=0.01)
    g.add_argument("--head_dropout", type=number(float, 0, 1, high_open=True), default=0.1)
    g.add_argument(
        "--metric",
        default=None,
        help="dev metric that picks the best epoch (accuracy, macro_f1, micro_f1, ...)",
    )
    g.add_argument("--early_stopping_patience", type=positive_int, default=None)
    g.add_argument(
        "--class_weight",
        choices=("balanced",),
        default=None,
        help="weight classes inversely to their frequency",
    )
    g.add_argument("--seed", type=non_negative_int, default=12345)
    g.add_argument(
        "--adam_epsilon",
        type=positive_float,
        default=1e-6,
        help="AdamW epsilon (google-research/bert 1e-6; torch/HF Trainer 1e-8)",
    )
    add_bool(
        g,
        "group_by_length",
        False,
        "length-sorted training batches: less padding, but each batch's labels are skewed "
        "by length (see docs/training.md)",
    )

    g.add_argument(
        "--gradient_accumulation_steps",
        type=positive_int,
        default=1,
        help="average the gradients of this many batches into one update (an N-times larger "
        "batch in the memory of one; Keras's optimizer option)",
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

    g = p.add_argument_group("loss and imbalance")
    g.add_argument(
        "--loss",
        choices=("cross_entropy", "focal", "asymmetric"),
        default="cross_entropy",
        help="cross_entropy; focal (Lin et al. 2017); asymmetric (multilabel, Ridnik et al. 2021)",
    )
    g.add_argument(
        "--pos_weight",
        type=pos_weight_value,
        default=None,
        help="multilabel: weight of each label's positive term: 'balanced' (n_neg/n_pos per "
        "label, at most 100) or one number for all labels",
    )
    g.add_argument(
        "--focal_gamma", type=non_negative_float, default=2.0, help="focal loss focusing gamma"
    )
    g.add_argument(
        "--asl_gamma_neg", type=non_negative_float, default=4.0, help="asymmetric loss: negatives"
    )
    g.add_argument(
        "--asl_gamma_pos", type=non_negative_float, default=0.0, help="asymmetric loss: positives"
    )
    g.add_argument(
        "--asl_clip",
        type=number(float, 0, 1, high_open=True),
        default=0.05,
        help="asymmetric loss: probability margin m",
    )
    g.add_argument(
        "--label_smoothing",
        type=number(float, 0, 1, high_open=True),
        default=0.0,
        help="multiclass: target smoothing",
    )
    g.add_argument(
        "--head_bias_init",
        choices=("prior", "zeros"),
        default="prior",
        help="start the head at the training label frequencies (prior) or at zero logits",
    )
    g = p.add_argument_group("fine-tuning recipes (docs/training.md)")
    g.add_argument(
        "--layerwise_lr_decay",
        type=number(float, 0, 1, low_open=True),
        default=None,
        help="layer-wise learning-rate decay d: head and pooler at the peak, layer i of L at "
        "d^(L-i), embeddings at d^(L+1) (e.g. 0.9)",
    )
    g.add_argument(
        "--head_learning_rate",
        type=positive_float,
        default=None,
        help="peak learning rate of the classification head (default --learning_rate)",
    )
    g.add_argument(
        "--adversarial",
        choices=("fgm",),
        default=None,
        help="adversarial training on the word embeddings: fgm (fast gradient method)",
    )
    g.add_argument("--adv_epsilon", type=positive_float, default=1.0, help="FGM perturbation norm")
    g.add_argument(
        "--rdrop_alpha",
        type=non_negative_float,
        default=0.0,
        help="R-Drop: weight of the symmetric KL between two dropout passes (e.g. 1.0-5.0)",
    )
    g.add_argument(
        "--ema_decay",
        type=number(float, 0, 1, low_open=True, high_open=True),
        default=None,
        help="keep an exponential moving average of the weights (e.g. 0.999); dev judges, "
        "and the run saves and exports, the averaged weights",
    )
    g.add_argument(
        "--calibration",
        choices=("temperature", "none"),
        default="temperature",
        help="after training, fit temperature scaling on dev so the probabilities are "
        "calibrated (decisions unchanged); shipped in the export",
    )
    g.add_argument(
        "--threshold_strategy",
        choices=THRESHOLD_STRATEGIES,
        default=argparse.SUPPRESS,  # the head's default (its help says which)
        help="multilabel: how the decision thresholds are fitted on dev for --metric: per_label (a global cut-off, then label-by-label moves kept only where they raise the metric; shipped only where 5-fold cross-validation says they beat the global cut-off), global (one cut-off), fixed (0.5); the dev report is cross-fitted (default: per_label)",
    )
    g = p.add_argument_group("precision and logging")
    add_bool(
        g,
        "bf16",
        False,
        "mixed precision: bfloat16 compute, float32 weights (fast on CPUs with AMX or "
        "AVX512-BF16; see benchmarks/RESULTS.md for the accuracy change)",
    )
    add_bool(g, "verbose", False, "debug logging")
    add_adapter_flags(p)
    return p


def pos_weight_value(text: str) -> str | float:
    if text.strip().lower() == "balanced":
        return "balanced"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'balanced' or a positive number, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def add_adapter_flags(p: argparse.ArgumentParser) -> None:
    """Adapter flags, generated from the registry's list (classifier.adapters.flags)."""
    from classifier.adapters.flags import add_adapter_arguments

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
    from classifier.adapters.flags import adapter_config_from_args, default_learning_rate
    from classifier.training.run import RunOptions
    from classifier.training.training_config import TrainingConfig

    adapter = adapter_config_from_args(args)
    if args.knowledge_adapters:
        if adapter is not None:
            raise ValueError("--knowledge_adapters cannot be combined with --adapter")
        from classifier.adapters import KnowledgeAdaptersConfig

        adapter = KnowledgeAdaptersConfig(
            adapter_dirs=tuple(args.knowledge_adapters),
            train_adapters=args.train_knowledge_adapters,
            train_backbone=not args.freeze_backbone,
        )
    elif args.train_knowledge_adapters or args.freeze_backbone:
        raise ValueError(
            "--train_knowledge_adapters and --freeze_backbone need --knowledge_adapters"
        )
    training = TrainingConfig(
        learning_rate=(
            args.learning_rate if args.learning_rate is not None else default_learning_rate(adapter)
        ),
        num_train_epochs=args.num_train_epochs,
        train_batch_size=args.train_batch_size,
        eval_batch_size=args.eval_batch_size,
        warmup_proportion=args.warmup_proportion,
        weight_decay=args.weight_decay,
        seed=args.seed,
        metric=args.metric,
        early_stopping_patience=args.early_stopping_patience,
        class_weight=args.class_weight,
        head_dropout=args.head_dropout,
        bf16=args.bf16,
        adam_epsilon=args.adam_epsilon,
        loss=args.loss,
        pos_weight=args.pos_weight,
        focal_gamma=args.focal_gamma,
        asl_gamma_pos=args.asl_gamma_pos,
        asl_gamma_neg=args.asl_gamma_neg,
        asl_clip=args.asl_clip,
        label_smoothing=args.label_smoothing,
        head_bias_init=args.head_bias_init,
        group_by_length=args.group_by_length,
        calibration=args.calibration,
        threshold_strategy=getattr(args, "threshold_strategy", None),
        layerwise_lr_decay=args.layerwise_lr_decay,
        head_learning_rate=args.head_learning_rate,
        adversarial=args.adversarial,
        adv_epsilon=args.adv_epsilon,
        rdrop_alpha=args.rdrop_alpha,
        ema_decay=args.ema_decay,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        save_checkpoints_steps=args.save_checkpoints_steps,
        keep_checkpoints=args.keep_checkpoints,
    )
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
    setup_logging(args.verbose)
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
