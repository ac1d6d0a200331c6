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

from serving.abstention import Abstention
from serving.explaining import ExplainsTexts, ExplainUnavailable
from serving.label_bounds import Bounds
from serving.model_info import ModelInfo
from serving.prediction import Prediction, predictions_from_outputs

# (texts, texts_b[, abstention]) -> outputs; the third argument is passed only when
# abstention is in force (FineTuner.predict_outputs abstains with the head's rule).
Outputs = Callable[..., Mapping[str, np.ndarray]]


class InMemoryPredictor(ExplainsTexts):
    """``run(texts, texts_b)`` -> serving_default's outputs (at least ``probabilities`` and
    ``predicted``), read as Predictions; ``version`` is None (not a versioned export).
    A run folder has no abstention of its own: ``abstention`` (predict.sh's flags) or the
    metadata's decides, passed to ``run``.
    ``attribute`` (a function giving classifier.explain's AttributeRows over the model) and
    ``vocab_file`` make ``explain`` work (ExplainsTexts)."""

    version = None

    def __init__(
        self,
        run: Outputs,
        metadata: Mapping[str, Any],
        path: str | Path,
        attribute: Callable[[], Any] | None = None,
        vocab_file: str | Path | None = None,
    ) -> None:
        self._run = run
        self.info = ModelInfo.from_metadata(dict(metadata))
        self.path = Path(path)
        self._attribute = attribute
        self._vocab_file = vocab_file

    def _explain_attribute(self):
        if self._attribute is None:
            raise ExplainUnavailable(f"this predictor of {self.path} was made without gradients")
        return self._attribute()

    def _explain_vocab(self) -> Path:
        return Path(self._vocab_file or self.path / "vocab.txt")

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    def run(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        abstention: Abstention | None = None,
    ) -> Mapping[str, np.ndarray]:
        if self.info.is_pair and texts_b is None:
            raise ValueError("this model classifies text pairs: text_b is required")
        if not self.info.is_pair and texts_b is not None:
            raise ValueError("this model takes single texts: text_b is not an input")
        texts_b = None if texts_b is None else list(texts_b)
        abstention = abstention or self.info.abstention
        if abstention is None:
            return self._run(list(texts), texts_b)
        return self._run(list(texts), texts_b, abstention)

    def predict(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        abstention: Abstention | None = None,
        label_bounds: Bounds | None = None,
    ) -> list[Prediction]:
        """``label_bounds`` over the run's own (which ``run`` decides with, as the export)."""
        outputs = self.info.bound(dict(self.run(texts, texts_b, abstention)), label_bounds)
        return predictions_from_outputs(outputs, self.info)

    def predict_one(self, text: str, text_b: str | None = None) -> Prediction:
        return self.predict([text], None if text_b is None else [text_b])[0]
