"""distill.sh's own settings (what the student is and what it learns from), each declared
once with its flag (classifier.options); the settings it shares with train.sh are
TrainingConfig's."""

from __future__ import annotations

from dataclasses import dataclass

from classifier.flag_types import layer_list, non_negative_float, positive_float, positive_int
from classifier.options import option, validate

DISTILL = frozenset({"distill"})
STUDENT = "student"
LOSS = "distillation loss"
GROUPS = (STUDENT, LOSS)
DEFAULT_STUDENT_LAYERS = 3  # distill.sh --help's sections, in order


@dataclass(frozen=True)
class DistillConfig:
    """What the student is and what it learns from (the flags of the same names)."""

    student_layers: tuple[int, ...] | None = option(
        None,
        "teacher layers (0-based, increasing) the student's layers start from; default: "
        "--num_student_layers evenly spaced ones ending with the top layer (12 -> 3: 3,7,11)",
        parse=layer_list,
        commands=DISTILL,
        group=STUDENT,
    )
    num_student_layers: int | None = option(
        None,
        "student layers when --student_layers is not given (default: 3, fewer for a teacher of "
        "3 layers or less: one less than the teacher's, at least 1)",
        parse=positive_int,
        check=lambda v: v is None or v >= 1,
        message="--num_student_layers must be at least 1",
        commands=DISTILL,
        group=STUDENT,
    )
    temperature: float = option(
        2.0,
        "softens teacher and student predictions in the soft-label loss (x T^2)",
        parse=positive_float,
        check=lambda v: v > 0,
        message="--temperature must be positive",
        commands=DISTILL,
        group=LOSS,
    )
    kd_loss_weight: float = option(
        1.0,
        "weight of the soft-label loss (KL from the teacher's predictions)",
        parse=non_negative_float,
        commands=DISTILL,
        group=LOSS,
    )
    hard_label_weight: float = option(
        0.0,
        "weight of the ordinary loss on gold labels (labelled rows only)",
        parse=non_negative_float,
        commands=DISTILL,
        group=LOSS,
    )
    hidden_loss_weight: float = option(
        0.0,
        "weight of the MSE between each student layer's output and that of the teacher "
        "layer it started from (0: off)",
        parse=non_negative_float,
        commands=DISTILL,
        group=LOSS,
    )

    def student_depth(self, teacher_layers: int) -> int:
        """--num_student_layers, or the default for a teacher of ``teacher_layers``."""
        if self.num_student_layers is not None:
            return self.num_student_layers
        return min(DEFAULT_STUDENT_LAYERS, max(1, teacher_layers - 1))

    def __post_init__(self) -> None:
        validate(self)
        weights = (self.kd_loss_weight, self.hard_label_weight, self.hidden_loss_weight)
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError(
                "--kd_loss_weight, --hard_label_weight and --hidden_loss_weight must be "
                "non-negative and not all 0"
            )
