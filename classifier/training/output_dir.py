"""What a training run writes in its output folder: the names --overwrite removes (and nothing
else; classifier.run_folder.open_run_folder guards the folder)."""

from __future__ import annotations

# Everything a training run writes; --overwrite removes these and nothing else.
RUN_ARTIFACTS = (
    "classifier_config.json",
    "model.weights.h5",
    "vocab.txt",
    "labels.txt",
    "train_summary.json",
    "training_log.csv",
    "eval_results.json",
    "classification_report.txt",
    "confusion_matrix.csv",
    "confusion_matrix.png",
    "reliability_diagram.png",
    "coverage_curve.png",
    "error_analysis.md",
    "test_results.json",
    "test_classification_report.txt",
    "test_confusion_matrix.csv",
    "test_confusion_matrix.png",
    "test_reliability_diagram.png",
    "test_coverage_curve.png",
    "test_error_analysis.md",
    "test_predictions.tsv",
    "support_index",
    "adapter",
    "logs",
    "checkpoints",
)
