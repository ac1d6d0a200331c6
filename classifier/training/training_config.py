"""Fine-tuning hyper-parameters, with the defaults of google-research/bert's run_classifier."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from classifier.heads import HEAD_KINDS, LOSSES

SELECTION_METRICS = {
    "multiclass": ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "loss"),
    "multilabel": ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "loss"),
}
DEFAULT_METRIC = {"multiclass": "accuracy", "multilabel": "micro_f1"}
ALL_LOSSES = tuple(dict.fromkeys(loss for kind in HEAD_KINDS for loss in LOSSES[kind]))


@dataclass(frozen=True)
class TrainingConfig:
    """How to fine-tune. ``metric`` None means the head kind's default (accuracy / micro_f1)."""

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
    class_weight: str | None = None  # None or "balanced"
    head_dropout: float = 0.1
    bf16: bool = False  # mixed precision: float32 weights, bfloat16 matmuls
    adam_epsilon: float = 1e-6  # google-research/bert's; torch and HF Trainer use 1e-8
    # The loss and the imbalance remedies (classifier.heads.head_loss).
    loss: str = "cross_entropy"  # multiclass: cross_entropy, focal; multilabel: + asymmetric
    pos_weight: str | float | None = None  # multilabel: None, "balanced" or one weight for all
    focal_gamma: float = 2.0
    asl_gamma_pos: float = 0.0  # Ridnik et al.'s recommended asymmetric-loss settings
    asl_gamma_neg: float = 4.0
    asl_clip: float = 0.05
    label_smoothing: float = 0.0  # multiclass
    head_bias_init: str = "prior"  # "prior" (label frequencies) or "zeros"
    group_by_length: bool = False  # length-sorted training batches (faster, label-skewed)

    def __post_init__(self) -> None:
        checks = [
            (self.learning_rate > 0, "learning_rate must be positive"),
            (self.num_train_epochs > 0, "num_train_epochs must be positive"),
            (self.train_batch_size > 0, "train_batch_size must be positive"),
            (self.eval_batch_size > 0, "eval_batch_size must be positive"),
            (0 <= self.warmup_proportion <= 1, "warmup_proportion must be in [0, 1]"),
            (self.weight_decay >= 0, "weight_decay must be non-negative"),
            (0 <= self.head_dropout < 1, "head_dropout must be in [0, 1)"),
            (self.class_weight in (None, "balanced"), "class_weight must be 'balanced' or unset"),
            (
                self.early_stopping_patience is None or self.early_stopping_patience >= 1,
                "early_stopping_patience must be at least 1",
            ),
            (self.adam_epsilon > 0, "adam_epsilon must be positive"),
            (self.loss in ALL_LOSSES, f"loss must be one of {ALL_LOSSES}"),
            (
                self.pos_weight is None
                or self.pos_weight == "balanced"
                or (isinstance(self.pos_weight, int | float) and self.pos_weight > 0),
                "pos_weight must be 'balanced' or a positive number",
            ),
            (self.focal_gamma >= 0, "focal_gamma must be non-negative"),
            (self.asl_gamma_pos >= 0 and self.asl_gamma_neg >= 0, "asl gammas must be >= 0"),
            (0 <= self.asl_clip < 1, "asl_clip must be in [0, 1)"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.head_bias_init in ("prior", "zeros"), "head_bias_init must be prior or zeros"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def check_head_kind(self, head_kind: str) -> None:
        """Refuses options that mean nothing for this head kind, naming the flag."""
        if self.loss not in LOSSES[head_kind]:
            raise ValueError(
                f"--loss={self.loss} is not available for {head_kind} tasks; "
                f"choose one of {LOSSES[head_kind]}"
            )
        if head_kind == "multiclass" and self.pos_weight is not None:
            raise ValueError("--pos_weight applies to multilabel tasks (use --class_weight)")
        if head_kind == "multilabel" and self.class_weight is not None:
            raise ValueError("--class_weight applies to multiclass tasks (use --pos_weight)")
        if head_kind == "multilabel" and self.label_smoothing:
            raise ValueError("--label_smoothing applies to multiclass tasks")
        self.selection_metric(head_kind)

    def selection_metric(self, head_kind: str) -> str:
        metric = self.metric or DEFAULT_METRIC[head_kind]
        if metric not in SELECTION_METRICS[head_kind]:
            raise ValueError(
                f"metric {metric!r} is not available for {head_kind} tasks; "
                f"choose one of {SELECTION_METRICS[head_kind]}"
            )
        return metric

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
