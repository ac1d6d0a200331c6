"""Activation functions by the canonical names of classifier.config."""

from __future__ import annotations

import keras

from classifier.config import GELU_EXACT, GELU_TANH


def get_activation(name: str):
    """Returns the function for a canonical activation name (see classifier.config.ACTIVATIONS)."""
    if name == GELU_TANH:
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name == GELU_EXACT:
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name in ("relu", "swish", "tanh"):
        return keras.activations.get(name)
    raise ValueError(f"unknown activation {name!r}")
