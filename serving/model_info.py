"""What a loaded SavedModel says about itself (its ``metadata`` signature), as plain Python."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
        return self.head_kind == MULTILABEL

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
