"""Abstention in serving: which setting a request is answered at, and the rule for outputs
that carry none.

An export made with --abstain_threshold P decides in its graph (a text whose largest
calibrated probability is below P gets the abstain label, no decisions, ``abstained`` true)
and records P and the label in its metadata. A request (predict.sh's flags, an HTTP body) may
name its own threshold and label; the Predictor then recomputes the decisions from the
outputs (serving.predictor.Predictor.abstain). Serving imports no training code, so the rule
for exports without one baked in is written here once more: the head's rule
(classifier.heads.base.Head.abstains), the same for every kind of head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

ABSTAINED = "abstained"
THRESHOLD_KEY = "abstain_threshold"
LABEL_KEY = "abstain_label"


@dataclass(frozen=True)
class Abstention:
    """Abstain below ``threshold`` (a probability in [0, 1]; 0 never abstains) with ``label``."""

    threshold: float
    label: str = ""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Abstention | None:
        """The export's setting (export.export_metadata), None when it has none."""
        threshold = metadata.get(THRESHOLD_KEY)
        if threshold is None:
            return None
        return cls(float(threshold), str(metadata.get(LABEL_KEY) or ""))

    def to_metadata(self) -> dict[str, Any]:
        return {THRESHOLD_KEY: self.threshold, LABEL_KEY: self.label}


def resolve(
    exported: Abstention | None, threshold: float | None, label: str | None
) -> Abstention | None:
    """The setting a request is answered at: the export's, with the request's threshold and
    label over it. A threshold of 0 switches abstention off (None when the export has none;
    when it has one, every text is answered and still says ``abstained``: false); a label
    alone changes the export's label and needs a threshold when the export has none."""
    if threshold is None:
        if label is None or exported is None:
            if label is not None:
                raise ValueError(
                    "an abstain label needs an abstain threshold (this model has none)"
                )
            return exported
        return Abstention(exported.threshold, label)
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"the abstain threshold must be in [0, 1], got {threshold}")
    if float(threshold) == 0.0 and exported is None:
        return None
    if label is None:
        label = exported.label if exported is not None else ""
    return Abstention(float(threshold), label)


def apply_rule(outputs: Mapping[str, np.ndarray], abstention: Abstention) -> dict[str, np.ndarray]:
    """serving_default's (numpy) outputs, decided without abstention, abstaining at
    ``abstention``: rows whose largest probability is below the threshold get its label, no
    decisions, and ``abstained`` true (the exported graph's rule, ServingModule._outputs)."""
    probabilities = np.asarray(outputs["probabilities"])
    if probabilities.shape[0]:
        abstained = probabilities.max(axis=-1) < abstention.threshold
    else:
        abstained = np.zeros([0], bool)
    rows = abstained[:, None]
    result = dict(outputs)
    result["label"] = np.where(abstained, abstention.label, outputs["label"]).astype(object)
    result["labels"] = np.where(rows, "", outputs["labels"]).astype(object)
    result["predicted"] = np.where(rows, 0, outputs["predicted"]).astype(np.int32)
    result[ABSTAINED] = abstained
    return result
