"""A model that is not a SavedModel, behind the Predictor's interface: a train.sh run folder
predicted in memory, so that predict.sh (REPL, batch, --text) takes a run folder as it takes
an export.

Serving imports no training code: the caller hands over a function that computes
serving_default's outputs (``classifier.FineTuner.predict_outputs``: the same tokenizer,
calibration, thresholds and long-text mode as the export) and the metadata the export would
carry (``export.export_metadata``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serving.model_info import ModelInfo
from serving.prediction import Prediction, predictions_from_outputs

Outputs = Callable[[list[str], list[str] | None], Mapping[str, np.ndarray]]


class InMemoryPredictor:
    """``run(texts, texts_b)`` -> serving_default's outputs (at least ``probabilities`` and
    ``predicted``), read as Predictions; ``version`` is None (not a versioned export)."""

    version = None

    def __init__(self, run: Outputs, metadata: Mapping[str, Any], path: str | Path) -> None:
        self._run = run
        self.info = ModelInfo.from_metadata(dict(metadata))
        self.path = Path(path)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    def run(
        self, texts: Sequence[str], texts_b: Sequence[str] | None = None
    ) -> Mapping[str, np.ndarray]:
        if self.info.is_pair and texts_b is None:
            raise ValueError("this model classifies text pairs: text_b is required")
        if not self.info.is_pair and texts_b is not None:
            raise ValueError("this model takes single texts: text_b is not an input")
        return self._run(list(texts), None if texts_b is None else list(texts_b))

    def predict(
        self, texts: Sequence[str], texts_b: Sequence[str] | None = None
    ) -> list[Prediction]:
        return predictions_from_outputs(self.run(texts, texts_b), self.info.labels)

    def predict_one(self, text: str, text_b: str | None = None) -> Prediction:
        return self.predict([text], None if text_b is None else [text_b])[0]
