"""The report files of one evaluated split, from any model's logits.

train.sh and distill.sh (classifier.training.workflow) and the TF-IDF baseline
(scripts/baseline.sh) write their dev and test reports through these functions, so a baseline's
folder holds the same files, with the same figures, as a fine-tuned run's. Everything here is
numpy: the head object reads the logits (classifier.heads), and no TensorFlow is loaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.coverage import write_coverage_png
from classifier.error_analysis import write_error_analysis
from classifier.files import atomic_write_text, write_json
from classifier.heads.base import Example, Head
from classifier.thresholds import ThresholdPolicy

if TYPE_CHECKING:
    from classifier.explain.mistakes import ExplainRows


def report_file_names(prefix: str) -> dict[str, str]:
    """Dev reports use the classic names (eval_results.json, classification_report.txt,
    confusion_matrix.*); other splits prefix them (test_results.json, test_confusion_...).
    ``predictions`` is the split's prediction file (test_predictions.tsv), which
    write_split_reports leaves to write_predictions."""
    extra = "" if prefix == "eval" else f"{prefix}_"
    return {
        "results": f"{prefix}_results.json",
        "report": f"{extra}classification_report.txt",
        "confusion_csv": f"{extra}confusion_matrix.csv",
        "confusion_png": f"{extra}confusion_matrix.png",
        "error_analysis": f"{extra}error_analysis.md",
        "reliability_png": f"{extra}reliability_diagram.png",
        "coverage_png": f"{extra}coverage_curve.png",
        "predictions": f"{'dev' if prefix == 'eval' else prefix}_predictions.tsv",
    }


def write_split_reports(
    output_dir: str | Path,
    head: Head,
    examples: Sequence[Example],
    logits: np.ndarray,
    targets: np.ndarray,
    prefix: str = "eval",
    policy: ThresholdPolicy | None = None,
    extra: dict[str, Any] | None = None,
    explain: ExplainRows | None = None,
) -> dict[str, Any]:
    """Writes the results JSON (the head's figures, calibration, the coverage curve of
    abstention, ``extra``), scikit-learn's classification report, the head's figures
    (reliability diagram, coverage curve; multiclass: the confusion matrix as CSV and PNG) and
    the error analysis into output_dir; returns the results.

    ``logits`` [N, L] and ``targets`` (as head.encode_labels gives them) have one row per
    example. ``policy``: these are the rows the decision thresholds were fitted on, so the
    figures are cross-fitted the way it says (head.dev_report); None for any other rows.
    ``explain``: says why the error analysis's confident mistakes were made
    (classifier.explain.mistakes; train.sh's); None: the tables alone."""
    out = Path(output_dir)
    files = report_file_names(prefix)
    results = head.dev_report(logits, targets, policy)
    results.update(head.calibration_report(logits, targets))
    results.update(head.write_figures(out, files, logits, targets))
    curve = head.coverage_curve(logits, targets, policy)
    if curve:  # which --abstain_threshold to export with: what it answers, how well
        results["coverage_curve"] = curve
        write_coverage_png(out / files["coverage_png"], curve, head.default_metric)
    results.update(extra or {})
    atomic_write_text(out / files["report"], head.dev_text_report(logits, targets, policy))
    write_error_analysis(
        out / files["error_analysis"], head, examples, logits, targets, prefix, explain=explain
    )
    write_json(out / files["results"], results)
    return results


def write_predictions(
    path: str | Path,
    head: Head,
    examples: Sequence[Example],
    probabilities: np.ndarray,
    is_pair: bool,
) -> None:
    """One TSV row per example: text(s), predicted label(s), probability, then each label's
    probability and, when the examples carry them, the gold label(s).

    Multilabel rows list the labels over their thresholds joined by "|" and their
    probabilities likewise (both empty when no label passes)."""
    gold = head.has_labels(examples)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    header = ["text_a", "text_b"] if is_pair else ["text"]
    header += [head.predicted_column, "probability"] + [f"p({name})" for name in head.labels]
    if gold:
        header.append(head.gold_column)
    writer.writerow(header)
    for example, row in zip(examples, probabilities, strict=True):
        texts = [example.text_a, example.text_b or ""] if is_pair else [example.text_a]
        predicted, score = head.prediction_fields(row)
        fields = [*texts, predicted, score, *(f"{p:.6f}" for p in row)]
        if gold:
            fields.append(head.gold_field(example))
        writer.writerow(fields)
    atomic_write_text(path, buffer.getvalue())
