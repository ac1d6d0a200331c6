"""Guarding a training output folder: never overwrite an earlier run by accident."""

from __future__ import annotations

from pathlib import Path

from classifier.run_folder import remove_artifacts

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
    "error_analysis.md",
    "test_results.json",
    "test_classification_report.txt",
    "test_confusion_matrix.csv",
    "test_confusion_matrix.png",
    "test_reliability_diagram.png",
    "test_error_analysis.md",
    "test_predictions.tsv",
    "adapter",
    "logs",
    "checkpoints",
)


class OutputDirError(FileExistsError):
    """An output folder that already holds something and no --overwrite."""


def prepare_output_dir(path: str | Path, overwrite: bool) -> Path:
    """Creates ``path``; refuses a non-empty one unless ``overwrite``.

    With ``overwrite`` only the files a run writes are removed, so a mistyped path never
    costs the user unrelated files.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--output_dir {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputDirError(
                f"--output_dir {out} is not empty; pass --overwrite to replace the earlier run"
            )
        remove_artifacts(out, RUN_ARTIFACTS)
    out.mkdir(parents=True, exist_ok=True)
    return out
