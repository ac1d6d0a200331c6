"""One text's prediction as Python values, from the rows of serving_default's outputs."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from serving.abstention import Abstention
from serving.label_bounds import Bounds
from serving.model_info import ModelInfo


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score}


@dataclass(frozen=True)
class LabelProbability:
    """One of a prediction's top-k labels (serialized with "probability", not "score": it is
    any label's probability, not a decision's)."""

    label: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "probability": self.probability}


def top_k_labels(
    probabilities: Sequence[float], labels: Sequence[str], k: int
) -> tuple[LabelProbability, ...]:
    """The ``k`` most probable labels, best first; ties keep the model's label order, and a
    ``k`` over the number of labels gives them all.

    The one definition of top-k for every path (a SavedModel, a run folder in memory, HTTP),
    so they agree. It reads probabilities only: a multilabel model's k highest per-label
    probabilities whatever its thresholds, the decisions staying in ``labels``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {k!r}")
    if len(probabilities) != len(labels):
        raise ValueError(f"{len(probabilities)} probabilities for {len(labels)} labels")
    probs = [float(p) for p in probabilities]
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    return tuple(LabelProbability(labels[i], probs[i]) for i in order[: int(k)])


@dataclass(frozen=True)
class Prediction:
    """``label``/``score``: the most probable label. ``labels``: the predicted labels, best first
    (multiclass: that one label; multilabel: every label at or over its threshold, maybe none).
    ``probabilities``: every label's probability, in the model's label order.
    ``abstained``: None where abstention is not in force; else whether the model abstained
    (then ``label`` is the abstain label, ``labels`` empty, ``score`` the top probability).
    ``paths``: a hierarchical model's predicted paths, best first (the decided nodes that end
    a path: ``labels`` holds every decided node, parents included); None for a flat model."""

    label: str
    score: float
    labels: tuple[LabelScore, ...]
    probabilities: dict[str, float]
    abstained: bool | None = None
    paths: tuple[LabelScore, ...] | None = None

    @property
    def decided(self) -> tuple[LabelScore, ...]:
        """What a prediction file names: the paths of a hierarchical model, else the labels."""
        return self.labels if self.paths is None else self.paths

    def top_k(self, k: int) -> tuple[LabelProbability, ...]:
        """The ``k`` most probable labels with their probabilities (see top_k_labels)."""
        return top_k_labels(list(self.probabilities.values()), list(self.probabilities), k)

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        """As JSON; ``top_k`` adds "top_k": [{"label", "probability"}, ...] (None: unchanged)."""
        result: dict[str, Any] = {
            "label": self.label,
            "score": self.score,
            "labels": [item.to_dict() for item in self.labels],
        }
        if self.paths is not None:
            result["paths"] = [item.to_dict() for item in self.paths]
        if self.abstained is not None:  # only where abstention is in force
            result["abstained"] = self.abstained
        result["probabilities"] = dict(self.probabilities)
        if top_k is not None:
            result["top_k"] = [item.to_dict() for item in self.top_k(top_k)]
        return result


def predictions_from_outputs(
    outputs: Mapping[str, np.ndarray], info: ModelInfo
) -> list[Prediction]:
    """Prediction per row of serving_default's (numpy) outputs for the model ``info``
    describes; with an ``abstained`` output, an abstained row's label is the output ``label``
    (the abstain label); with a label tree, each row's paths."""
    label_names = info.labels
    tree = info.label_tree
    probabilities = outputs["probabilities"]
    predicted = outputs["predicted"]
    abstained = outputs.get("abstained")
    result = []
    for row in range(probabilities.shape[0]):
        probs = [float(p) for p in probabilities[row]]
        top = int(np.argmax(probabilities[row]))
        chosen = sorted(np.flatnonzero(predicted[row]), key=lambda i: (-probs[i], i))
        flag = None if abstained is None else bool(abstained[row])
        labels = tuple(LabelScore(label_names[i], probs[i]) for i in chosen)
        paths = None
        if tree is not None:
            ends = set(tree.path_ends([item.label for item in labels]))
            paths = tuple(item for item in labels if item.label in ends)
        result.append(
            Prediction(
                label=str(outputs["label"][row]) if flag else label_names[top],
                score=probs[top],
                labels=labels,
                probabilities=dict(zip(label_names, probs, strict=True)),
                abstained=flag,
                paths=paths,
            )
        )
    return result


class AnswersTexts:
    """What every runtime's predictor (serving.Predictor, serving.OnnxPredictor) derives from
    its ``run`` (serving_default's outputs), ``abstain`` and ``info``: predictions."""

    info: ModelInfo

    @classmethod
    def from_version(cls, found: Any, **kwargs: Any) -> Any:
        """The predictor of ``found`` (a serving.versions.ModelVersion)."""
        return cls(found.path, version=found.version, **kwargs)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    def predict(
        self,
        texts: Sequence[Any],
        texts_b: Sequence[Any] | None = None,
        abstention: Abstention | None = None,
        label_bounds: Bounds | None = None,
    ) -> list[Prediction]:
        """Predictions, abstaining at ``abstention`` and bounded by ``label_bounds`` (None:
        as the export does)."""
        outputs = self.abstain(self.run(texts, texts_b), abstention)  # type: ignore[attr-defined]
        return predictions_from_outputs(self.info.bound(outputs, label_bounds), self.info)

    def predict_one(self, text: Any, text_b: Any = None) -> Prediction:
        return self.predict([text], None if text_b is None else [text_b])[0]


class TextPredictor(Protocol):
    """What the REPL, predict.sh's batch mode and the upload need of a model: a loaded
    SavedModel (serving.Predictor) or a run folder in memory (serving.in_memory)."""

    info: ModelInfo
    path: Path
    version: int | None

    def predict(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        abstention: Abstention | None = None,
        label_bounds: Bounds | None = None,
    ) -> list[Prediction]: ...

    def predict_one(self, text: str, text_b: str | None = None) -> Prediction: ...

    def explain(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        predictions: Sequence[Prediction] | None = None,
        settings: Any = None,
    ) -> list: ...


class AbstainingPredictor:
    """A TextPredictor answered at ``abstention`` (and ``label_bounds``) instead of its
    model's own settings (predict.sh's --abstain_threshold / --abstain_label, --min_labels /
    --max_labels, for the REPL and the files alike); its ``info`` says so, so that outputs
    gain the abstained column."""

    def __init__(
        self,
        predictor: TextPredictor,
        abstention: Abstention | None,
        label_bounds: Bounds | None = None,
    ) -> None:
        self._predictor = predictor
        self.abstention = abstention
        self.label_bounds = label_bounds
        self.info = predictor.info.with_abstention(abstention).with_label_bounds(label_bounds)
        self.path = predictor.path
        self.version = predictor.version

    def predict(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        abstention: Abstention | None = None,
        label_bounds: Bounds | None = None,
    ) -> list[Prediction]:
        return self._predictor.predict(
            texts, texts_b, abstention or self.abstention, label_bounds or self.label_bounds
        )

    def predict_one(self, text: str, text_b: str | None = None) -> Prediction:
        return self.predict([text], None if text_b is None else [text_b])[0]

    @property
    def can_explain(self) -> bool:
        return bool(getattr(self._predictor, "can_explain", False))

    def explain(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        predictions: Sequence[Prediction] | None = None,
        settings: Any = None,
    ) -> list:
        """The wrapped model's explanations of these predictions (serving.explaining)."""
        if predictions is None:
            predictions = self.predict(texts, texts_b)
        return self._predictor.explain(texts, texts_b, predictions, settings)  # type: ignore[attr-defined]
