"""A model's predictions as pre-annotations: annotators correct a guess faster than they label
from nothing, and Label Studio sorts tasks by the guess's score.

The model is anything with serving's ``predict(texts) -> [Prediction]`` (a Predictor over a
SavedModel or an ONNX export, as predict.sh loads it); nothing here imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from curation.annotation_record import AnnotatedText, Suggestion


class TextModel(Protocol):
    def predict(self, texts: Sequence[str]) -> list[Any]: ...


def with_suggestions(
    records: Sequence[AnnotatedText], model: TextModel, model_version: str
) -> list[AnnotatedText]:
    """``records``, each with the model's decided labels (a hierarchical model's paths; none
    when it abstained or no label reached its threshold) and its top probability."""
    predictions = model.predict([record.text for record in records])
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} texts")
    return [
        replace(
            record,
            suggestion=Suggestion(
                tuple(item.label for item in prediction.decided),
                float(prediction.score),
                model_version,
            ),
        )
        for record, prediction in zip(records, predictions, strict=True)
    ]


def model_version_of(version_folder: str | Path) -> str:
    """``my_task/1`` for export version folder ``exported/my_task/1``: the export and its
    version, what Label Studio shows beside each prediction."""
    folder = Path(version_folder).resolve()
    return f"{folder.parent.name}/{folder.name}"
