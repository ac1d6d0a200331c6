"""What a trained classifier is, beyond its weights: labels, head, text settings, base model.

Written as classifier_config.json next to the weights, it is all that evaluation, prediction
and export need to rebuild the model and its preprocessing exactly (no side pickles).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifier.config import ModelConfig
from classifier.files import read_json, write_json
from classifier.heads import Head, check_head_kind, make_head
from classifier.label_bounds import LabelBounds
from classifier.text.long_text import LongTextPolicy
from classifier.thresholds import ThresholdPolicy

FORMAT_VERSION = 1


class SpecError(ValueError):
    """A classifier_config.json that cannot be used."""


@dataclass(frozen=True)
class ClassifierSpec:
    model: ModelConfig
    labels: tuple[str, ...]
    head_kind: str
    is_pair: bool = False
    max_seq_length: int = 128
    do_lower_case: bool = True
    max_chars_per_word: int = 200
    head_dropout: float = 0.1
    task_name: str = "tsv"
    thresholds: tuple[float, ...] | None = None
    temperatures: tuple[float, ...] | None = None  # calibration fitted on dev (one or per label)
    # How the thresholds were fitted (multilabel; classifier.thresholds): a dev report on these
    # rows is cross-fitted the same way. None: before threshold strategies, or no thresholds.
    threshold_strategy: str | None = None
    threshold_metric: str | None = None
    # --min_labels / --max_labels (multilabel; classifier.label_bounds); None: no bounds.
    label_bounds: dict[str, Any] | None = None
    adapter: dict[str, Any] | None = None
    base_model: dict[str, Any] = field(default_factory=dict)
    # Texts over max_seq_length (classifier.text.long_text); the flags of the same names.
    long_text: str = "truncate"
    head_tokens: int | None = None
    doc_stride: int | None = None
    window_pooling: str = "mean"

    def __post_init__(self) -> None:
        check_head_kind(self.head_kind)
        if not self.labels:
            raise SpecError("a classifier needs at least one label")
        if len(set(self.labels)) != len(self.labels):
            raise SpecError("labels must be unique")
        try:
            head = self.head
        except ValueError as err:  # thresholds or temperatures that do not fit the labels
            raise SpecError(str(err)) from None
        if len(self.labels) < head.min_labels:
            raise SpecError(
                f"a {self.head_kind} classifier needs at least {head.min_labels} labels"
            )
        if not 2 < self.max_seq_length <= self.model.max_position_embeddings:
            raise SpecError(
                f"max_seq_length must be in [3, {self.model.max_position_embeddings}] "
                f"(the model's max_position_embeddings), got {self.max_seq_length}"
            )
        if self.thresholds is not None and len(self.thresholds) != len(self.labels):
            raise SpecError("one threshold per label is required")
        try:
            _ = self.threshold_policy  # validates the two fields
        except ValueError as err:
            raise SpecError(str(err)) from None
        self.long_text_policy.check(self.max_seq_length, self.is_pair)

    @property
    def long_text_policy(self) -> LongTextPolicy:
        return LongTextPolicy.from_dict(
            {name: getattr(self, name) for name in LongTextPolicy().to_dict()}
        )

    @property
    def threshold_policy(self) -> ThresholdPolicy | None:
        """How the thresholds were fitted on dev (None when the spec does not say)."""
        if self.threshold_strategy is None:
            return None
        return ThresholdPolicy(self.threshold_strategy, self.threshold_metric or "micro_f1")

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def head(self) -> Head:
        """The head object of this classifier's kind (its labels and thresholds)."""
        return make_head(
            self.head_kind,
            self.labels,
            self.thresholds,
            self.temperatures,
            LabelBounds.from_dict(self.label_bounds),
        )

    def text_encoder(self, vocab_file: str | Path):
        """The tokenizer + packer these settings describe: one definition for training,
        evaluation and export (a classifier.text.TextEncoder)."""
        from classifier.text.encoder import TextEncoder  # TensorFlow only when encoding

        return TextEncoder.from_vocab_file(
            vocab_file,
            do_lower_case=self.do_lower_case,
            max_seq_length=self.max_seq_length,
            max_chars_per_word=self.max_chars_per_word,
            long_text=self.long_text_policy,
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["model"] = self.model.to_dict()
        data["labels"] = list(self.labels)
        data["thresholds"] = None if self.thresholds is None else list(self.thresholds)
        data["temperatures"] = None if self.temperatures is None else list(self.temperatures)
        return {"format_version": FORMAT_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierSpec:
        data = dict(data)
        version = data.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise SpecError(f"unsupported classifier_config format_version {version}")
        data["model"] = ModelConfig.from_dict(data["model"])
        data["labels"] = tuple(data["labels"])
        if data.get("thresholds") is not None:
            data["thresholds"] = tuple(float(t) for t in data["thresholds"])
        if data.get("temperatures") is not None:
            data["temperatures"] = tuple(float(t) for t in data["temperatures"])
        return cls(**data)

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> ClassifierSpec:
        try:
            return cls.from_dict(read_json(path))
        except (KeyError, TypeError) as err:
            raise SpecError(f"{path}: malformed classifier config ({err})") from err
