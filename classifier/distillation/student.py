"""The student: a shallower copy of the teacher, started from chosen teacher layers.

Why start from the teacher: a student whose embeddings, blocks, pooler and head are the
teacher's own begins close to the teacher's function, so distillation needs far fewer steps
than from random weights (RBT3 is RoBERTa-wwm-ext's first 3 layers; TextBrewer's T3 and
DistilBERT take layers from the teacher the same way).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import keras

from classifier.backbones import build_backbone
from classifier.classifier_spec import ClassifierSpec
from classifier.text_classifier import TextClassifier


def base_backbone(model: keras.Model) -> keras.Model:
    """The plain BERT/ALBERT backbone inside ``model`` (adapter wrappers hold it as
    ``.backbone``)."""
    backbone = model.backbone if hasattr(model, "backbone") else model
    while not hasattr(backbone, "num_hidden_layers") and hasattr(backbone, "backbone"):
        backbone = backbone.backbone
    return backbone


def default_student_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers ending with the top one: 12 -> 3 gives 3, 7, 11.

    The top layer is kept because the teacher's pooler and head were trained on its output;
    the others spread the student over the depth (BERT-PKD's "skip" choice)."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(
            f"a student of {student_layers} layers cannot come from a {teacher_layers}-layer "
            "teacher (1 to the teacher's count)"
        )
    return [round((i + 1) * teacher_layers / student_layers) - 1 for i in range(student_layers)]


def check_layers(layers: list[int], teacher_layers: int) -> list[int]:
    if not layers:
        raise ValueError("--student_layers needs at least one teacher layer")
    bad = [i for i in layers if not 0 <= i < teacher_layers]
    if bad:
        raise ValueError(
            f"--student_layers {bad}: the teacher has layers 0 to {teacher_layers - 1}"
        )
    if sorted(set(layers)) != list(layers):
        raise ValueError(f"--student_layers must be increasing and distinct, got {layers}")
    return list(layers)


def student_spec(
    teacher_spec: ClassifierSpec, layers: list[int], provenance: dict[str, Any]
) -> ClassifierSpec:
    """The teacher's spec for a plain (adapter-free) model of ``len(layers)`` layers; the
    dev-fitted settings (thresholds, temperatures) are fitted again for the student."""
    return replace(
        teacher_spec,
        model=replace(teacher_spec.model, num_hidden_layers=len(layers)),
        adapter=None,
        thresholds=None,
        temperatures=None,
        base_model=provenance,
    )


def build_student(
    teacher: TextClassifier, spec: ClassifierSpec, layers: list[int]
) -> TextClassifier:
    """A TextClassifier for ``spec`` whose weights are the teacher's: embeddings, the blocks of
    ``layers`` (in order), pooler and head. ALBERT shares its blocks across layers, so its
    student keeps every weight and only runs fewer layers."""
    source = base_backbone(teacher)
    backbone = build_backbone(spec.model)
    if hasattr(backbone, "transformer_layers"):  # BERT: one block per layer
        backbone.embeddings.set_weights(source.embeddings.get_weights())
        for block, index in zip(backbone.transformer_layers, layers, strict=True):
            block.set_weights(source.transformer_layers[index].get_weights())
        backbone.pooler.set_weights(source.pooler.get_weights())
    else:  # ALBERT: the same shared groups, run len(layers) times
        backbone.set_weights(source.get_weights())
    student = TextClassifier(
        backbone,
        num_labels=spec.num_labels,
        head_kind=spec.head_kind,
        dropout=spec.head_dropout,
        initializer_range=spec.model.initializer_range,
    )
    student.head.set_weights(teacher.head.get_weights())
    return student
