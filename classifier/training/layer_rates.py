"""Learning rates per layer: layer-wise decay (--layerwise_lr_decay) and a head rate of its own
(--head_learning_rate), as multipliers of the schedule's rate, one per trained variable.

Layer-wise decay follows BEiT's and ELECTRA's fine-tuning code: with L layers and decay d, the
head (and the pooler) train at the peak rate, encoder layer i (0 = lowest) at d^(L - i), the
embeddings at d^(L + 1): the lower a layer, the more general what it learnt in pretraining and
the less it should move. Adapters inside a layer follow their layer. ALBERT layers share their
weights: a group of shared layers trains at the rate of its topmost layer. Any other variable
(fusion, knowledge adapters' heads) trains at the peak.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_LAYER_PATTERNS = (
    re.compile(r"(?:^|/)transformer_layer_(\d+)/"),  # BERT layers
    re.compile(r"(?:^|/)p(\d+)_"),  # adapters placed at a layer (houlsby, lora, ...)
    re.compile(r"(?:^|/)knowledge\d+_layer\d+_at(\d+)/"),  # K-Adapter after a layer
)
_GROUP_PATTERN = re.compile(r"(?:^|/)transformer_group_(\d+)_inner_\d+/")
HEAD_PREFIX = "classification_head/"


@dataclass(frozen=True)
class LayerRates:
    """How each variable's rate relates to the peak; ``None`` fields are off."""

    num_layers: int
    num_groups: int = 1  # ALBERT's num_hidden_groups
    decay: float | None = None
    head_multiplier: float | None = None  # head_learning_rate / learning_rate

    @property
    def active(self) -> bool:
        return self.decay not in (None, 1.0) or self.head_multiplier not in (None, 1.0)

    def depth(self, path: str) -> int:
        """0 for the embeddings, i + 1 for layer i, L + 1 for the top (pooler, head, rest)."""
        if path.startswith("embeddings/") or "/embeddings/" in path:
            return 0
        for pattern in _LAYER_PATTERNS:
            found = pattern.search(path)
            if found:
                return int(found.group(1)) + 1
        found = _GROUP_PATTERN.search(path)
        if found:  # a shared group serves the layers i with int(i / L * G) == g: its top one
            group = int(found.group(1))
            served = [
                i
                for i in range(self.num_layers)
                if int(i / self.num_layers * self.num_groups) == group
            ]
            return (max(served) if served else self.num_layers - 1) + 1
        return self.num_layers + 1

    def multiplier(self, path: str) -> float:
        if path.startswith(HEAD_PREFIX) and self.head_multiplier is not None:
            return self.head_multiplier
        if self.decay is None:
            return 1.0
        return float(self.decay ** (self.num_layers + 1 - self.depth(path)))

    def function(self) -> Callable[[str], float]:
        return self.multiplier
