"""The masked-LM head's tensors under each checkpoint naming scheme: loading and writing.

Google's TF1 releases (BERT and ALBERT; brightmart's albert_zh too) keep the head under
cls/predictions/{transform/dense, transform/LayerNorm, output_bias}; transformers' BertForMaskedLM
under cls.predictions.{transform.dense, transform.LayerNorm, bias} and AlbertForMaskedLM under
predictions.{dense, LayerNorm, bias} (the decoder weight is the tied embedding table; recent
transformers also save the bias as decoder.bias). The head is all-or-nothing: every tensor
present and of the right shape, or none (a new head, said so in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from classifier.checkpoints.hf_bert import transpose
from classifier.checkpoints.weight_mapping import CheckpointMismatchError, MappedWeight
from classifier.pretraining.mlm_head import MaskedLMHead

logger = logging.getLogger(__name__)

TF1_SCHEMES = ("google_bert_tf1", "google_albert_tf1", "brightmart_albert_tf1")
HF_PREFIX = {"hf_bert": "cls.predictions.", "hf_albert": "predictions."}
HF_TRANSFORM = {"hf_bert": "transform.dense", "hf_albert": "dense"}
HF_NORM = {"hf_bert": "transform.LayerNorm", "hf_albert": "LayerNorm"}


def head_mapping(scheme_name: str, head: MaskedLMHead) -> list[MappedWeight]:
    """Every head variable with the name that scheme gives it (HF names canonical, unprefixed)."""
    if scheme_name in TF1_SCHEMES:
        scope = "cls/predictions/"
        return [
            MappedWeight(f"{scope}transform/dense/kernel", head.dense.kernel),
            MappedWeight(f"{scope}transform/dense/bias", head.dense.bias),
            MappedWeight(f"{scope}transform/LayerNorm/gamma", head.layer_norm.gamma),
            MappedWeight(f"{scope}transform/LayerNorm/beta", head.layer_norm.beta),
            MappedWeight(f"{scope}output_bias", head.output_bias),
        ]
    if scheme_name in HF_PREFIX:
        scope = HF_PREFIX[scheme_name]
        dense, norm = scope + HF_TRANSFORM[scheme_name], scope + HF_NORM[scheme_name]
        return [
            MappedWeight(f"{dense}.weight", head.dense.kernel, transpose, transpose),
            MappedWeight(f"{dense}.bias", head.dense.bias),
            MappedWeight(f"{norm}.weight", head.layer_norm.gamma),
            MappedWeight(f"{norm}.bias", head.layer_norm.beta),
            MappedWeight(f"{scope}bias", head.output_bias),
        ]
    raise ValueError(f"no masked-LM head naming for checkpoint scheme {scheme_name!r}")


def _lookup(tensors: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    if name in tensors:
        return np.asarray(tensors[name])
    if name.endswith("predictions.bias"):  # saved as the decoder's (tied) bias instead
        alias = name[: -len("bias")] + "decoder.bias"
        if alias in tensors:
            return np.asarray(tensors[alias])
    return None


def load_head(
    head: MaskedLMHead, scheme_name: str, tensors: Mapping[str, np.ndarray], source: str
) -> bool:
    """Loads the head from ``tensors`` when the checkpoint has one; False (head left as
    initialised) when it has none. A partial or mis-shaped head is a CheckpointMismatchError."""
    mapping = head_mapping(scheme_name, head)
    found = {item.name: _lookup(tensors, item.name) for item in mapping}
    present = [name for name, value in found.items() if value is not None]
    if not present:
        return False
    missing = [name for name, value in found.items() if value is None]
    if missing:
        raise CheckpointMismatchError(
            f"{source}: the masked-LM head is incomplete, missing {', '.join(missing)}"
        )
    staged = []
    for item in mapping:
        value = found[item.name]
        if item.to_model is not None:
            value = item.to_model(value)
        if tuple(value.shape) != tuple(item.variable.shape):
            raise CheckpointMismatchError(
                f"{source}: {item.name} has shape {tuple(value.shape)}, the model's head needs "
                f"{tuple(item.variable.shape)}"
            )
        staged.append((item.variable, value))
    for variable, value in staged:
        variable.assign(value.astype(variable.dtype))
    return True


def head_tensors(
    head: MaskedLMHead, scheme_name: str, hf_prefix: str = ""
) -> dict[str, np.ndarray]:
    """The head's tensors under ``scheme_name``'s names, ready to write beside the backbone."""
    tensors = {}
    for item in head_mapping(scheme_name, head):
        value = np.asarray(item.variable.numpy())
        if item.to_checkpoint is not None:
            value = item.to_checkpoint(value)
        tensors[item.name] = value
    return tensors
