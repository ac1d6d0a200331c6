"""One run of distill.sh: a fine-tuned teacher's run folder in, a student's run folder out.

The student's folder is a training output like any other (classifier_config.json, weights,
vocab, labels, reports), so evaluation, export and serving treat it as a fine-tuned model.
Everything is read and checked before the output folder is touched. Training runs on the
fine-tuning trainer (classifier.training.fit), so a killed distill.sh resumes from its last
checkpoint when the same command runs again, as train.sh does.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from classifier.classifier_spec import ClassifierSpec
from classifier.distillation.config import DistillConfig
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
from classifier.heads import head_kind_of
from classifier.inference import predict_logits
from classifier.run_folder import RESUME, mark_finished, open_run_folder
from classifier.text import TextEncoder
from classifier.trained_model import (
    VOCAB_FILE,
    WEIGHTS_FILE,
    inference_model,
    load_trained_model,
    save_trained_model,
)
from classifier.training import workflow
from classifier.training.checkpointing import CHECKPOINT_DIR
from classifier.training.data import TrainingData, encode_examples
from classifier.training.example_cache import (
    CachedSplit,
    cache_key,
    default_cache_dir,
    examples_sha256,
    open_or_build,
)
from classifier.training.finalize import finalize
from classifier.training.fit import Schedule, fit, schedule_for
from classifier.training.optimizer import create_optimizer
from classifier.training.output_dir import RUN_ARTIFACTS
from classifier.training.run import read_split
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)

DISTILL_SUMMARY = "distill_summary.json"


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


@dataclass(frozen=True)
class DistillExample:
    """A training row for the student: a labelled example (weight 1) or a text without a
    label (weight 0; its filler label never enters a loss)."""

    text_a: str
    text_b: str | None
    label: str | None
    labels: tuple[str, ...] | None
    weight: float
    guid: str = ""


@dataclass(frozen=True)
class Teacher:
    folder: Path
    model: keras.Model
    spec: ClassifierSpec
    layers: list[int]  # the teacher layers the student's start from
    num_layers: int


def distill(options: DistillOptions, task: Any) -> dict[str, Any]:
    """Trains the student and writes its run folder; returns the distillation summary.

    ``task`` has the DataProcessor contract; its train split is optional when unlabelled
    text is given (the teacher's predictions are then the only targets)."""
    started = time.time()
    teacher = load_teacher(options, task)
    training = options.training
    train, dev, test, (unlabeled_a, unlabeled_b) = _read_data(options, task, teacher)

    vocab_file = teacher.folder / VOCAB_FILE
    spec = _student_spec(teacher, training)
    encoder = teacher.spec.text_encoder(vocab_file)
    rows = training_rows(encoder, spec, vocab_file, train or [], unlabeled_a, unlabeled_b)
    dev_data = encode_examples(encoder, dev, teacher.spec) if dev else None
    folder = open_run_folder(
        options.output_dir,
        _run_config(options, teacher, train, unlabeled_a, dev, rows.fingerprint),
        options.overwrite,
        (*RUN_ARTIFACTS, DISTILL_SUMMARY),
    )
    out = folder.path

    keras.utils.set_random_seed(training.seed)
    student = build_student(teacher.model, spec, teacher.layers)
    distiller = _distiller(student, teacher, options.distill)
    metric = teacher.spec.head.check_options(training.loss_options(), training.metric)
    schedule = schedule_for(len(rows), training)
    _log_plan(rows, schedule, options, teacher, student)
    distiller.compile(optimizer=_optimizer(training, schedule), jit_compile=False)
    teacher_dev = _dev_report(teacher.model, spec, dev_data, training)
    outcome = fit(
        distiller,
        teacher.spec.head,
        training,
        TrainingData(rows, dev_data),
        schedule,
        metric,
        out,
        resume=folder.mode == RESUME,
        judged=student,
    )
    spec = finalize(student, spec, training, TrainingData(None, dev_data))
    save_trained_model(out, student, spec, vocab_file)
    summary = _summary(teacher, student, rows, schedule, outcome, metric, teacher_dev, options)
    if dev:
        summary.update(
            _student_dev(student, spec, encoder, dev, out, training, metric, teacher_dev)
        )
    if test is not None:
        summary.update(_student_test(student, spec, encoder, test, out, options))
    summary["seconds"] = round(time.time() - started, 1)
    write_json(out / DISTILL_SUMMARY, summary)
    mark_finished(out)  # last: a run killed before here resumes when run again
    shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)  # they only serve a resume
    return summary


def _read_data(options: DistillOptions, task: Any, teacher: Teacher):
    """(train, dev, test, (unlabelled texts, their second texts)), labels checked against the
    teacher's."""
    train = read_split(task, "train", required=not options.unlabeled_files)
    dev = read_split(task, "dev", required=False)
    test = read_split(task, "test", required=True) if options.do_predict else None
    unlabeled = read_unlabeled(options.unlabeled_files, task.is_pair)
    if not (train or unlabeled[0]):
        raise ValueError("nothing to distill on: train.tsv and --unlabeled_file are both empty")
    for split, examples in (("train", train or []), ("dev", dev or []), ("test", test or [])):
        teacher.spec.head.check_labels(examples, split)
    return train, dev, test, unlabeled


def _student_test(student, spec, encoder, test, out: Path, options: DistillOptions) -> dict:
    """test_predictions.tsv, and with labelled test rows the student's test figures."""
    batch = options.predict_batch_size
    workflow.predict(student, spec, encoder, test, out / "test_predictions.tsv", batch)
    if not spec.head.has_labels(test):
        return {}
    results = workflow.evaluate(student, spec, encoder, test, out, batch, prefix="test")
    return {"student_test": _scalars(results)}


def load_teacher(options: DistillOptions, task: Any) -> Teacher:
    """The teacher run folder's model, checked against the task, and the layers chosen."""
    folder = Path(options.teacher_dir)
    model, spec = load_trained_model(folder)
    model = inference_model(model, spec)
    head_kind = head_kind_of(task)
    if spec.head_kind != head_kind or spec.is_pair != task.is_pair:
        raise ValueError(
            f"--teacher_dir {folder} holds a {spec.head_kind}"
            f"{' pair' if spec.is_pair else ''} model; the task is {head_kind}"
            f"{' pair' if task.is_pair else ''}"
        )
    labels = tuple(task.get_labels())
    if labels != spec.labels:
        raise ValueError(
            f"the task's labels {list(labels)} are not the teacher's {list(spec.labels)}"
        )
    spec.head.threshold_policy(options.training.threshold_strategy, options.training.metric)
    config = options.distill
    num_layers = base_backbone(model).num_hidden_layers
    layers = (
        check_layers(list(config.student_layers), num_layers)
        if config.student_layers
        else default_student_layers(num_layers, config.student_depth(num_layers))
    )
    return Teacher(folder, model, spec, layers, num_layers)


def _student_spec(teacher: Teacher, training: TrainingConfig) -> ClassifierSpec:
    policy = teacher.spec.head.threshold_policy(training.threshold_strategy, training.metric)
    spec = student_spec(
        teacher.spec,
        teacher.layers,
        {
            "distilled_from": str(teacher.folder.resolve()),
            "teacher_layers": teacher.layers,
            "teacher_num_layers": teacher.num_layers,
            "teacher_base_model": teacher.spec.base_model,
        },
    )
    return replace(
        spec,
        threshold_strategy=policy.strategy if policy else None,
        threshold_metric=policy.metric if policy else None,
    )


def training_rows(
    encoder: TextEncoder,
    spec: ClassifierSpec,
    vocab_file: Path,
    labelled: list,
    unlabeled_a: list[str],
    unlabeled_b: list[str] | None,
) -> CachedSplit:
    """Labelled rows (weight 1) then unlabelled ones (weight 0, a filler label), encoded into
    the example cache like train.sh's training split."""
    filler_label = spec.labels[0]

    def rows() -> Iterator[DistillExample]:
        for e in labelled:
            labels = getattr(e, "labels", None)
            yield DistillExample(e.text_a, e.text_b, getattr(e, "label", None), labels, 1.0, e.guid)
        for i, text in enumerate(unlabeled_a):
            text_b = unlabeled_b[i] if unlabeled_b is not None else None
            yield DistillExample(text, text_b, filler_label, (), 0.0, f"unlabeled-{i}")

    fingerprint = examples_sha256(rows())
    split = open_or_build(
        default_cache_dir(),
        cache_key(fingerprint, file_sha256(vocab_file), spec),
        rows,
        encoder,
        spec,
    )
    split.sample_weights = (
        split.row_weights if split.row_weights is not None else np.ones(len(split), np.float32)
    )
    split.fingerprint = fingerprint
    return split


def _run_config(options, teacher, train, unlabeled_a, dev, rows_fingerprint) -> dict[str, Any]:
    """What decides the student: a resumed distillation must match it (run.json)."""
    return {
        "teacher_weights_sha256": file_sha256(teacher.folder / WEIGHTS_FILE),
        "student_layers": teacher.layers,
        "distill": asdict(options.distill),
        "training": options.training.result_settings(),
        "train_data_sha256": examples_sha256(train or []),
        "unlabeled_rows": len(unlabeled_a),
        "rows_sha256": rows_fingerprint,
        "dev_data_sha256": examples_sha256(dev or []),
    }


def _distiller(student: keras.Model, teacher: Teacher, config: DistillConfig) -> Distiller:
    return Distiller(
        student,
        teacher.model,
        teacher.spec.head,
        temperature=config.temperature,
        kd_loss_weight=config.kd_loss_weight,
        hard_label_weight=config.hard_label_weight,
        hidden_loss_weight=config.hidden_loss_weight,
        teacher_layers=teacher.layers,
    )


def _optimizer(training: TrainingConfig, schedule: Schedule) -> keras.optimizers.Optimizer:
    return create_optimizer(
        training.learning_rate,
        schedule.total_steps,
        training.warmup_proportion,
        training.weight_decay,
        training.clip_norm,
        epsilon=training.adam_epsilon,
    )


def _labelled_rows(rows: CachedSplit) -> int:
    return int(rows.sample_weights.sum())


def _log_plan(rows, schedule, options, teacher, student) -> None:
    config, training = options.distill, options.training
    logger.info(
        "student: %d of the teacher's %d layers (%s), %d parameters against %d",
        len(teacher.layers),
        teacher.num_layers,
        ", ".join(map(str, teacher.layers)),
        workflow.count_params(student.weights),
        workflow.count_params(teacher.model.weights),
    )
    logger.info(
        "distilling on %d rows (%d labelled, %d unlabelled), batch %d, %d steps (%d epochs); "
        "temperature %s, weights kd %s / hard %s / hidden %s",
        len(rows),
        _labelled_rows(rows),
        len(rows) - _labelled_rows(rows),
        training.train_batch_size,
        schedule.total_steps,
        schedule.epochs,
        config.temperature,
        config.kd_loss_weight,
        config.hard_label_weight,
        config.hidden_loss_weight,
    )


def _dev_report(model, spec, dev_data, training) -> dict[str, Any] | None:
    """The model's dev figures, decisions cross-fitted on dev as the student's are judged."""
    if dev_data is None:
        return None
    logits = predict_logits(model, dev_data, training.eval_batch_size)
    return spec.head.dev_report(logits, dev_data.document_labels, spec.threshold_policy)


def _summary(
    teacher, student, rows, schedule, outcome, metric, teacher_dev, options
) -> dict[str, Any]:
    evaluator = outcome.evaluator
    return {
        "teacher_dir": str(teacher.folder.resolve()),
        "teacher_layers": teacher.layers,
        "student_num_layers": len(teacher.layers),
        "teacher_num_layers": teacher.num_layers,
        "student_params": workflow.count_params(student.weights),
        "teacher_params": workflow.count_params(teacher.model.weights),
        "labelled_rows": _labelled_rows(rows),
        "unlabelled_rows": len(rows) - _labelled_rows(rows),
        "total_steps": schedule.total_steps,
        "steps_done": outcome.steps_done,
        "resumed_from_step": outcome.resumed_from_step,
        "resumes": outcome.resumes,
        "selection_metric": metric,
        "best_epoch": evaluator.best_epoch if evaluator else None,
        "dev_history": evaluator.history if evaluator else [],
        "loss_history": outcome.train_history,
        "teacher_dev": _scalars(teacher_dev),
        "distill_config": asdict(options.distill),
        "training_config": options.training.to_dict(),
        "seconds": None,
    }


def _student_dev(student, spec, encoder, dev, out, training, metric, teacher_dev) -> dict:
    """Writes the student's dev reports; its figures and its ratio to the teacher's."""
    student_dev = workflow.evaluate(
        student, spec, encoder, dev, out, training.eval_batch_size, prefix="eval", fitted_here=True
    )
    found: dict[str, Any] = {"student_dev": _scalars(student_dev)}
    if metric in student_dev and teacher_dev and teacher_dev.get(metric):
        found[f"student_over_teacher_{metric}"] = round(
            float(student_dev[metric]) / float(teacher_dev[metric]), 4
        )
        logger.info(
            "dev %s: student %.4f, teacher %.4f (%.1f%%)",
            metric,
            student_dev[metric],
            teacher_dev[metric],
            100 * student_dev[metric] / teacher_dev[metric],
        )
    return found


def _scalars(results: dict[str, Any] | None) -> dict[str, float]:
    if not results:
        return {}
    return {k: float(v) for k, v in results.items() if isinstance(v, int | float)}
