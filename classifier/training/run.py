"""One run of train.sh: read every input first, then train, evaluate and predict.

The task is any object with google-research/bert's DataProcessor contract (get_labels,
get_train_examples, get_dev_examples, get_test_examples, is_pair, is_multilabel); this module
never imports the processors package. All data and the checkpoint are read and checked before
the output folder is touched, so a bad row or a wrong path costs nothing already written.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import keras
import tensorflow as tf

from classifier.adapters import AdapterConfig, apply_adapters
from classifier.checkpoints import load_pretrained
from classifier.classifier_spec import ClassifierSpec
from classifier.cpu_features import has_native_bf16
from classifier.distribution import make_strategy, replicas, worker_folder
from classifier.explain.mistakes import ExplainRows, never_failing
from classifier.explain.run_support import build_run_index, mistake_explainer, task_source
from classifier.explain.support_index import (
    AUTO_INDEX_MAX_ROWS,
    SupportIndex,
    SupportIndexError,
    index_command,
    load_support_index,
)
from classifier.files import file_sha256
from classifier.heads import head_kind_of, make_head
from classifier.run_folder import RESUME, mark_finished, open_run_folder, record_training_data
from classifier.text import TextEncoder
from classifier.text.long_text import LongTextPolicy
from classifier.trained_model import VOCAB_FILE, build_classifier, load_trained_model
from classifier.training import workflow
from classifier.training.checkpointing import CHECKPOINT_DIR
from classifier.training.example_cache import (
    CachedSplit,
    cache_key,
    default_cache_dir,
    examples_sha256,
    open_or_build,
)
from classifier.training.output_dir import RUN_ARTIFACTS
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


class Task(Protocol):
    is_pair: bool
    is_multilabel: bool

    def get_labels(self) -> list[str]: ...
    def get_train_examples(self) -> list: ...
    def get_dev_examples(self) -> list: ...
    def get_test_examples(self) -> list: ...


@dataclass(frozen=True)
class RunOptions:
    output_dir: str
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    overwrite: bool = False
    task_name: str = "tsv"
    model_dir: str | None = None
    config_file: str | None = None
    vocab_file: str | None = None
    init_checkpoint: str | None = None
    allow_pytorch_pickle: bool = False
    allow_vocab_mismatch: bool = False  # a vocab smaller than vocab_size is accepted
    do_lower_case: bool = True
    max_seq_length: int = 128
    predict_batch_size: int = 64
    # ClassifierSpec long-text fields given by flags (long_text, head_tokens, doc_stride,
    # window_pooling): the new model's settings, or overrides of a loaded one's.
    long_text: dict[str, Any] = field(default_factory=dict)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    adapter: AdapterConfig | None = None  # train adapters on the frozen backbone (None: full)
    distribution_strategy: str = "default"  # classifier.distribution.STRATEGIES
    cache_dir: str | None = None  # encoded training examples (default: example_cache's)
    # Error analysis says why its confident mistakes were made, and training ends by building
    # the support index (classifier.explain; up to support_index.AUTO_INDEX_MAX_ROWS rows).
    explain_errors: bool = True


@dataclass
class RunResult:
    spec: ClassifierSpec
    train_summary: dict[str, Any] | None = None
    eval_results: dict[str, Any] | None = None
    test_results: dict[str, Any] | None = None


def read_split(task: Task, split: str, required: bool) -> list | None:
    """The split's examples; None (with a warning) when its file is absent and not required."""
    try:
        return getattr(task, f"get_{split}_examples")()
    except FileNotFoundError:
        if required:
            raise
        logger.warning("no %s file: continuing without it", split)
        return None


def _log_skipped(task: Task) -> None:
    skipped = getattr(task, "skipped_rows", None) or []
    if skipped:
        shown = ", ".join(str(row) for row in skipped[:20])
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        logger.warning("skipped %d bad rows: %s%s", len(skipped), shown, more)


def run(options: RunOptions, task: Task) -> RunResult:
    head_kind = head_kind_of(task)
    if options.do_train:  # before anything is read or written
        blank = make_head(head_kind, ())
        blank.check_options(options.training.loss_options(), options.training.metric)
        blank.threshold_policy(options.training.threshold_strategy, options.training.metric)
        blank.check_label_bounds(options.training.label_bounds)
        policy = LongTextPolicy.from_dict(options.long_text)
        policy.check(options.max_seq_length, task.is_pair)
    dev = (
        read_split(task, "dev", options.do_eval) if (options.do_train or options.do_eval) else None
    )
    test = read_split(task, "test", True) if options.do_predict else None
    _log_skipped(task)

    if options.do_train:
        strategy = make_strategy(options.distribution_strategy)
        if options.training.adversarial and replicas(strategy) > 1:
            raise ValueError(
                "--adversarial=fgm runs on one replica; use --distribution_strategy=default"
            )
        # Only the chief writes the output folder; another worker writes into scratch.
        with worker_folder(strategy, "classifier") as scratch:
            with strategy.scope():
                trained = _train(options, task, head_kind, dev, test, scratch)
            explain = None
            if scratch is None and options.explain_errors:  # another worker's is thrown away
                index = _index_after_training(trained, task)
                explain = _mistake_explainer(options, trained, lambda: index)
            _evaluate_and_predict(options, trained, dev, test, explain)
            if scratch is None:
                mark_finished(trained.out)  # last: a run killed before here resumes
                # Checkpoints only serve a resume (for BERT-base several GB): drop them.
                shutil.rmtree(trained.out / CHECKPOINT_DIR, ignore_errors=True)
        return trained.outcome
    out = Path(options.output_dir)
    model, spec = load_trained_model(out)
    if spec.head_kind != head_kind or spec.is_pair != task.is_pair:
        raise ValueError(
            f"{out} holds a {spec.head_kind} {'pair ' if spec.is_pair else ''}model; task "
            f"{options.task_name!r} is {head_kind}{' pair' if task.is_pair else ''}"
        )
    for split, examples in (("dev", dev or []), ("test", test or [])):
        spec.head.check_labels(examples, split)
    if options.long_text:
        spec = replace(spec, **options.long_text)
        logger.info("long texts: %s", spec.long_text_policy.to_dict())
    trained = Trained(model, spec, out, spec.text_encoder(out / VOCAB_FILE), RunResult(spec))
    explain = _mistake_explainer(options, trained, lambda: _existing_index(out))
    _evaluate_and_predict(options, trained, dev, test, explain)
    return trained.outcome


@dataclass
class Trained:
    """A model ready to evaluate: trained here or loaded from --output_dir."""

    model: Any
    spec: ClassifierSpec
    out: Path
    encoder: TextEncoder
    outcome: RunResult


def _evaluate_and_predict(
    options: RunOptions,
    trained: Trained,
    dev: list | None,
    test: list | None,
    explain: ExplainRows | None = None,
) -> None:
    """--do_eval's dev reports and --do_predict's predictions (and test reports when
    test.tsv carries labels), into the run's folder and ``trained.outcome``; ``explain``
    makes the error analyses say why their confident mistakes were made."""
    model, spec, encoder, out = trained.model, trained.spec, trained.encoder, trained.out
    outcome = trained.outcome
    if options.do_eval:
        outcome.eval_results = workflow.evaluate(
            model,
            spec,
            encoder,
            dev,
            out,
            options.training.eval_batch_size,
            prefix="eval",
            fitted_here=True,
            explain=explain,
        )
        _log_results("dev", outcome.eval_results)
    if options.do_predict:
        workflow.predict(
            model, spec, encoder, test, out / "test_predictions.tsv", options.predict_batch_size
        )
        logger.info("wrote %s", out / "test_predictions.tsv")
        if spec.head.has_labels(test):
            outcome.test_results = workflow.evaluate(
                model,
                spec,
                encoder,
                test,
                out,
                options.predict_batch_size,
                prefix="test",
                explain=explain,
            )
            _log_results("test", outcome.test_results)


def _index_after_training(trained: Trained, task: Task) -> SupportIndex | None:
    """The support index of the training rows, built once at the end of training (one forward
    pass over them) unless there are more than AUTO_INDEX_MAX_ROWS; a failure costs only the
    index, never the trained model."""
    rows = int((trained.outcome.train_summary or {}).get("train_examples") or 0)
    if rows > AUTO_INDEX_MAX_ROWS:
        logger.info(
            "no support index built: %d training rows (over %d); build it with %s",
            rows,
            AUTO_INDEX_MAX_ROWS,
            index_command(trained.out),
        )
        return None
    try:
        return build_run_index(trained.out, trained.model, trained.spec, trained.encoder, task)
    except Exception as err:  # noqa: BLE001 (the model is saved: report and go on)
        logger.warning(
            "support index not built (%s); build it with %s", err, index_command(trained.out)
        )
        return None


def _existing_index(out: Path) -> SupportIndex | None:
    """The run folder's support index when it is there and up to date (evaluation alone)."""
    try:
        return load_support_index(out)
    except SupportIndexError as err:
        logger.info("error analysis without supporting rows: %s", err)
        return None


def _mistake_explainer(
    options: RunOptions, trained: Trained, index: Callable[[], SupportIndex | None]
) -> ExplainRows | None:
    """Error analysis's explain function (--explain_errors) over the support index ``index()``
    gives, when there is an analysis to write."""
    if not options.explain_errors or not (options.do_eval or options.do_predict):
        return None
    explain = mistake_explainer(
        trained.model, trained.spec, trained.encoder, index(), options.predict_batch_size
    )
    return never_failing(explain, logger)


def _train(
    options: RunOptions,
    task: Task,
    head_kind: str,
    dev: list | None,
    test: list | None,
    scratch: Path | None,
) -> Trained:
    """Loads the checkpoint, builds and trains the model (inside the strategy's scope). A
    non-chief worker (``scratch`` set) writes into scratch and resumes from the chief's
    checkpoints."""
    pretrained, backbone, base_model = loaded_backbone(options)
    spec = classifier_spec(options, task, head_kind, pretrained.config, backbone, base_model)
    for split, examples in (("dev", dev or []), ("test", test or [])):
        spec.head.check_labels(examples, split)
    encoder = spec.text_encoder(pretrained.files.vocab_file)
    train = encoded_training_split(task, spec, encoder, pretrained.files.vocab_file, options)
    shared = Path(options.output_dir) / CHECKPOINT_DIR
    if scratch is None:
        config = run_config(spec, options, pretrained.files.vocab_file, train.fingerprint, dev)
        folder = open_run_folder(options.output_dir, config, options.overwrite, RUN_ARTIFACTS)
        out, resume = folder.path, folder.mode == RESUME
        record_training_data(out, task_source(task))  # explain.sh --index reads it again
    else:  # the chief decides; a worker follows the chief's latest checkpoint
        out = scratch
        resume = not options.overwrite and tf.train.latest_checkpoint(str(shared)) is not None
    model = build_classifier(spec, backbone)
    result = workflow.train(
        model,
        spec,
        options.training,
        encoder,
        train,
        dev,
        out,
        pretrained.files.vocab_file,
        backbone_params=workflow.count_params(pretrained.backbone.weights),
        resume=resume,
        restore_from=shared,
    )
    model, spec = result.model, result.spec
    if options.training.bf16:
        # Report what was saved: the float32 model a later run or export reloads.
        model, spec = load_trained_model(out)
    return Trained(model, spec, out, encoder, RunResult(spec, train_summary=result.summary))


def loaded_backbone(options: RunOptions):
    """(the pretrained checkpoint, the backbone to train: with --adapter its adapted copy,
    what train_summary.json says of the base model)."""
    # Before any layer exists: new weights (head, adapters) and dropout seeds follow --seed,
    # so a run is reproducible and a resumed one continues the same random streams.
    keras.utils.set_random_seed(options.training.seed)
    pretrained = load_pretrained(
        options.model_dir,
        config_file=options.config_file,
        vocab_file=options.vocab_file,
        init_checkpoint=options.init_checkpoint,
        allow_pickle=options.allow_pytorch_pickle,
        allow_vocab_mismatch=options.allow_vocab_mismatch,
        dtype=mixed_precision_policy(options.training.bf16),
    )
    backbone = pretrained.backbone
    base_model = {
        "checkpoint": str(pretrained.files.checkpoint),
        "scheme": pretrained.scheme.name,
    }
    if options.adapter is not None:
        backbone = apply_adapters(pretrained.backbone, options.adapter)
        base_model["fingerprint"] = backbone.base_fingerprint
        logger.info(
            "%s adapters: %d adapter parameters (%d trainable), %d backbone parameters "
            "trained with them; base %s",
            backbone.adapter_config.kind,
            workflow.count_params(backbone.adapter_weights()),
            workflow.count_params(v for v in backbone.adapter_weights() if v.trainable),
            workflow.count_params(backbone.adapter.backbone_trainable()),
            backbone.base_fingerprint,
        )
    return pretrained, backbone, base_model


def classifier_spec(
    options: RunOptions, task: Task, head_kind: str, config, backbone, base_model: dict
) -> ClassifierSpec:
    """Everything that defines the trained classifier besides its weights."""
    policy = make_head(head_kind, ()).threshold_policy(
        options.training.threshold_strategy, options.training.metric
    )
    bounds = options.training.label_bounds
    return ClassifierSpec(
        model=config,
        labels=tuple(task.get_labels()),
        head_kind=head_kind,
        is_pair=task.is_pair,
        max_seq_length=options.max_seq_length,
        do_lower_case=options.do_lower_case,
        head_dropout=options.training.head_dropout,
        task_name=options.task_name,
        adapter=backbone.adapter_config.to_dict() if options.adapter is not None else None,
        base_model=base_model,
        threshold_strategy=policy.strategy if policy else None,
        threshold_metric=policy.metric if policy else None,
        label_bounds=bounds.to_dict() if bounds.is_set else None,
        **options.long_text,
    )


def run_config(
    spec: ClassifierSpec,
    options: RunOptions,
    vocab_file: str | Path,
    train_fingerprint: str,
    dev: list | None,
) -> dict[str, Any]:
    """What decides a training run's result: a resumed run must match it (run.json)."""
    return {
        "spec": spec.to_dict(),
        "training": options.training.result_settings(),
        "vocab_sha256": file_sha256(vocab_file),
        "train_data_sha256": train_fingerprint,
        "dev_data_sha256": examples_sha256(dev or []),
    }


def encoded_training_split(
    task: Task,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    vocab_file: str | Path,
    options: RunOptions,
) -> CachedSplit:
    """The training split encoded on disk (example_cache), built on the first run over this
    data and these settings. A processor that can stream its file (iter_train_examples,
    train_fingerprint: the built-in ones) is never held in memory; another is read whole."""
    fingerprint = getattr(task, "train_fingerprint", lambda: None)()
    if fingerprint is not None:
        stream = task.iter_train_examples
    else:
        examples = task.get_train_examples()
        fingerprint, stream = examples_sha256(examples), lambda: examples
    split = open_or_build(
        options.cache_dir or default_cache_dir(),
        cache_key(fingerprint, file_sha256(vocab_file), spec),
        stream,
        encoder,
        spec,
        skipped=lambda: [
            str(row)
            for row in getattr(task, "skipped_rows", None) or []
            if Path(getattr(row, "path", "")).name == getattr(task, "train_file", "train.tsv")
        ],
    )
    if split.skipped:
        more = f" and {len(split.skipped) - 20} more" if len(split.skipped) > 20 else ""
        logger.warning(
            "skipped %d bad training rows: %s%s",
            len(split.skipped),
            ", ".join(split.skipped[:20]),
            more,
        )
    split.fingerprint = fingerprint
    return split


def mixed_precision_policy(bf16: bool) -> str | None:
    """The backbone's dtype policy: None (float32) or "mixed_bfloat16"."""
    if not bf16:
        return None
    if not has_native_bf16():
        logger.warning(
            "--bf16 on a CPU without AMX or AVX512-BF16: bfloat16 is emulated there and "
            "usually slower than float32"
        )
    return "mixed_bfloat16"


def _log_results(split: str, results: dict[str, Any]) -> None:
    figures = ", ".join(
        f"{k}={v:.4f}" for k, v in results.items() if isinstance(v, float) and k != "loss"
    )
    logger.info(
        "%s: %s, loss=%.4f (%d examples)", split, figures, results["loss"], results["num_examples"]
    )
    for level, by_level in (results.get("levels") or {}).items():  # a hierarchical head's
        logger.info(
            "%s level %s: accuracy=%.4f, micro_f1=%.4f, macro_f1=%.4f (%d labels)",
            split,
            level,
            by_level["accuracy"],
            by_level["micro_f1"],
            by_level["macro_f1"],
            by_level["num_labels"],
        )
