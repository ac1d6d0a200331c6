"""One run of distill.sh: a fine-tuned teacher's run folder in, a student's run folder out.

The student's folder is a training output like any other (classifier_config.json, weights,
vocab, labels, reports), so evaluation, export and serving treat it as a fine-tuned model.
Everything is read and checked before the output folder is touched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from classifier.batching import EncodedExamples, training_dataset
from classifier.distillation.distiller import Distiller
from classifier.distillation.student import (
    base_backbone,
    build_student,
    check_layers,
    default_student_layers,
    student_spec,
)
from classifier.distillation.unlabeled import read_unlabeled
from classifier.files import file_sha256, write_json
from classifier.heads import kind_for
from classifier.inference import predict_logits
from classifier.run_folder import RESUME, mark_finished, open_run_folder, remove_artifacts
from classifier.trained_model import (
    VOCAB_FILE,
    WEIGHTS_FILE,
    inference_model,
    load_trained_model,
    save_trained_model,
)
from classifier.training import workflow
from classifier.training.checkpointing import BestWeights, StopOnNonFiniteLoss
from classifier.training.data import TrainingData, encode_examples
from classifier.training.dev_evaluator import DevEvaluator
from classifier.training.example_cache import examples_sha256
from classifier.training.finalize import finalize
from classifier.training.fit import schedule_for
from classifier.training.optimizer import create_optimizer
from classifier.training.output_dir import RUN_ARTIFACTS
from classifier.training.run import read_split
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)

DISTILL_SUMMARY = "distill_summary.json"


@dataclass(frozen=True)
class DistillConfig:
    """What the student is and what it learns from (the flags of the same names)."""

    student_layers: tuple[int, ...] | None = None  # teacher layers (0-based); None: spaced
    num_student_layers: int = 3  # used when student_layers is None
    temperature: float = 2.0
    kd_loss_weight: float = 1.0
    hard_label_weight: float = 0.0
    hidden_loss_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError("--temperature must be positive")
        weights = (self.kd_loss_weight, self.hard_label_weight, self.hidden_loss_weight)
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError(
                "--kd_loss_weight, --hard_label_weight and --hidden_loss_weight must be "
                "non-negative and not all 0"
            )


@dataclass(frozen=True)
class DistillOptions:
    teacher_dir: str
    output_dir: str
    unlabeled_files: tuple[str, ...] = ()
    overwrite: bool = False
    do_predict: bool = False
    predict_batch_size: int = 64
    distill: DistillConfig = field(default_factory=DistillConfig)
    training: TrainingConfig = field(default_factory=lambda: TrainingConfig(learning_rate=1e-4))


def distill(options: DistillOptions, task: Any) -> dict[str, Any]:
    """Trains the student and writes its run folder; returns the distillation summary.

    ``task`` has the DataProcessor contract; its train split is optional when unlabelled
    text is given (the teacher's predictions are then the only targets)."""
    started = time.time()
    teacher_dir = Path(options.teacher_dir)
    teacher, teacher_spec = load_trained_model(teacher_dir)
    teacher = inference_model(teacher, teacher_spec)
    head_kind = kind_for(task.is_multilabel)
    if teacher_spec.head_kind != head_kind or teacher_spec.is_pair != task.is_pair:
        raise ValueError(
            f"--teacher_dir {teacher_dir} holds a {teacher_spec.head_kind}"
            f"{' pair' if teacher_spec.is_pair else ''} model; the task is {head_kind}"
            f"{' pair' if task.is_pair else ''}"
        )
    labels = tuple(task.get_labels())
    if labels != teacher_spec.labels:
        raise ValueError(
            f"the task's labels {list(labels)} are not the teacher's {list(teacher_spec.labels)}"
        )
    training = options.training
    policy = teacher_spec.head.threshold_policy(training.threshold_strategy, training.metric)
    config = options.distill
    num_teacher_layers = base_backbone(teacher).num_hidden_layers
    layers = (
        check_layers(list(config.student_layers), num_teacher_layers)
        if config.student_layers
        else default_student_layers(num_teacher_layers, config.num_student_layers)
    )

    train = read_split(task, "train", required=not options.unlabeled_files)
    dev = read_split(task, "dev", required=False)
    test = read_split(task, "test", required=True) if options.do_predict else None
    unlabeled_a, unlabeled_b = read_unlabeled(options.unlabeled_files, task.is_pair)
    if not (train or unlabeled_a):
        raise ValueError("nothing to distill on: train.tsv and --unlabeled_file are both empty")
    for split, examples in (("train", train or []), ("dev", dev or []), ("test", test or [])):
        teacher_spec.head.check_labels(examples, split)

    vocab_file = teacher_dir / VOCAB_FILE
    spec = student_spec(
        teacher_spec,
        layers,
        {
            "distilled_from": str(teacher_dir.resolve()),
            "teacher_layers": layers,
            "teacher_num_layers": num_teacher_layers,
            "teacher_base_model": teacher_spec.base_model,
        },
    )
    spec = replace(
        spec,
        threshold_strategy=policy.strategy if policy else None,
        threshold_metric=policy.metric if policy else None,
    )
    encoder = teacher_spec.text_encoder(vocab_file)
    rows = _training_rows(encoder, teacher_spec, train or [], unlabeled_a, unlabeled_b)
    dev_data = encode_examples(encoder, dev, teacher_spec) if dev else None

    folder = open_run_folder(
        options.output_dir,
        {
            "teacher_weights_sha256": file_sha256(teacher_dir / WEIGHTS_FILE),
            "student_layers": layers,
            "distill": asdict(config),
            "training": options.training.result_settings(),
            "train_data_sha256": examples_sha256(train or []),
            "unlabeled_rows": len(unlabeled_a),
            "dev_data_sha256": examples_sha256(dev or []),
        },
        options.overwrite,
        (*RUN_ARTIFACTS, DISTILL_SUMMARY),
    )
    out = folder.path
    if folder.mode == RESUME:  # distillation keeps no checkpoints: start the same run again
        logger.info("%s holds an unfinished distillation: starting it again", out)
        remove_artifacts(out, (*RUN_ARTIFACTS, DISTILL_SUMMARY))

    keras.utils.set_random_seed(training.seed)
    student = build_student(teacher, spec, layers)
    logger.info(
        "student: %d of the teacher's %d layers (%s), %d parameters against %d",
        len(layers),
        num_teacher_layers,
        ", ".join(map(str, layers)),
        workflow.count_params(student.weights),
        workflow.count_params(teacher.weights),
    )
    distiller = Distiller(
        student,
        teacher,
        teacher_spec.head,
        temperature=config.temperature,
        kd_loss_weight=config.kd_loss_weight,
        hard_label_weight=config.hard_label_weight,
        hidden_loss_weight=config.hidden_loss_weight,
        teacher_layers=layers,
    )
    metric = teacher_spec.head.check_options(training.loss_options(), training.metric)
    schedule = schedule_for(len(rows), training)
    logger.info(
        "distilling on %d rows (%d labelled, %d unlabelled), batch %d, %d steps (%d epochs); "
        "temperature %s, weights kd %s / hard %s / hidden %s",
        len(rows),
        int(rows.sample_weights.sum()),
        len(rows) - int(rows.sample_weights.sum()),
        training.train_batch_size,
        schedule.total_steps,
        schedule.epochs,
        config.temperature,
        config.kd_loss_weight,
        config.hard_label_weight,
        config.hidden_loss_weight,
    )
    distiller.compile(
        optimizer=create_optimizer(
            training.learning_rate,
            schedule.total_steps,
            training.warmup_proportion,
            training.weight_decay,
            training.clip_norm,
            epsilon=training.adam_epsilon,
        ),
        jit_compile=False,
    )
    callbacks: list[keras.callbacks.Callback] = [StopOnNonFiniteLoss()]
    evaluator = None
    teacher_dev = None
    if dev_data is not None:
        head = teacher_spec.head
        # Both judged alike: decisions cross-fitted on dev (multilabel thresholds).
        teacher_dev = head.dev_report(
            predict_logits(teacher, dev_data, training.eval_batch_size),
            dev_data.document_labels,
            spec.threshold_policy,
        )
        evaluator = DevEvaluator(
            lambda: head.dev_report(
                predict_logits(student, dev_data, training.eval_batch_size),
                dev_data.document_labels,
                spec.threshold_policy,
            ),
            metric,
            patience=training.early_stopping_patience,
            best=BestWeights(distiller.trainable_weights),
        )
        callbacks.append(evaluator)
    history = distiller.fit(
        training_dataset(rows, training.train_batch_size, training.seed),
        epochs=schedule.epochs,
        steps_per_epoch=schedule.steps_per_epoch,
        callbacks=callbacks,
        verbose=2,
    )
    if evaluator is not None:
        evaluator.restore_best(distiller)

    spec = finalize(student, spec, training, TrainingData(None, dev_data))
    save_trained_model(out, student, spec, vocab_file)
    summary = {
        "teacher_dir": str(teacher_dir.resolve()),
        "teacher_layers": layers,
        "student_num_layers": len(layers),
        "teacher_num_layers": num_teacher_layers,
        "student_params": workflow.count_params(student.weights),
        "teacher_params": workflow.count_params(teacher.weights),
        "labelled_rows": int(rows.sample_weights.sum()),
        "unlabelled_rows": len(rows) - int(rows.sample_weights.sum()),
        "total_steps": schedule.total_steps,
        "selection_metric": metric,
        "best_epoch": evaluator.best_epoch if evaluator else None,
        "dev_history": evaluator.history if evaluator else [],
        "loss_history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "teacher_dev": _scalars(teacher_dev),
        "distill_config": asdict(config),
        "training_config": training.to_dict(),
        "seconds": None,
    }
    if dev:
        student_dev = workflow.evaluate(
            student,
            spec,
            encoder,
            dev,
            out,
            training.eval_batch_size,
            prefix="eval",
            fitted_here=True,
        )
        summary["student_dev"] = _scalars(student_dev)
        if metric in student_dev and teacher_dev and teacher_dev.get(metric):
            summary[f"student_over_teacher_{metric}"] = round(
                float(student_dev[metric]) / float(teacher_dev[metric]), 4
            )
            logger.info(
                "dev %s: student %.4f, teacher %.4f (%.1f%%)",
                metric,
                student_dev[metric],
                teacher_dev[metric],
                100 * student_dev[metric] / teacher_dev[metric],
            )
    if test is not None:
        workflow.predict(
            student, spec, encoder, test, out / "test_predictions.tsv", options.predict_batch_size
        )
        if spec.head.has_labels(test):
            summary["student_test"] = _scalars(
                workflow.evaluate(
                    student, spec, encoder, test, out, options.predict_batch_size, prefix="test"
                )
            )
    summary["seconds"] = round(time.time() - started, 1)
    write_json(out / DISTILL_SUMMARY, summary)
    mark_finished(out)
    return summary


def _training_rows(encoder, spec, labelled, unlabeled_a, unlabeled_b) -> EncodedExamples:
    """Labelled rows (label weight 1) then unlabelled ones (label weight 0, a filler label)."""
    parts = []
    if labelled:
        data = encode_examples(encoder, labelled, spec)
        data.sample_weights = np.ones(len(data), np.float32)
        parts.append(data)
    if unlabeled_a:
        data = EncodedExamples.from_texts(encoder, unlabeled_a, unlabeled_b)
        empty = spec.head.encode_labels([])  # the head's label array, for 0 examples
        data.labels = np.zeros((len(data), *empty.shape[1:]), empty.dtype)
        data.sample_weights = np.zeros(len(data), np.float32)
        parts.append(data)
    return EncodedExamples(
        token_ids=[row for part in parts for row in part.token_ids],
        segment_ids=[row for part in parts for row in part.segment_ids],
        labels=np.concatenate([part.labels for part in parts]),
        sample_weights=np.concatenate([part.sample_weights for part in parts]),
    )


def _scalars(results: dict[str, Any] | None) -> dict[str, float]:
    if not results:
        return {}
    return {k: float(v) for k, v in results.items() if isinstance(v, int | float)}
