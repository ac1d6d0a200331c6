"""Hugging Face state-dict names brought to one canonical form before any scheme looks at them.

The same BertModel weights come as "embeddings.word_embeddings.weight" (BertModel.save_pretrained),
"bert.embeddings.word_embeddings.weight" (BertForMaskedLM / BertForPreTraining, as HFL ships them)
and, from pytorch-pretrained-bert days, with LayerNorm.gamma / LayerNorm.beta. Canonical names
drop the model prefix and use LayerNorm.weight / LayerNorm.bias; heads keep their names (cls.*,
predictions.*, sop_classifier.*) so that the loader skips them as heads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from classifier.checkpoints.weight_mapping import CheckpointMismatchError

MODEL_PREFIXES = ("bert.", "albert.")


def model_prefix(names: set[str]) -> str:
    """The prefix a task model (BertForMaskedLM, AlbertForPreTraining, ...) puts on the backbone."""
    for prefix in MODEL_PREFIXES:
        if f"{prefix}embeddings.word_embeddings.weight" in names:
            return prefix
    return ""


def canonical_name(name: str, prefix: str) -> str:
    if prefix and name.startswith(prefix):
        name = name[len(prefix) :]
    if name.endswith("LayerNorm.gamma"):
        name = name[: -len("gamma")] + "weight"
    elif name.endswith("LayerNorm.beta"):
        name = name[: -len("beta")] + "bias"
    return name


class HFStateDict(Mapping):
    """Read-only name -> array view with canonical names over a raw HF state dict."""

    def __init__(self, tensors: Mapping[str, np.ndarray], source: str):
        self._tensors = tensors
        self.prefix = model_prefix(set(tensors))
        self._original: dict[str, str] = {}
        for name in tensors:
            canonical = canonical_name(name, self.prefix)
            if canonical in self._original:
                raise CheckpointMismatchError(
                    f"{source}: {self._original[canonical]!r} and {name!r} are the same tensor "
                    "under two names"
                )
            self._original[canonical] = name

    def original_name(self, canonical: str) -> str:
        return self._original[canonical]

    def __getitem__(self, name: str) -> np.ndarray:
        return self._tensors[self._original[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._original)

    def __len__(self) -> int:
        return len(self._original)
