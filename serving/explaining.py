"""Explanations from any predictor: which words drove each prediction (integrated gradients).

A predictor explains through an ``attribute`` function over its model rows: a SavedModel's
``explain_ids`` signature, or the Keras model of a run folder in memory; everything else (rows,
windows, words) is classifier.explain.explanation, the same code for both, so an export and
its run folder explain alike. An ONNX export carries no gradients and says so.

Which labels are explained: ``ExplainSettings.label`` when given, else the prediction's decided
labels (multiclass: the label; multilabel: each predicted label, a hierarchical model each
decided node), else (nothing decided, or abstained) the most probable label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.explain.explanation import (
    BASELINES,
    DEFAULT_BASELINE,
    DEFAULT_IG_STEPS,
    AttributeRows,
    Attribution,
    TextExplainer,
)
from classifier.text.long_text import LongTextPolicy
from classifier.text.tokenizer import FullTokenizer
from serving.prediction import Prediction

MAX_IG_STEPS = 1000  # a request's ig_steps above this is refused (the cost grows with it)


class ExplainUnavailable(ValueError):
    """This model cannot explain (an ONNX export, frozen weights); the message says what can."""


@dataclass(frozen=True)
class ExplainSettings:
    """``steps``: integrated-gradients steps; ``baseline``: "pad" or "mask" (the blank the
    words fade from); ``label``: explain this label rather than the predicted ones."""

    steps: int = DEFAULT_IG_STEPS
    baseline: str = DEFAULT_BASELINE
    label: str | None = None

    def __post_init__(self) -> None:
        steps = self.steps
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_IG_STEPS:
            raise ValueError(f"ig_steps must be an integer from 1 to {MAX_IG_STEPS}, got {steps!r}")
        if self.baseline not in BASELINES:
            raise ValueError(
                f"ig_baseline must be one of {', '.join(BASELINES)}, got {self.baseline!r}"
            )
        if self.label is not None and not isinstance(self.label, str):
            raise ValueError(f"explain_label must be a label name, got {self.label!r}")


def labels_to_explain(prediction: Prediction, settings: ExplainSettings) -> list[str]:
    """The labels one prediction's explanation covers (see the module doc)."""
    if settings.label is not None:
        return [settings.label]
    decided = [item.label for item in prediction.labels]
    if decided:
        return decided
    probabilities = prediction.probabilities
    return [max(probabilities, key=lambda name: probabilities[name])]


def explainer_for(
    vocab_file: str | Path, metadata: Mapping[str, Any], attribute: AttributeRows
) -> TextExplainer:
    """A TextExplainer that rows texts as the model's export metadata says (tokenizer
    settings, max_seq_length, long-text policy, labels)."""
    tokenizer = FullTokenizer(
        vocab_file,
        do_lower_case=bool(metadata.get("do_lower_case", True)),
        max_input_chars_per_word=int(metadata.get("max_chars_per_word") or 200),
    )
    return TextExplainer(
        tokenizer,
        int(metadata["max_seq_length"]),
        LongTextPolicy.from_dict(dict(metadata)),
        list(metadata["labels"]),
        attribute,
    )


class ExplainsTexts:
    """``explain`` for a predictor whose ``_explain_attribute()`` gives its attribute function
    and whose ``_explain_vocab()`` / ``info.metadata`` describe its rows."""

    info: Any
    _explainer: TextExplainer | None = None

    @property
    def can_explain(self) -> bool:
        """Whether ``explain`` can work here (an export without gradients cannot)."""
        return True

    def _explain_attribute(self) -> AttributeRows:
        raise NotImplementedError

    def _explain_vocab(self) -> Path:
        raise NotImplementedError

    def explain(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        predictions: Sequence[Prediction] | None = None,
        settings: ExplainSettings | None = None,
    ) -> list[list[Attribution]]:
        """Per text, one Attribution per explained label (see labels_to_explain); the
        predictions are made here when not given."""
        settings = settings or ExplainSettings()
        if predictions is None:
            predictions = self.predict(texts, texts_b)  # type: ignore[attr-defined]
        if self._explainer is None:
            self._explainer = explainer_for(
                self._explain_vocab(), self.info.metadata, self._explain_attribute()
            )
        if settings.label is not None:
            self._explainer.label_index(settings.label)  # an unknown label: before any work
        return [
            self._explainer.explain(
                text,
                labels_to_explain(prediction, settings),
                None if texts_b is None else texts_b[i],
                settings.steps,
                settings.baseline,
            )
            for i, (text, prediction) in enumerate(zip(texts, predictions, strict=True))
        ]


def explanation_fields(attributions: Sequence[Attribution]) -> dict[str, Any]:
    """What an explanation adds to a prediction's JSON: the first explained label's
    ``words`` and ``tokens`` (with ``explained_label``), and with more than one label,
    ``explanations``: every label's."""
    first = attributions[0].to_dict()
    fields: dict[str, Any] = {"explained_label": first.pop("label")}
    fields.update(first)
    if len(attributions) > 1:
        fields["explanations"] = [a.to_dict() for a in attributions]
    return fields
