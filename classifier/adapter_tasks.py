"""Saved task adapters as classifiers: one loaded onto its base, or several sharing one base.

A saved adapter (classifier.adapters.storage) holds adapter weights, its head and the task's
spec; these helpers assemble the classifier around a base backbone (with the model module's
build_classifier), so they sit above both the adapters package and the model.

Bottleneck, LoRA, K-Adapter and fusion adapters never write into the backbone: each task's
model attaches its own hooks while it runs, so any task's model predicts correctly at any time.
Houlsby adapters trained the backbone's LayerNorms; ``AdapterSet.activate`` puts the chosen
task's LayerNorm values in place (and the base values back for tasks without them), so with
Houlsby tasks use ``activate`` (or ``predict(..., task=...)``) to switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from classifier.adapter_config.saved_adapter import (
    SPEC_FILE,
    AdapterError,
    read_adapter_config,
    resolve_adapter_dir,
)
from classifier.adapters import apply_adapters
from classifier.adapters.fingerprint import base_fingerprint
from classifier.adapters.storage import (
    assign_entries,
    check_base,
    read_adapter_tensors,
    saved_variables,
)
from classifier.batching import EncodedExamples, pad_batch
from classifier.checkpoints import load_backbone, load_pretrained
from classifier.classifier_spec import ClassifierSpec
from classifier.trained_model import build_classifier


def attach_adapter(
    folder: str | Path, backbone: keras.Model, fingerprint: str | None = None
) -> tuple[keras.Model, ClassifierSpec, list[tuple[keras.Variable, np.ndarray]]]:
    """Builds the saved classifier on ``backbone`` without touching the backbone's weights.

    Returns the model, its spec and the backbone values it needs (Houlsby's LayerNorms) for
    the caller to assign (AdapterSet does so when the task is activated).
    """
    path = resolve_adapter_dir(folder)
    saved = read_adapter_config(path)
    fingerprint = fingerprint or base_fingerprint(backbone)
    check_base(saved, fingerprint, path)
    spec = ClassifierSpec.load(path / SPEC_FILE)
    adapted = apply_adapters(
        backbone, saved["adapter"], base_fingerprint=fingerprint, initialize=False
    )
    model = build_classifier(spec, adapted)
    tensors = read_adapter_tensors(path)
    entries = saved_variables(model)
    own = {k: v for k, v in entries.items() if not k.startswith("backbone/")}
    overrides = {k: v for k, v in entries.items() if k.startswith("backbone/")}
    own_tensors = {k: v for k, v in tensors.items() if not k.startswith("backbone/")}
    assign_entries(own, own_tensors, str(path))
    missing = sorted(set(overrides) - set(tensors))
    if missing:
        raise AdapterError(f"{path}: backbone weights {missing[:5]} are missing")
    for name, variable in overrides.items():
        if tuple(tensors[name].shape) != tuple(variable.shape):
            raise AdapterError(f"{path}: {name} does not fit this backbone's shape")
    backbone_values = [(variable, tensors[name]) for name, variable in overrides.items()]
    return model, spec, backbone_values


def load_adapter(
    folder: str | Path, backbone: keras.Model | str | Path
) -> tuple[keras.Model, ClassifierSpec]:
    """The classifier saved in ``folder`` (an adapter folder or its training output), on
    ``backbone``: a loaded base backbone or the base checkpoint folder to load it from.

    Raises BaseModelMismatchError, naming both fingerprints, for any other base. The
    backbone's own weights change only for kinds that train some of them (Houlsby's
    LayerNorms); use AdapterSet to keep several tasks on one backbone.
    """
    if not isinstance(backbone, keras.Model):
        backbone = load_backbone(backbone)
    model, spec, backbone_values = attach_adapter(folder, backbone)
    for variable, value in backbone_values:
        variable.assign(value)
    return model, spec


@dataclass
class _Task:
    model: keras.Model
    spec: ClassifierSpec
    folder: Path
    backbone_values: list[tuple[keras.Variable, np.ndarray]]


class AdapterSet:
    """``AdapterSet(backbone)`` or ``AdapterSet.from_model_dir(base_dir)``; then ``add`` task
    adapters, ``activate`` one, and ``model()`` / ``predict`` with it."""

    def __init__(self, backbone: keras.Model, vocab_file: str | Path | None = None):
        self.backbone = backbone
        self.vocab_file = vocab_file
        self.base_fingerprint = base_fingerprint(backbone)
        self.active: str | None = None
        self._tasks: dict[str, _Task] = {}
        self._base_values: list[tuple[keras.Variable, np.ndarray]] = []
        self._encoders: dict[tuple, object] = {}

    @classmethod
    def from_model_dir(cls, model_dir: str | Path, **load_kwargs) -> AdapterSet:
        """Loads the base checkpoint folder (any format load_pretrained reads)."""
        pretrained = load_pretrained(model_dir, **load_kwargs)
        return cls(pretrained.backbone, vocab_file=pretrained.files.vocab_file)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    def add(self, folder: str | Path, name: str | None = None, activate: bool = False):
        """Loads a saved adapter (checked against the base); returns its classifier."""
        path = resolve_adapter_dir(folder)
        model, spec, values = attach_adapter(path, self.backbone, self.base_fingerprint)
        name = name or (path.parent.name if path.name == "adapter" else path.name)
        if name in self._tasks:
            raise AdapterError(f"a task named {name!r} is already loaded; pass another name")
        self._tasks[name] = _Task(model, spec, path, values)
        self._snapshot([variable for variable, _ in values])
        if activate or self.active is None:
            self.activate(name)
        return model

    def _snapshot(self, variables: list[keras.Variable]) -> None:
        """Remembers the base value of backbone variables some task overrides."""
        known = {id(v) for v, _ in self._base_values}
        new = [v for v in variables if id(v) not in known]
        if not new:
            return
        self._restore_base()
        self._base_values += [(v, np.asarray(v).copy()) for v in new]
        if self.active is not None:
            self._apply(self._tasks[self.active])

    def _restore_base(self) -> None:
        for variable, value in self._base_values:
            variable.assign(value)

    def _apply(self, task: _Task) -> None:
        for variable, value in task.backbone_values:
            variable.assign(value)
        task.model.backbone.refreeze()

    def activate(self, name: str) -> keras.Model:
        """Makes ``name`` the active task (its backbone values in place); returns its model."""
        task = self._task(name)
        self._restore_base()
        self._apply(task)
        self.active = name
        return task.model

    def model(self, name: str | None = None) -> keras.Model:
        return self._task(name or self.active).model

    def spec(self, name: str | None = None) -> ClassifierSpec:
        return self._task(name or self.active).spec

    def _task(self, name: str | None) -> _Task:
        if name is None:
            raise AdapterError("no task adapter is loaded")
        try:
            return self._tasks[name]
        except KeyError:
            raise AdapterError(f"no task {name!r}; loaded: {list(self._tasks)}") from None

    def predict(
        self, texts: list[str], text_b: list[str] | None = None, task: str | None = None
    ) -> np.ndarray:
        """Probabilities [len(texts), num_labels] of ``task`` (activated first; default the
        active one), texts tokenized with the base checkpoint's vocab."""
        name = task or self.active
        if name != self.active:
            self.activate(name)
        spec = self.spec(name)
        if self.vocab_file is None:
            raise AdapterError("predict needs the base vocab: use AdapterSet.from_model_dir")
        key = (
            spec.max_seq_length,
            spec.do_lower_case,
            spec.max_chars_per_word,
            spec.long_text_policy,
        )
        if key not in self._encoders:
            self._encoders[key] = spec.text_encoder(self.vocab_file)
        data = EncodedExamples.from_texts(
            self._encoders[key], texts, text_b if spec.is_pair else None
        )
        inputs = pad_batch(data, np.arange(len(data)))
        logits = data.pool(np.asarray(self.model(name)(inputs, training=False), np.float32))
        return spec.head.probabilities(logits)
