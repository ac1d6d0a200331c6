"""Fine-tuning hyper-parameters, with the defaults of google-research/bert's run_classifier."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from classifier.calibration import METHODS
from classifier.heads import HEADS, LossOptions, options_from
from classifier.thresholds import STRATEGIES

ALL_LOSSES = tuple(dict.fromkeys(loss for head in HEADS.values() for loss in head.losses))


@dataclass(frozen=True)
class TrainingConfig:
    """How to fine-tune. ``metric`` None means the head kind's default (accuracy / micro_f1).

    The loss fields (loss ... head_bias_init) are the head's LossOptions, kept flat here as
    train.sh's flags and train_summary.json name them; the head checks them against its kind.
    """

    learning_rate: float = 2e-5
    num_train_epochs: float = 3.0
    train_batch_size: int = 32
    eval_batch_size: int = 64
    warmup_proportion: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    seed: int = 12345
    metric: str | None = None
    early_stopping_patience: int | None = None
    head_dropout: float = 0.1
    bf16: bool = False  # mixed precision: float32 weights, bfloat16 matmuls
    adam_epsilon: float = 1e-6  # google-research/bert's; torch and HF Trainer use 1e-8
    gradient_accumulation_steps: int = 1  # >1: average N batches' gradients per update
    group_by_length: bool = False  # length-sorted training batches (faster, label-skewed)
    calibration: str = "temperature"  # fitted on dev after training ("none": raw probabilities)
    # Multilabel thresholds (classifier.thresholds): per_label, global or fixed; None: per_label
    threshold_strategy: str | None = None
    # === Checkpoints (resume after a kill; they do not change the result) ===
    save_checkpoints_steps: int = 1000  # and at every epoch end
    keep_checkpoints: int = 3
    # === Recipes (docs/training.md) ===
    layerwise_lr_decay: float | None = None  # d: layer i at d^(L - i), embeddings d^(L + 1)
    head_learning_rate: float | None = None  # the classification head's own peak rate
    adversarial: str | None = None  # "fgm": adversarial training on the word embeddings
    adv_epsilon: float = 1.0  # FGM step size (bert4keras' examples use 0.5-1)
    rdrop_alpha: float = 0.0  # R-Drop consistency weight (0: off)
    ema_decay: float | None = None  # keep an EMA of the weights; saved weights are the average
    # === LossOptions ===
    loss: str = "cross_entropy"  # multiclass: cross_entropy, focal; multilabel: + asymmetric
    class_weight: str | None = None  # multiclass: None or "balanced"
    pos_weight: str | float | None = None  # multilabel: None, "balanced" or one weight for all
    focal_gamma: float = 2.0
    asl_gamma_pos: float = 0.0  # Ridnik et al.'s recommended asymmetric-loss settings
    asl_gamma_neg: float = 4.0
    asl_clip: float = 0.05
    label_smoothing: float = 0.0  # multiclass
    head_bias_init: str = "prior"  # "prior" (label frequencies) or "zeros"

    def __post_init__(self) -> None:
        checks = [
            (self.learning_rate > 0, "learning_rate must be positive"),
            (self.num_train_epochs > 0, "num_train_epochs must be positive"),
            (self.train_batch_size > 0, "train_batch_size must be positive"),
            (self.eval_batch_size > 0, "eval_batch_size must be positive"),
            (0 <= self.warmup_proportion <= 1, "warmup_proportion must be in [0, 1]"),
            (self.weight_decay >= 0, "weight_decay must be non-negative"),
            (0 <= self.head_dropout < 1, "head_dropout must be in [0, 1)"),
            (
                self.early_stopping_patience is None or self.early_stopping_patience >= 1,
                "early_stopping_patience must be at least 1",
            ),
            (self.adam_epsilon > 0, "adam_epsilon must be positive"),
            (
                self.gradient_accumulation_steps >= 1,
                "--gradient_accumulation_steps must be at least 1",
            ),
            (self.save_checkpoints_steps >= 1, "--save_checkpoints_steps must be at least 1"),
            (self.keep_checkpoints >= 1, "--keep_checkpoints must be at least 1"),
            (self.loss in ALL_LOSSES, f"loss must be one of {ALL_LOSSES}"),
            (self.calibration in METHODS, f"--calibration must be one of {METHODS}"),
            (
                self.threshold_strategy is None or self.threshold_strategy in STRATEGIES,
                f"--threshold_strategy must be one of {STRATEGIES}",
            ),
            (
                self.layerwise_lr_decay is None or 0 < self.layerwise_lr_decay <= 1,
                "--layerwise_lr_decay must be in (0, 1]",
            ),
            (
                self.head_learning_rate is None or self.head_learning_rate > 0,
                "--head_learning_rate must be positive",
            ),
            (self.adversarial in (None, "fgm"), "--adversarial must be 'fgm' or unset"),
            (self.adv_epsilon > 0, "--adv_epsilon must be positive"),
            (self.rdrop_alpha >= 0, "--rdrop_alpha must be non-negative"),
            (
                self.ema_decay is None or 0 < self.ema_decay < 1,
                "--ema_decay must be in (0, 1)",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.loss_options()  # validates the loss fields

    def loss_options(self) -> LossOptions:
        return options_from(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def result_settings(self) -> dict[str, Any]:
        """The settings that decide the trained model (a resumed run must match them)."""
        settings = self.to_dict()
        for name in CHECKPOINT_SETTINGS:
            settings.pop(name)
        return settings


# Where and how often the run is checkpointed: may change between a run and its resume.
CHECKPOINT_SETTINGS = ("save_checkpoints_steps", "keep_checkpoints")
