"""One text's prediction as Python values, from the rows of serving_default's outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from serving.model_info import ModelInfo


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass(frozen=True)
class Prediction:
    """``label``/``score``: the most probable label. ``labels``: the predicted labels, best first
    (multiclass: that one label; multilabel: every label at or over its threshold, maybe none).
    ``probabilities``: every label's probability, in the model's label order."""

    label: str
    score: float
    labels: tuple[LabelScore, ...]
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": self.score,
            "labels": [item.to_dict() for item in self.labels],
            "probabilities": dict(self.probabilities),
        }


def predictions_from_outputs(
    outputs: Mapping[str, np.ndarray], label_names: tuple[str, ...]
) -> list[Prediction]:
    """Prediction per row of serving_default's (numpy) outputs."""
    probabilities = outputs["probabilities"]
    predicted = outputs["predicted"]
    result = []
    for row in range(probabilities.shape[0]):
        probs = [float(p) for p in probabilities[row]]
        top = int(np.argmax(probabilities[row]))
        chosen = sorted(np.flatnonzero(predicted[row]), key=lambda i: (-probs[i], i))
        result.append(
            Prediction(
                label=label_names[top],
                score=probs[top],
                labels=tuple(LabelScore(label_names[i], probs[i]) for i in chosen),
                probabilities=dict(zip(label_names, probs, strict=True)),
            )
        )
    return result


class TextPredictor(Protocol):
    """What the REPL, predict.sh's batch mode and the upload need of a model: a loaded
    SavedModel (serving.Predictor) or a run folder in memory (serving.in_memory)."""

    info: ModelInfo
    path: Path
    version: int | None

    def predict(
        self, texts: Sequence[str], texts_b: Sequence[str] | None = None
    ) -> list[Prediction]: ...

    def predict_one(self, text: str, text_b: str | None = None) -> Prediction: ...
