"""Knowledge distillation: a small student trained on a fine-tuned teacher's predictions.

Names resolve on first use, so distill.sh reads its settings (classifier.distillation.config)
without loading TensorFlow.
"""

from classifier.lazy_exports import exports_on_first_use

_EXPORTS = {
    "DISTILL_SUMMARY": "classifier.distillation.run",
    "DistillConfig": "classifier.distillation.run",
    "DistillOptions": "classifier.distillation.run",
    "Distiller": "classifier.distillation.distiller",
    "build_student": "classifier.distillation.student",
    "default_student_layers": "classifier.distillation.student",
    "distill": "classifier.distillation.run",
}

__all__ = sorted(_EXPORTS)
__getattr__ = exports_on_first_use(__name__, _EXPORTS)
