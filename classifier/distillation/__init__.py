"""Knowledge distillation: a small student trained on a fine-tuned teacher's predictions."""

from classifier.distillation.distiller import Distiller
from classifier.distillation.run import DISTILL_SUMMARY, DistillConfig, DistillOptions, distill
from classifier.distillation.student import build_student, default_student_layers

__all__ = [
    "DISTILL_SUMMARY",
    "DistillConfig",
    "DistillOptions",
    "Distiller",
    "build_student",
    "default_student_layers",
    "distill",
]
