"""A trained adapter on disk: small files, loadable onto its base checkpoint only.

    <output_dir>/adapter/
      adapter_config.json        kind and options, base fingerprint, parameter counts
      adapter_model.safetensors  adapter weights + the classification head (+ Houlsby's
                                 LayerNorms): nothing else of the backbone
      classifier_config.json     the spec (labels, head, text settings) to rebuild the model
      labels.txt

Tensor names: ``adapter/<layer>/<i>.<var>``, ``head/<i>.<var>`` and, for backbone variables the
adapter trains, ``backbone/<variable path>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
from safetensors.numpy import load_file, save_file

from classifier.adapter_config.saved_adapter import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    LABELS_FILE,
    SPEC_FILE,
    WEIGHTS_FILE,
    AdapterError,
    BaseModelMismatchError,
    short,
)
from classifier.adapters.adapted_backbone import AdaptedBackbone
from classifier.classifier_spec import ClassifierSpec
from classifier.files import atomic_write, atomic_write_text, write_json


def read_adapter_tensors(folder: str | Path) -> dict[str, np.ndarray]:
    return load_file(str(Path(folder) / WEIGHTS_FILE))


# --- which variables an adapter file holds ---
def _layer_entries(prefix: str, layer: keras.layers.Layer) -> dict[str, keras.Variable]:
    return {f"{prefix}/{i:02d}.{v.name}": v for i, v in enumerate(layer.weights)}


def saved_variables(model: keras.Model) -> dict[str, keras.Variable]:
    """Name -> variable for everything a classifier's adapter file holds."""
    adapted = model.backbone
    if not isinstance(adapted, AdaptedBackbone):
        raise AdapterError("this classifier has no adapters (its backbone is not adapted)")
    entries: dict[str, keras.Variable] = {}
    for key, layer in adapted.adapter.named_layers().items():
        entries.update(_layer_entries(f"adapter/{key}", layer))
    entries.update(_layer_entries("head", model.head))
    for variable in adapted.adapter.backbone_trainable():
        entries[f"backbone/{variable.path}"] = variable
    return entries


def assign_tensors(
    layers: Mapping[str, keras.layers.Layer],
    tensors: Mapping[str, np.ndarray],
    source: str,
    partial: bool = False,
) -> None:
    """Assigns ``tensors`` to the weights of ``layers`` (prefix -> layer), checking shapes."""
    entries: dict[str, keras.Variable] = {}
    for prefix, layer in layers.items():
        entries.update(_layer_entries(prefix, layer))
    assign_entries(entries, tensors, source, partial)


def assign_entries(
    entries: Mapping[str, keras.Variable],
    tensors: Mapping[str, np.ndarray],
    source: str,
    partial: bool = False,
) -> None:
    missing = sorted(set(entries) - set(tensors))
    extra = sorted(set(tensors) - set(entries))
    if missing or (extra and not partial):
        raise AdapterError(
            f"{source} does not fit this adapter structure: missing {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected {extra[:5]}"
            f"{'...' if len(extra) > 5 else ''}"
        )
    for name, variable in entries.items():
        value = tensors[name]
        if tuple(value.shape) != tuple(variable.shape):
            raise AdapterError(
                f"{source}: {name} has shape {tuple(value.shape)}, the model expects "
                f"{tuple(variable.shape)}"
            )
        variable.assign(value)


# --- saving ---
def count_parameters(variables) -> int:
    return int(sum(np.prod(v.shape) for v in variables))


def save_adapter(folder: str | Path, model: keras.Model, spec: ClassifierSpec) -> dict[str, Any]:
    """Writes the adapter, its head and the spec into ``folder``; returns the summary."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    adapted: AdaptedBackbone = model.backbone
    entries = saved_variables(model)
    tensors = {name: np.ascontiguousarray(np.asarray(v)) for name, v in entries.items()}
    metadata = {"format": FORMAT, "kind": adapted.adapter_config.kind}
    atomic_write(out / WEIGHTS_FILE, lambda tmp: save_file(tensors, tmp, metadata=metadata))
    backbone_params = count_parameters(adapted.backbone.weights)
    counts = {
        "adapter": count_parameters(adapted.adapter_weights()),
        "adapter_trainable": count_parameters(v for v in adapted.adapter_weights() if v.trainable),
        "backbone_trained": count_parameters(adapted.adapter.backbone_trainable()),
        "head": count_parameters(model.head.weights),
        "backbone": backbone_params,
    }
    counts["saved"] = count_parameters(entries.values())
    summary = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "adapter": adapted.adapter_config.to_dict(),
        "base_fingerprint": adapted.base_fingerprint,
        "base_model": {**spec.base_model, "config": spec.model.to_dict()},
        "task_name": spec.task_name,
        "labels": list(spec.labels),
        "head_kind": spec.head_kind,
        "parameters": counts,
        "weights_file": WEIGHTS_FILE,
        "weights_bytes": (out / WEIGHTS_FILE).stat().st_size,
    }
    atomic_write_text(out / LABELS_FILE, "".join(f"{label}\n" for label in spec.labels))
    spec.save(out / SPEC_FILE)
    write_json(out / CONFIG_FILE, summary)  # last: a folder with a config is whole
    return summary


# --- loading ---
def check_base(saved: dict[str, Any], fingerprint: str, folder: Path) -> None:
    expected = saved["base_fingerprint"]
    if expected != fingerprint:
        base = saved.get("base_model", {})
        raise BaseModelMismatchError(
            f"the adapter in {folder} was trained on base model {short(expected)} "
            f"({base.get('checkpoint', 'unknown checkpoint')}), but this backbone is "
            f"{short(fingerprint)}: load it onto the checkpoint it was trained on "
            f"(full fingerprints: adapter {expected}, backbone {fingerprint})"
        )
