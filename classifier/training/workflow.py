"""Train, evaluate and predict: run_classifier's three jobs, each asking the spec's head.

``train`` chains the steps that the CLI, the benchmarks and other jobs can also call one by
one: prepare data (training.data), build and compile (training.compile), fit (training.fit),
finalize (training.finalize: thresholds fitted on dev), save (training.save).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from classifier.classifier_spec import ClassifierSpec
from classifier.distribution import replicas
from classifier.explain.mistakes import ExplainRows
from classifier.files import file_sha256, write_json
from classifier.heads.base import Example
from classifier.inference import predict_logits
from classifier.split_reports import write_predictions, write_split_reports
from classifier.text import TextEncoder
from classifier.training.compile import compile_for_training, initialize_head_bias
from classifier.training.data import TrainingData, encode_examples, prepare_data
from classifier.training.example_cache import (
    CachedSplit,
    cache_key,
    default_cache_dir,
    examples_sha256,
    open_or_build,
)
from classifier.training.finalize import finalize
from classifier.training.fit import FitOutcome, Schedule, fit, schedule_for
from classifier.training.save import save_outputs
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


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
    train_examples: Sequence[Example] | CachedSplit,
    dev_examples: Sequence[Example] | None,
    output_dir: str | Path,
    vocab_file: str | Path,
    backbone_params: int | None = None,
    resume: bool = False,
    restore_from: Path | None = None,
    cache_dir: str | Path | None = None,
) -> TrainResult:
    """Fine-tunes ``model``, keeps the best dev epoch, fits thresholds, saves to output_dir.

    ``train_examples`` is an encoded split (example_cache.open_or_build) or a list of
    examples, then encoded into the cache under ``cache_dir`` first. With ``resume``, training
    goes on from the latest checkpoint in output_dir (if any), or in
    ``restore_from`` (a non-chief worker follows the chief's checkpoints)."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = spec.head
    metric = head.check_options(config.loss_options(), config.metric)
    keras.utils.set_random_seed(config.seed)
    started = time.time()

    train_split = encoded_split(train_examples, spec, encoder, vocab_file, cache_dir)
    data = prepare_data(spec, config.loss_options(), encoder, train_split, dev_examples)
    schedule = schedule_for(len(data.train), config, replicas(model.distribute_strategy))
    trainable = count_params(model.trainable_weights)
    backbone_params = backbone_params or count_params(model.weights)
    log_plan(data, config, schedule, model, trainable, backbone_params)
    initialize_head_bias(model, head, config, data.train)
    compile_for_training(model, head, config, schedule.total_steps, data.train.labels)
    outcome = fit(
        model, head, config, data, schedule, metric, out, resume=resume, restore_from=restore_from
    )
    spec = finalize(model, spec, config, data)
    adapter = save_outputs(out, model, spec, vocab_file)

    summary = {
        "train_examples": len(data.train),
        "dev_examples": len(data.dev) if data.dev else 0,
        "total_steps": schedule.total_steps,
        **outcome_summary(outcome),
        "seconds": round(time.time() - started, 1),
        "trainable_params": trainable,
        "backbone_params": backbone_params,
        "trainable_percent_of_backbone": round(100.0 * trainable / backbone_params, 4),
        "adapter": adapter,
        "selection_metric": metric,
        **best_epoch_summary(outcome),
        "train_loss_history": outcome.train_loss_history,
        "training_config": config.to_dict(),
    }
    write_json(out / "train_summary.json", summary)
    return TrainResult(spec, model, summary)


def log_plan(
    data: TrainingData,
    config: TrainingConfig,
    schedule: Schedule,
    model: keras.Model,
    trainable: int,
    backbone_params: int,
) -> None:
    logger.info(
        "training %d examples, batch %d per replica x %d replicas, %d steps (%d epochs); "
        "trainable parameters %d (%.2f%% of the backbone's %d)",
        len(data.train),
        config.train_batch_size,
        replicas(model.distribute_strategy),
        schedule.total_steps,
        schedule.epochs,
        trainable,
        100.0 * trainable / backbone_params,
        backbone_params,
    )


def encoded_split(
    train_examples: Sequence[Example] | CachedSplit,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    vocab_file: str | Path,
    cache_dir: str | Path | None,
) -> CachedSplit:
    """An encoded split as it is, a list of examples encoded through the example cache."""
    if isinstance(train_examples, CachedSplit):
        return train_examples
    examples = list(train_examples)
    key = cache_key(examples_sha256(examples), file_sha256(vocab_file), spec)
    return open_or_build(cache_dir or default_cache_dir(), key, lambda: examples, encoder, spec)


def outcome_summary(outcome: FitOutcome) -> dict[str, Any]:
    """What train_summary.json says of the steps run (resumes included)."""
    return {
        "epochs_run": len(outcome.train_loss_history),
        "steps_done": outcome.steps_done,
        "resumed_from_step": outcome.resumed_from_step,
        "resumes": outcome.resumes,
    }


def best_epoch_summary(outcome: FitOutcome) -> dict[str, Any]:
    evaluator = outcome.evaluator
    return {
        "best_epoch": evaluator.best_epoch if evaluator else None,
        "best_dev_value": evaluator.best_value if evaluator else None,
        "dev_history": evaluator.history if evaluator else [],
    }


def evaluate(
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    examples: Sequence[Example],
    output_dir: str | Path,
    batch_size: int = 64,
    prefix: str = "eval",
    fitted_here: bool = False,
    explain: ExplainRows | None = None,
) -> dict[str, Any]:
    """Writes the split's reports into output_dir (classifier.split_reports: the results
    JSON, scikit-learn's classification report, the head's figures, the error analysis);
    returns the results.

    ``fitted_here``: these are the rows the decision thresholds were fitted on (dev), so the
    figures are cross-fitted the way the spec's threshold policy says (head.dev_report).
    ``explain``: the error analysis says why its confident mistakes were made
    (classifier.explain.mistakes)."""
    data = encode_examples(encoder, examples, spec)
    logits = predict_logits(model, data, batch_size)
    policy = spec.threshold_policy if fitted_here else None
    return write_split_reports(
        output_dir,
        spec.head,
        examples,
        logits,
        data.document_labels,
        prefix,
        policy,
        explain=explain,
    )


def predict(
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    examples: Sequence[Example],
    output_path: str | Path,
    batch_size: int = 64,
) -> np.ndarray:
    """Writes one TSV row per example (classifier.split_reports.write_predictions: text(s),
    predicted label(s), probability, each label's probability, gold label(s) when known);
    returns the probabilities."""
    data = encode_examples(encoder, examples, spec, with_labels=False)
    probs = spec.head.probabilities(predict_logits(model, data, batch_size))
    write_predictions(output_path, spec.head, examples, probs, spec.is_pair)
    return probs
