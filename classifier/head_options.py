"""The settings a head takes (loss, imbalance remedies, calibration), in plain Python: train.sh's
flags (and their --help) read them without loading TensorFlow; the head kinds (classifier.heads)
turn them into a Keras loss and say which of LOSSES they take."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Every loss classifier.losses builds; a head kind lists the ones it takes (Head.losses).
LOSSES = ("cross_entropy", "focal", "asymmetric")
HEAD_BIAS_INITS = ("prior", "zeros")
# How dev logits calibrate probabilities (classifier.calibration).
CALIBRATION_METHODS = ("temperature", "none")


@dataclass(frozen=True)
class LossOptions:
    """The loss and the imbalance remedies (train.sh's flags of the same names)."""

    loss: str = "cross_entropy"
    class_weight: str | None = None  # multiclass: None or "balanced"
    pos_weight: str | float | None = None  # multilabel: None, "balanced" or one weight
    focal_gamma: float = 2.0
    asl_gamma_pos: float = 0.0
    asl_gamma_neg: float = 4.0
    asl_clip: float = 0.05
    label_smoothing: float = 0.0
    head_bias_init: str = "prior"
    parent_loss_weight: float | None = None  # hierarchical: None is the head's default

    def __post_init__(self) -> None:
        checks = [
            (self.class_weight in (None, "balanced"), "--class_weight must be 'balanced' or unset"),
            (
                self.pos_weight is None
                or self.pos_weight == "balanced"
                or (isinstance(self.pos_weight, int | float) and self.pos_weight > 0),
                "--pos_weight must be 'balanced' or a positive number",
            ),
            (self.focal_gamma >= 0, "--focal_gamma must be non-negative"),
            (self.asl_gamma_pos >= 0 and self.asl_gamma_neg >= 0, "--asl_gamma_* must be >= 0"),
            (0 <= self.asl_clip < 1, "--asl_clip must be in [0, 1)"),
            (0 <= self.label_smoothing < 1, "--label_smoothing must be in [0, 1)"),
            (
                self.parent_loss_weight is None or self.parent_loss_weight > 0,
                "--parent_loss_weight must be a positive number",
            ),
            (
                self.head_bias_init in HEAD_BIAS_INITS,
                f"--head_bias_init must be one of {HEAD_BIAS_INITS}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def options_from(config: Any) -> LossOptions:
    """The LossOptions fields of any object that carries them (a TrainingConfig)."""
    return LossOptions(**{f.name: getattr(config, f.name) for f in dataclasses.fields(LossOptions)})
