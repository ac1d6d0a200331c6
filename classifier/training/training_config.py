"""Fine-tuning hyper-parameters, with the defaults of google-research/bert's run_classifier;
each declared once with its train.sh / distill.sh flag (classifier.options)."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from classifier.flag_types import (
    non_negative_float,
    non_negative_int,
    number,
    pos_weight_value,
    positive_float,
    positive_int,
    probability,
)
from classifier.head_options import (
    CALIBRATION_METHODS,
    HEAD_BIAS_INITS,
    LOSSES,
    LossOptions,
    options_from,
)
from classifier.label_bounds import LabelBounds
from classifier.options import option, validate
from classifier.thresholds import STRATEGIES

TRAIN_AND_DISTILL = frozenset({"train", "distill"})
TRAIN = frozenset({"train"})
LOSS = "loss and imbalance"
RECIPES = "fine-tuning recipes (docs/training.md)"
CHECKPOINTS = "checkpoints (a killed run resumes when its command runs again)"
PRECISION = "precision and logging"


@dataclass(frozen=True)
class TrainingConfig:
    """How to fine-tune (and distil): each field is one setting, declared once with its flag
    (classifier.options). ``metric`` None means the head kind's default (accuracy / micro_f1).

    The loss fields (loss ... head_bias_init) are the head's LossOptions, kept flat here as
    train.sh's flags and train_summary.json name them; the head checks them against its kind.
    """

    learning_rate: float = option(
        2e-5,
        "peak learning rate (default 2e-5; 1e-4 with --adapter; distill.sh 1e-4)",
        parse=positive_float,
        check=lambda v: v > 0,
        message="learning_rate must be positive",
        commands=TRAIN_AND_DISTILL,
        flag_defaults={"train": None, "distill": 1e-4},  # train.sh: by --adapter
    )
    num_train_epochs: float = option(
        3.0,
        "passes over the training data (a fraction ends mid-pass)",
        parse=number(float, 0, 10_000, low_open=True),
        check=lambda v: v > 0,
        message="num_train_epochs must be positive",
        commands=TRAIN_AND_DISTILL,
    )
    train_batch_size: int = option(
        32,
        "training batch per replica",
        parse=positive_int,
        check=lambda v: v > 0,
        message="train_batch_size must be positive",
        commands=TRAIN_AND_DISTILL,
    )
    eval_batch_size: int = option(
        64,
        "dev evaluation batch",
        parse=positive_int,
        check=lambda v: v > 0,
        message="eval_batch_size must be positive",
        commands=TRAIN_AND_DISTILL,
    )
    warmup_proportion: float = option(
        0.1,
        "share of the steps over which the learning rate rises linearly to its peak",
        parse=probability,
        check=lambda v: 0 <= v <= 1,
        message="warmup_proportion must be in [0, 1]",
        commands=TRAIN_AND_DISTILL,
    )
    weight_decay: float = option(
        0.01,
        "AdamW weight decay",
        parse=non_negative_float,
        check=lambda v: v >= 0,
        message="weight_decay must be non-negative",
        commands=TRAIN_AND_DISTILL,
    )
    clip_norm: float = option(1.0, commands=frozenset())
    seed: int = option(
        12345,
        "seeds new weights, dropout and the data order (a resumed run goes on with them)",
        parse=non_negative_int,
        commands=TRAIN_AND_DISTILL,
    )
    metric: str | None = option(
        None,
        "dev metric that picks the best epoch (accuracy, macro_f1, micro_f1, ...)",
        commands=TRAIN_AND_DISTILL,
    )
    early_stopping_patience: int | None = option(
        None,
        "stop after this many epochs without a better dev metric (default: never)",
        parse=positive_int,
        check=lambda v: v is None or v >= 1,
        message="early_stopping_patience must be at least 1",
        commands=TRAIN_AND_DISTILL,
    )
    head_dropout: float = option(
        0.1,
        "dropout before the classification head",
        parse=number(float, 0, 1, high_open=True),
        check=lambda v: 0 <= v < 1,
        message="head_dropout must be in [0, 1)",
        commands=TRAIN,
    )
    adam_epsilon: float = option(
        1e-6,
        "AdamW epsilon (google-research/bert 1e-6; torch/HF Trainer 1e-8)",
        parse=positive_float,
        check=lambda v: v > 0,
        message="adam_epsilon must be positive",
        commands=TRAIN,
    )
    group_by_length: bool = option(
        False,
        "length-sorted training batches: less padding, but each batch's labels are skewed "
        "by length (see docs/training.md)",
        boolean=True,
        commands=TRAIN,
    )
    gradient_accumulation_steps: int = option(
        1,
        "average the gradients of this many batches into one update (an N-times larger "
        "batch in the memory of one; Keras's optimizer option)",
        parse=positive_int,
        check=lambda v: v >= 1,
        message="--gradient_accumulation_steps must be at least 1",
        commands=TRAIN,
    )
    calibration: str = option(
        "temperature",
        "after training, fit temperature scaling on dev so the probabilities are "
        "calibrated (decisions unchanged); shipped in the export",
        choices=CALIBRATION_METHODS,
        message=f"--calibration must be one of {CALIBRATION_METHODS}",
        commands=TRAIN_AND_DISTILL,
        group=RECIPES,
    )
    threshold_strategy: str | None = option(  # None: the head's default (per_label)
        None,
        "multilabel: how the decision thresholds are fitted on dev for --metric: per_label (a "
        "global cut-off, then label-by-label moves kept only where they raise the metric; "
        "shipped only where 5-fold cross-validation says they beat the global cut-off), global "
        "(one cut-off), fixed (0.5); the dev report is cross-fitted (default: per_label)",
        choices=STRATEGIES,
        message=f"--threshold_strategy must be one of {STRATEGIES}",
        commands=TRAIN_AND_DISTILL,
        group=RECIPES,
        flag_defaults={"train": argparse.SUPPRESS, "distill": argparse.SUPPRESS},
    )
    min_labels: int = option(
        0,
        "multilabel: at least this many labels per text; after the thresholds, the most "
        "probable missing labels are added (dev/test reports, predictions files, and what "
        "export.sh ships; export.sh and predict.sh may override it)",
        parse=non_negative_int,
        check=lambda v: v >= 0,
        message="--min_labels must be a non-negative integer",
        commands=TRAIN,
        group=RECIPES,
    )
    max_labels: int | None = option(
        None,
        "multilabel: at most this many labels per text; the least probable are dropped "
        "(reports, predictions files, and what export.sh ships unless overridden; unset: no "
        "bound)",
        parse=non_negative_int,
        check=lambda v: v is None or v >= 0,
        message="--max_labels must be a non-negative integer",
        commands=TRAIN,
        group=RECIPES,
    )
    # === Checkpoints (resume after a kill; they do not change the result) ===
    save_checkpoints_steps: int = option(
        1000,
        "checkpoint the whole training state into OUTPUT_DIR/checkpoints every this many "
        "steps and at each epoch end; rerunning a killed run's command resumes it",
        parse=positive_int,
        check=lambda v: v >= 1,
        message="--save_checkpoints_steps must be at least 1",
        commands=TRAIN_AND_DISTILL,
        group=CHECKPOINTS,
    )
    keep_checkpoints: int = option(
        3,
        "how many recent checkpoints to keep",
        parse=positive_int,
        check=lambda v: v >= 1,
        message="--keep_checkpoints must be at least 1",
        commands=TRAIN_AND_DISTILL,
        group=CHECKPOINTS,
    )
    # === Recipes (docs/training.md) ===
    layerwise_lr_decay: float | None = option(
        None,
        "layer-wise learning-rate decay d: head and pooler at the peak, layer i of L at "
        "d^(L-i), embeddings at d^(L+1) (e.g. 0.9)",
        parse=number(float, 0, 1, low_open=True),
        check=lambda v: v is None or 0 < v <= 1,
        message="--layerwise_lr_decay must be in (0, 1]",
        commands=TRAIN,
        group=RECIPES,
    )
    head_learning_rate: float | None = option(
        None,
        "peak learning rate of the classification head (default --learning_rate)",
        parse=positive_float,
        check=lambda v: v is None or v > 0,
        message="--head_learning_rate must be positive",
        commands=TRAIN,
        group=RECIPES,
    )
    adversarial: str | None = option(
        None,
        "adversarial training on the word embeddings: fgm (fast gradient method)",
        choices=("fgm",),
        message="--adversarial must be 'fgm' or unset",
        commands=TRAIN,
        group=RECIPES,
    )
    adv_epsilon: float = option(  # bert4keras' examples use 0.5-1
        1.0,
        "FGM perturbation norm",
        parse=positive_float,
        check=lambda v: v > 0,
        message="--adv_epsilon must be positive",
        commands=TRAIN,
        group=RECIPES,
    )
    rdrop_alpha: float = option(
        0.0,
        "R-Drop: weight of the symmetric KL between two dropout passes (e.g. 1.0-5.0)",
        parse=non_negative_float,
        check=lambda v: v >= 0,
        message="--rdrop_alpha must be non-negative",
        commands=TRAIN,
        group=RECIPES,
    )
    ema_decay: float | None = option(
        None,
        "keep an exponential moving average of the weights (e.g. 0.999); dev judges, "
        "and the run saves and exports, the averaged weights",
        parse=number(float, 0, 1, low_open=True, high_open=True),
        check=lambda v: v is None or 0 < v < 1,
        message="--ema_decay must be in (0, 1)",
        commands=TRAIN,
        group=RECIPES,
    )
    bf16: bool = option(
        False,
        "mixed precision: bfloat16 compute, float32 weights (fast on CPUs with AMX or "
        "AVX512-BF16; see benchmarks/RESULTS.md for the accuracy change)",
        boolean=True,
        commands=TRAIN,
        group=PRECISION,
    )
    # === LossOptions (the head checks them against its kind) ===
    loss: str = option(
        "cross_entropy",
        "cross_entropy; focal (Lin et al. 2017); asymmetric (multilabel, Ridnik et al. 2021)",
        choices=LOSSES,  # the heads' losses
        message=f"loss must be one of {LOSSES}",
        commands=TRAIN,
        group=LOSS,
    )
    class_weight: str | None = option(
        None,
        "weight classes inversely to their frequency",
        choices=("balanced",),
        message="--class_weight must be 'balanced' or unset",
        commands=TRAIN,
        group=LOSS,
    )
    pos_weight: str | float | None = option(
        None,
        "multilabel: weight of each label's positive term: 'balanced' (n_neg/n_pos per "
        "label, at most 100) or one number for all labels",
        parse=pos_weight_value,
        commands=TRAIN,
        group=LOSS,
    )
    focal_gamma: float = option(
        2.0, "focal loss focusing gamma", parse=non_negative_float, commands=TRAIN, group=LOSS
    )
    asl_gamma_neg: float = option(  # Ridnik et al.'s recommended asymmetric-loss settings
        4.0, "asymmetric loss: negatives", parse=non_negative_float, commands=TRAIN, group=LOSS
    )
    asl_gamma_pos: float = option(
        0.0, "asymmetric loss: positives", parse=non_negative_float, commands=TRAIN, group=LOSS
    )
    asl_clip: float = option(
        0.05,
        "asymmetric loss: probability margin m",
        parse=number(float, 0, 1, high_open=True),
        commands=TRAIN,
        group=LOSS,
    )
    label_smoothing: float = option(
        0.0,
        "multiclass: target smoothing",
        parse=number(float, 0, 1, high_open=True),
        commands=TRAIN,
        group=LOSS,
    )
    head_bias_init: str = option(
        "prior",
        "start the head at the training label frequencies (prior) or at zero logits",
        choices=HEAD_BIAS_INITS,
        message=f"--head_bias_init must be one of {HEAD_BIAS_INITS}",
        commands=TRAIN,
        group=LOSS,
    )
    parent_loss_weight: float | None = option(
        None,
        "hierarchical: weight of the nodes with children against the leaves (1) in the "
        "loss; unset: each parent's share of rows whose path stops at it, at least 0.1",
        parse=positive_float,
        commands=TRAIN,
        group=LOSS,
    )

    def __post_init__(self) -> None:
        validate(self)
        self.loss_options()  # validates the loss fields together
        self.label_bounds.check()  # min <= max

    @property
    def label_bounds(self) -> LabelBounds:
        """--min_labels / --max_labels (classifier.label_bounds)."""
        return LabelBounds(self.min_labels, self.max_labels)

    def loss_options(self) -> LossOptions:
        return options_from(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def result_settings(self) -> dict[str, Any]:
        """The settings that decide the trained model (a resumed run must match them)."""
        settings = self.to_dict()
        for name in CHECKPOINT_SETTINGS + DECISION_SETTINGS:
            settings.pop(name)
        return settings


# Where and how often the run is checkpointed: may change between a run and its resume.
CHECKPOINT_SETTINGS = ("save_checkpoints_steps", "keep_checkpoints")
# Applied to decisions after training: they do not change the weights either.
DECISION_SETTINGS = ("min_labels", "max_labels")
