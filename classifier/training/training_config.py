"""Fine-tuning hyper-parameters, with the defaults of google-research/bert's run_classifier."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SELECTION_METRICS = {
    "multiclass": ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "loss"),
    "multilabel": ("micro_f1", "macro_f1", "samples_f1", "subset_accuracy", "loss"),
}
DEFAULT_METRIC = {"multiclass": "accuracy", "multilabel": "micro_f1"}


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
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

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
