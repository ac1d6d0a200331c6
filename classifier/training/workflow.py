"""Train, evaluate and predict: run_classifier's three jobs on examples from any processor.

Examples are duck-typed (guid, text_a, text_b, label or labels), so this module serves any
DataProcessor without importing the processors package.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np

from classifier import metrics as M
from classifier.adapters import ADAPTER_DIR, adapter_config_from_dict, save_adapter
from classifier.batching import EncodedExamples, steps_per_epoch, training_dataset
from classifier.classifier_spec import ClassifierSpec
from classifier.files import atomic_write_text, write_json
from classifier.heads import (
    MULTICLASS,
    MULTILABEL,
    balanced_pos_weight,
    head_loss,
    prior_logits,
    probabilities,
)
from classifier.inference import predict_logits
from classifier.reports import write_confusion_csv, write_confusion_png
from classifier.text import TextEncoder
from classifier.trained_model import save_trained_model
from classifier.training.dev_evaluator import DevEvaluator, StopAtStep
from classifier.training.optimizer import create_optimizer
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


class Example(Protocol):
    guid: str
    text_a: str
    text_b: str | None
    label: str | None
    labels: tuple[str, ...] | None


def has_labels(examples: Sequence[Example], head_kind: str) -> bool:
    field = "labels" if head_kind == MULTILABEL else "label"
    return bool(examples) and all(getattr(e, field) is not None for e in examples)


def encode_examples(
    encoder: TextEncoder,
    examples: Sequence[Example],
    spec: ClassifierSpec,
    with_labels: bool = True,
) -> EncodedExamples:
    """Tokenizes and packs every example; labels become ids (multiclass) or multi-hot rows."""
    token_ids, segment_ids = encoder.encode_many(
        [e.text_a for e in examples], [e.text_b for e in examples] if spec.is_pair else None
    )
    labels = None
    if with_labels:
        index = {name: i for i, name in enumerate(spec.labels)}
        try:
            if spec.head_kind == MULTICLASS:
                labels = np.array([index[e.label] for e in examples], np.int32)
            else:
                labels = np.zeros((len(examples), spec.num_labels), np.float32)
                for row, e in enumerate(examples):
                    labels[row, [index[name] for name in e.labels]] = 1.0
        except KeyError as err:
            raise ValueError(f"label {err.args[0]!r} is not in the label set") from None
    return EncodedExamples(token_ids, segment_ids, labels)


def balanced_class_weights(labels: np.ndarray, num_labels: int) -> np.ndarray:
    """n / (k * n_c) per class, as scikit-learn's class_weight='balanced'; absent classes 1.0."""
    counts = np.bincount(labels, minlength=num_labels).astype(np.float64)
    weights = np.ones(num_labels)
    present = counts > 0
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def report(spec: ClassifierSpec, logits: np.ndarray, labels: np.ndarray, thresholds=None) -> dict:
    if spec.head_kind == MULTICLASS:
        return M.multiclass_report(logits, labels, list(spec.labels))
    if thresholds is None:
        thresholds = np.full(spec.num_labels, 0.5)
    return M.multilabel_report(logits, labels, list(spec.labels), thresholds)


def pos_weight_for(config: TrainingConfig, labels: np.ndarray) -> np.ndarray | None:
    """Per-label positive weights from --pos_weight: None, one number, or "balanced"."""
    if config.pos_weight is None:
        return None
    if config.pos_weight == "balanced":
        return balanced_pos_weight(labels)
    return np.full(labels.shape[1], float(config.pos_weight))


def compile_for_training(
    model: keras.Model,
    head_kind: str,
    config: TrainingConfig,
    total_steps: int,
    pos_weight: np.ndarray | None = None,
) -> None:
    """The optimizer, loss and metric every fine-tuning run (and the benchmark) uses."""
    model.compile(
        optimizer=create_optimizer(
            config.learning_rate,
            total_steps,
            config.warmup_proportion,
            config.weight_decay,
            config.clip_norm,
            epsilon=config.adam_epsilon,
        ),
        loss=head_loss(
            head_kind,
            config.loss,
            pos_weight=pos_weight,
            focal_gamma=config.focal_gamma,
            asl_gamma_pos=config.asl_gamma_pos,
            asl_gamma_neg=config.asl_gamma_neg,
            asl_clip=config.asl_clip,
            label_smoothing=config.label_smoothing,
        ),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy")
            if head_kind == MULTICLASS
            else keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
        ],
        jit_compile=False,
    )


def initialize_head_bias(
    model: keras.Model,
    spec: ClassifierSpec,
    data: EncodedExamples,
    pos_weight: np.ndarray | None = None,
) -> None:
    """Starts the head at the training label frequencies (see heads.prior_logits for why)."""
    bias = prior_logits(
        spec.head_kind, data.labels, spec.num_labels, data.sample_weights, pos_weight
    )
    model.head.dense.bias.assign(bias)
    logger.info("head bias set to the training label priors (--head_bias_init=prior)")


@dataclass
class TrainResult:
    spec: ClassifierSpec
    model: keras.Model
    summary: dict[str, Any]


def count_params(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def train(
    model: keras.Model,
    spec: ClassifierSpec,
    config: TrainingConfig,
    encoder: TextEncoder,
    train_examples: Sequence[Example],
    dev_examples: Sequence[Example] | None,
    output_dir: str | Path,
    vocab_file: str | Path,
    backbone_params: int | None = None,
) -> TrainResult:
    """Fine-tunes ``model``, keeps the best dev epoch, tunes thresholds, saves to output_dir."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    config.check_head_kind(spec.head_kind)
    metric = config.selection_metric(spec.head_kind)
    keras.utils.set_random_seed(config.seed)

    started = time.time()
    train_data = encode_examples(encoder, train_examples, spec)
    if config.class_weight == "balanced":
        if spec.head_kind != MULTICLASS:
            raise ValueError("class_weight 'balanced' applies to multiclass tasks only")
        weights = balanced_class_weights(train_data.labels, spec.num_labels)
        train_data.sample_weights = weights[train_data.labels].astype(np.float32)
    dev_data = None
    if dev_examples:
        dev_data = encode_examples(encoder, dev_examples, spec)
    logger.info(
        "encoded %d train and %d dev examples in %.1fs",
        len(train_data),
        len(dev_data) if dev_data else 0,
        time.time() - started,
    )

    steps = steps_per_epoch(len(train_data), config.train_batch_size)
    total_steps = max(1, int(round(steps * config.num_train_epochs)))
    epochs = math.ceil(total_steps / steps)
    trainable = count_params(model.trainable_weights)
    backbone_params = backbone_params or count_params(model.weights)
    logger.info(
        "training %d examples, batch %d, %d steps (%d epochs); trainable parameters %d "
        "(%.2f%% of the backbone's %d)",
        len(train_data),
        config.train_batch_size,
        total_steps,
        epochs,
        trainable,
        100.0 * trainable / backbone_params,
        backbone_params,
    )
    pos_weight = pos_weight_for(config, train_data.labels) if spec.head_kind == MULTILABEL else None
    if pos_weight is not None:
        logger.info(
            "positive weights: %s",
            ", ".join(f"{n}={w:.3g}" for n, w in zip(spec.labels, pos_weight, strict=True)),
        )
    if config.head_bias_init == "prior":
        initialize_head_bias(model, spec, train_data, pos_weight)
    compile_for_training(model, spec.head_kind, config, total_steps, pos_weight)

    def evaluate_dev() -> dict[str, Any]:
        logits = predict_logits(model, dev_data, config.eval_batch_size)
        thresholds = None
        if spec.head_kind == MULTILABEL:
            thresholds = M.tune_thresholds(probabilities(logits, MULTILABEL), dev_data.labels)
        return report(spec, logits, dev_data.labels, thresholds)

    callbacks: list[keras.callbacks.Callback] = [StopAtStep(total_steps)]
    evaluator = None
    if dev_data is not None:
        evaluator = DevEvaluator(evaluate_dev, metric, config.early_stopping_patience)
        callbacks.append(evaluator)
    callbacks += [
        keras.callbacks.CSVLogger(str(out / "training_log.csv")),
        keras.callbacks.TensorBoard(log_dir=str(out / "logs"), update_freq="epoch"),
    ]
    history = model.fit(
        training_dataset(train_data, config.train_batch_size, config.seed, config.group_by_length),
        epochs=epochs,
        steps_per_epoch=steps,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself, length buckets included
        verbose=1
        if sys.stdout.isatty()
        else 2,  # a live bar on a terminal, a line per epoch in logs
    )

    if spec.head_kind == MULTILABEL:
        thresholds = np.full(spec.num_labels, 0.5)
        if dev_data is not None:
            logits = predict_logits(model, dev_data, config.eval_batch_size)
            thresholds = M.tune_thresholds(probabilities(logits, MULTILABEL), dev_data.labels)
        spec = replace(spec, thresholds=tuple(float(t) for t in thresholds))
    save_trained_model(out, model, spec, vocab_file)
    adapter = None
    if spec.adapter is not None and adapter_config_from_dict(spec.adapter).saves_artifact:
        # the small, swappable artifact: adapter + head + spec
        saved = save_adapter(out / ADAPTER_DIR, model, spec)
        adapter = {
            "kind": spec.adapter["kind"],
            "dir": str(out / ADAPTER_DIR),
            "parameters": saved["parameters"],
            "file_bytes": saved["weights_bytes"],
        }
        logger.info(
            "saved the %s adapter with its head to %s (%d parameters, %d bytes)",
            adapter["kind"],
            adapter["dir"],
            saved["parameters"]["saved"],
            saved["weights_bytes"],
        )

    summary = {
        "train_examples": len(train_data),
        "dev_examples": len(dev_data) if dev_data else 0,
        "total_steps": total_steps,
        "epochs_run": len(history.history.get("loss", [])),
        "seconds": round(time.time() - started, 1),
        "trainable_params": trainable,
        "backbone_params": backbone_params,
        "trainable_percent_of_backbone": round(100.0 * trainable / backbone_params, 4),
        "adapter": adapter,
        "selection_metric": metric,
        "best_epoch": evaluator.best_epoch if evaluator else None,
        "best_dev_value": evaluator.best_value if evaluator else None,
        "dev_history": evaluator.history if evaluator else [],
        "train_loss_history": [float(v) for v in history.history.get("loss", [])],
        "training_config": config.to_dict(),
    }
    write_json(out / "train_summary.json", summary)
    return TrainResult(spec, model, summary)


def report_file_names(prefix: str) -> dict[str, str]:
    """Dev reports use the classic names (eval_results.json, classification_report.txt,
    confusion_matrix.*); other splits prefix them (test_results.json, test_confusion_...)."""
    extra = "" if prefix == "eval" else f"{prefix}_"
    return {
        "results": f"{prefix}_results.json",
        "report": f"{extra}classification_report.txt",
        "confusion_csv": f"{extra}confusion_matrix.csv",
        "confusion_png": f"{extra}confusion_matrix.png",
    }


def evaluate(
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    examples: Sequence[Example],
    output_dir: str | Path,
    batch_size: int = 64,
    prefix: str = "eval",
) -> dict[str, Any]:
    """Writes the results JSON, scikit-learn's classification report and (multiclass) the
    confusion matrix as CSV and PNG into output_dir; returns the results."""
    out = Path(output_dir)
    files = report_file_names(prefix)
    data = encode_examples(encoder, examples, spec)
    logits = predict_logits(model, data, batch_size)
    names = list(spec.labels)
    thresholds = np.array(spec.thresholds) if spec.thresholds else None
    results = report(spec, logits, data.labels, thresholds)
    if spec.head_kind == MULTICLASS:
        text = M.multiclass_text_report(logits, data.labels, names)
        matrix = M.multiclass_confusion(logits, data.labels, spec.num_labels)
        results["confusion_matrix"] = matrix.tolist()
        write_confusion_csv(out / files["confusion_csv"], matrix, names)
        write_confusion_png(out / files["confusion_png"], matrix, names)
    else:
        text = M.multilabel_text_report(logits, data.labels, names, results_thresholds(results))
    atomic_write_text(out / files["report"], text)
    write_json(out / files["results"], results)
    return results


def results_thresholds(results: dict[str, Any]) -> np.ndarray:
    return np.array(list(results["thresholds"].values()))


def predict(
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    examples: Sequence[Example],
    output_path: str | Path,
    batch_size: int = 64,
) -> np.ndarray:
    """Writes one TSV row per example: text(s), predicted label(s), probability, then each
    label's probability and, when the examples carry them, the gold label(s).

    Multilabel rows list the labels over their tuned thresholds joined by "|" and their
    probabilities likewise (both empty when no label passes)."""
    data = encode_examples(encoder, examples, spec, with_labels=False)
    probs = probabilities(predict_logits(model, data, batch_size), spec.head_kind)
    gold = has_labels(examples, spec.head_kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    header = ["text_a", "text_b"] if spec.is_pair else ["text"]
    header += ["predicted_labels" if spec.head_kind == MULTILABEL else "predicted_label"]
    header += ["probability"] + [f"p({name})" for name in spec.labels]
    if gold:
        header += ["gold_labels" if spec.head_kind == MULTILABEL else "gold_label"]
    writer.writerow(header)
    thresholds = np.array(spec.thresholds or [0.5] * spec.num_labels)
    for example, row in zip(examples, probs, strict=True):
        texts = [example.text_a, example.text_b or ""] if spec.is_pair else [example.text_a]
        if spec.head_kind == MULTICLASS:
            best = int(row.argmax())
            predicted, score = spec.labels[best], f"{row[best]:.6f}"
        else:
            chosen = [i for i in range(spec.num_labels) if row[i] >= thresholds[i]]
            predicted = "|".join(spec.labels[i] for i in chosen)
            score = "|".join(f"{row[i]:.6f}" for i in chosen)
        fields = [*texts, predicted, score, *(f"{p:.6f}" for p in row)]
        if gold:
            fields.append(
                "|".join(example.labels) if spec.head_kind == MULTILABEL else example.label
            )
        writer.writerow(fields)
    atomic_write_text(output_path, buffer.getvalue())
    return probs
