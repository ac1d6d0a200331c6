"""What a loaded SavedModel says about itself (its ``metadata`` signature), as plain Python."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from serving.abstention import LABEL_KEY, THRESHOLD_KEY, Abstention
from serving.label_bounds import Bounds, apply_bounds
from serving.label_tree import ServedTree

MULTICLASS = "multiclass"
MULTILABEL = "multilabel"


@dataclass(frozen=True)
class ModelInfo:
    labels: tuple[str, ...]
    head_kind: str
    is_pair: bool
    thresholds: tuple[float, ...] | None
    max_seq_length: int
    model_family: str
    metadata: dict[str, Any]

    @property
    def is_multilabel(self) -> bool:
        """Whether decisions are a set of labels (a multilabel or hierarchical head: the
        export's ``multiple_labels``; exports before it said so by their head kind)."""
        return bool(self.metadata.get("multiple_labels", self.head_kind == MULTILABEL))

    @property
    def label_tree(self) -> ServedTree | None:
        """The label tree of a hierarchical model (None for a flat one)."""
        return ServedTree.from_metadata(self.metadata)

    @property
    def predicted_column(self) -> str:
        """The name of the decision column in prediction files: predicted_label(s) or, for a
        model with a label tree, predicted_paths."""
        if self.label_tree is not None:
            return "predicted_paths"
        return "predicted_labels" if self.is_multilabel else "predicted_label"

    @property
    def abstention(self) -> Abstention | None:
        """The export's abstain threshold and label (None: it never abstains)."""
        return Abstention.from_metadata(self.metadata)

    def with_abstention(self, abstention: Abstention | None) -> ModelInfo:
        """This model as answered at ``abstention`` (predict.sh's flags over the export's)."""
        metadata = {k: v for k, v in self.metadata.items() if k not in (THRESHOLD_KEY, LABEL_KEY)}
        if abstention is not None:
            metadata.update(abstention.to_metadata())
        return replace(self, metadata=metadata)

    @property
    def label_bounds(self) -> Bounds | None:
        """The export's multilabel bounds (None: the model takes none)."""
        return Bounds.from_metadata(self.metadata)

    def with_label_bounds(self, bounds: Bounds | None) -> ModelInfo:
        """This model as answered at ``bounds`` (predict.sh's flags over the export's)."""
        if bounds is None:
            return self
        return replace(self, metadata={**self.metadata, **bounds.to_metadata()})

    def bound(self, outputs: dict, bounds: Bounds | None) -> dict:
        """serving_default's outputs decided at ``bounds`` (a request's, see
        serving.label_bounds.resolve) instead of the export's; None or the same: unchanged."""
        if bounds is None or bounds == self.label_bounds:
            return outputs
        return apply_bounds(outputs, bounds, self.thresholds or (), self.labels)

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("text", "text_b") if self.is_pair else ("text",)

    @classmethod
    def from_metadata_json(cls, text: str | bytes) -> ModelInfo:
        return cls.from_metadata(json.loads(text))

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> ModelInfo:
        """From the export's metadata (export.export_metadata), parsed."""
        thresholds = data.get("thresholds")
        return cls(
            labels=tuple(data["labels"]),
            head_kind=data["head_kind"],
            is_pair=bool(data["is_pair"]),
            thresholds=tuple(float(t) for t in thresholds) if thresholds is not None else None,
            max_seq_length=int(data["max_seq_length"]),
            model_family=str(data.get("model_family", "")),
            metadata=data,
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields GET /metadata reports, the full export metadata under "model"."""
        return {
            "labels": list(self.labels),
            "head_kind": self.head_kind,
            "is_pair": self.is_pair,
            "thresholds": list(self.thresholds) if self.thresholds is not None else None,
            "max_seq_length": self.max_seq_length,
            "model_family": self.model_family,
            "inputs": list(self.input_names),
            "model": self.metadata,
        }
