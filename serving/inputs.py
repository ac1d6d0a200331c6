"""What every runtime checks of the texts it is given, and the outputs of no texts, without
TensorFlow (serving.predictor for a SavedModel, serving.onnx_predictor for an ONNX export)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from serving.abstention import ABSTAINED
from serving.model_info import ModelInfo

Text = str | bytes


class InputError(ValueError):
    """Texts a model cannot take (wrong type, missing text_b, lone surrogates)."""


def utf8(text: Text, index: int, name: str) -> bytes:
    """str -> UTF-8; bytes pass as they are (the tokenizer drops invalid UTF-8, as training
    does)."""
    if isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        raise InputError(f"{name} {index}: expected a string, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError(f"{name} {index}: not valid Unicode ({err.reason})") from None


def texts_b_for(info: ModelInfo, texts_b: Sequence[Text] | None, count: int) -> list[bytes] | None:
    """text_b as UTF-8, checked against the model (pairs need one per text, singles none)."""
    if not info.is_pair:
        if texts_b is not None:
            raise InputError("this model takes single texts: text_b is not an input")
        return None
    if texts_b is None:
        raise InputError("this model classifies text pairs: text_b is required")
    if len(texts_b) != count:
        raise InputError(f"{count} texts but {len(texts_b)} text_b")
    return [utf8(t, i, "text_b") for i, t in enumerate(texts_b)]


def empty_outputs(info: ModelInfo) -> dict[str, np.ndarray]:
    """serving_default's outputs for no texts."""
    k = len(info.labels)
    return {
        "label": np.zeros([0], object),
        "score": np.zeros([0], np.float32),
        "labels": np.zeros([0, k], object),
        "predicted": np.zeros([0, k], np.int32),
        "probabilities": np.zeros([0, k], np.float32),
        "logits": np.zeros([0, k], np.float32),
        **({ABSTAINED: np.zeros([0], bool)} if info.abstention is not None else {}),
    }
