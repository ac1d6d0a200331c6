"""What a training step adds to the plain loss: FGM adversarial training on the word embeddings
and R-Drop's consistency between two dropout passes. Set on a TextClassifier by the training
compile step (``model.step_regularizers``); not part of the saved model.

- FGM (Miyato et al. 2017, as bert4keras' examples use it): after the usual backward pass the
  word-embedding matrix moves by epsilon * g / ||g|| (g: the loss gradient with respect to that
  matrix), a second forward and backward pass runs on the moved embeddings, the matrix moves
  back, and the optimizer applies the sum of both passes' gradients.
- R-Drop (Liang et al. 2021): the batch runs twice with independent dropout; the loss is the mean
  of the two losses plus alpha times the symmetric KL between the two predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class StepRegularizers:
    fgm_epsilon: float = 0.0
    embedding: Any = None  # the word-embedding variable FGM perturbs
    rdrop_alpha: float = 0.0
    consistency: Callable[[Any, Any], Any] | None = None  # the head's symmetric KL

    @property
    def active(self) -> bool:
        return self.fgm_epsilon > 0 or self.rdrop_alpha > 0


def word_embedding_variable(model: Any) -> Any:
    """The model's word (token) embedding matrix, found by its weight path."""
    for variable in model.weights:
        if variable.path.endswith("word_embeddings/embeddings"):
            return variable
    raise ValueError("the model has no word_embeddings/embeddings weight to perturb (FGM)")
