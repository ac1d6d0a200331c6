"""A trained classifier on disk: spec, weights, vocab and labels in one folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras

from classifier.adapters import AdaptedBackbone, apply_adapters, can_merge, merged_backbone
from classifier.adapters.fingerprint import UNKNOWN as UNKNOWN_FINGERPRINT
from classifier.backbones import build_backbone
from classifier.classifier_spec import ClassifierSpec
from classifier.files import atomic_write, atomic_write_text
from classifier.run_folder import SPEC_FILE  # also imported from here by its users
from classifier.text.vocab import load_vocab, write_vocab
from classifier.text_classifier import TextClassifier

WEIGHTS_FILE = "model.weights.h5"
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"


class TrainedModelError(FileNotFoundError):
    """A folder that does not hold a trained classifier."""


def build_classifier(spec: ClassifierSpec, backbone: keras.Model | None = None) -> TextClassifier:
    """The classifier for ``spec`` around ``backbone`` (a fresh one from spec.model if None).

    With ``spec.adapter`` the backbone gets those adapters first (unless it already is an
    AdaptedBackbone); their weights come with the model's weights file.
    """
    if backbone is None:
        backbone = build_backbone(spec.model)
    if spec.adapter is not None and not isinstance(backbone, AdaptedBackbone):
        backbone = apply_adapters(
            backbone,
            spec.adapter,
            base_fingerprint=spec.base_model.get("fingerprint") or UNKNOWN_FINGERPRINT,
            initialize=False,
        )
    return TextClassifier(
        backbone,
        num_labels=spec.num_labels,
        head_kind=spec.head_kind,
        dropout=spec.head_dropout,
        initializer_range=spec.model.initializer_range,
    )


def inference_model(model: TextClassifier, spec: ClassifierSpec) -> TextClassifier:
    """The model as it should run in prediction and export.

    Training-only structure is folded away here (adapters whose weights can be merged into
    the backbone, for example), so every consumer of a trained model gets the same graph.
    LoRA is merged into the query/value kernels (a new model; ``model`` is left unchanged);
    other adapters run as trained.
    """
    if not can_merge(model.backbone):
        return model
    merged = TextClassifier(
        merged_backbone(model.backbone),
        num_labels=model.num_labels,
        head_kind=model.head_kind,
        dropout=model.dropout,
        initializer_range=model.initializer_range,
    )
    merged.head.set_weights(model.head.get_weights())
    return merged


def save_trained_model(
    output_dir: str | Path, model: keras.Model, spec: ClassifierSpec, vocab_file: str | Path
) -> None:
    """Writes weights, vocab, labels and spec; the spec last, so a folder with a spec is whole."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / WEIGHTS_FILE, lambda tmp: _save_weights(model, tmp))
    if str(vocab_file).endswith(".json"):  # a tokenizer.json: the run folder gets a vocab.txt
        tokens = load_vocab(vocab_file)
        atomic_write(out / VOCAB_FILE, lambda tmp: write_vocab(tmp, tokens))
    elif Path(vocab_file).resolve() != (out / VOCAB_FILE).resolve():
        atomic_write(out / VOCAB_FILE, lambda tmp: shutil.copyfile(vocab_file, tmp))
    atomic_write_text(out / LABELS_FILE, "".join(f"{label}\n" for label in spec.labels))
    spec.save(out / SPEC_FILE)


def _save_weights(model: keras.Model, tmp: str) -> None:
    # Keras insists on the .weights.h5 suffix; write there, then hand the bytes to ``tmp``.
    staged = f"{tmp}.weights.h5"
    model.save_weights(staged)
    shutil.move(staged, tmp)


def load_trained_model(output_dir: str | Path) -> tuple[TextClassifier, ClassifierSpec]:
    """Rebuilds the classifier from a training output folder and loads its weights."""
    out = Path(output_dir)
    spec_path = out / SPEC_FILE
    if not spec_path.is_file():
        raise TrainedModelError(
            f"{out} holds no trained classifier ({SPEC_FILE} missing); train with --do_train "
            "first or point --output_dir at a training output"
        )
    if not (out / WEIGHTS_FILE).is_file():
        raise TrainedModelError(
            f"{out} holds {SPEC_FILE} but no {WEIGHTS_FILE}: not a whole training output (a "
            "saved adapter folder loads with classifier.adapter_tasks.load_adapter)"
        )
    spec = ClassifierSpec.load(spec_path)
    model = build_classifier(spec)
    model.load_weights(out / WEIGHTS_FILE)
    return model, spec
