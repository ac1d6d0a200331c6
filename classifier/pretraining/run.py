"""One run of pretrain.sh: masked-LM pretraining of a BERT or ALBERT backbone, resumable.

From a downloaded checkpoint (continued pretraining: its MLM head is loaded when present) or
from scratch (a config and a vocab). Every ``save_checkpoints_steps`` steps the whole state
(model, head, optimizer and its step) is checkpointed with tf.train.CheckpointManager, the
held-out MLM loss and accuracy are measured and pretrain_summary.json is rewritten; a run
killed at any point resumes from its last checkpoint when the same command is run again, and
the data stream continues exactly where that checkpoint left it. At the end the folder is a
model folder (Google TF1 or Hugging Face format) that train.sh and pretrain.sh take as
``--model_dir``.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from classifier.adapter_config.saved_knowledge import KNOWLEDGE_DIR
from classifier.adapters import KAdapterConfig, apply_adapters, save_knowledge_adapter
from classifier.backbones import build_backbone, family_of
from classifier.checkpoints.loader import load_pretrained, open_checkpoint, read_model_config
from classifier.checkpoints.model_files import ModelFilesError
from classifier.checkpoints.writer import save_pretrained_folder
from classifier.config import ConfigError, ModelConfig
from classifier.distribution import distribute_global_batches, make_strategy, worker_folder
from classifier.files import file_sha256, read_json, write_json
from classifier.pretraining.data import (
    DataSettings,
    eval_batches,
    prepare_data,
    training_batches,
)
from classifier.pretraining.head_weights import head_tensors, load_head
from classifier.pretraining.masking import MaskingConfig, random_replacement_ids
from classifier.pretraining.mlm_head import head_for
from classifier.pretraining.mlm_model import MaskedLMModel, TokenPredictionModel, TokenTaggingModel
from classifier.pretraining.options import PretrainOptions
from classifier.pretraining.tagging_data import (
    prepare_tagging_data,
    tagging_batches,
    tagging_eval_batches,
)
from classifier.pretraining.words import WordPieceWords
from classifier.run_folder import RESUME, mark_finished, open_run_folder
from classifier.text.tokenizer import FullTokenizer
from classifier.text.vocab import load_vocab
from classifier.training.checkpointing import CHECKPOINT_DIR, TrainingCheckpoint
from classifier.training.loop import train_steps
from classifier.training.optimizer import create_optimizer
from classifier.training.tensorboard_log import TensorBoardLog

logger = logging.getLogger(__name__)

SUMMARY_FILE = "pretrain_summary.json"
# Everything a pretraining run writes (what --overwrite removes). The prepared data stays: its
# manifest says what it was made from, and a run on other inputs or settings rebuilds it.
ARTIFACTS = (
    CHECKPOINT_DIR,
    "logs",
    SUMMARY_FILE,
    "bert_config.json",
    "albert_config.json",
    "config.json",
    "vocab.txt",
    "model.safetensors",
    "bert_model.ckpt.index",
    "bert_model.ckpt.data-00000-of-00001",
    "albert_model.ckpt.index",
    "albert_model.ckpt.data-00000-of-00001",
    "checkpoint",
    KNOWLEDGE_DIR,
)


@dataclass
class Starting:
    """The backbone and vocab a run starts from."""

    backbone: keras.Model
    config: ModelConfig
    vocab_file: Path
    source: dict[str, Any]
    tensors: Any = None  # the checkpoint's tensors (for its MLM head), None from scratch
    scheme: str | None = None


BERT_LEARNING_RATE = 1e-4  # google-research/bert's pretraining rate
FROM_SCRATCH_LEARNING_RATES = ((128, 1e-3), (256, 5e-4))  # (hidden size up to, peak rate)


def default_learning_rate(options: PretrainOptions, config: ModelConfig) -> float:
    """--learning_rate when not given: 1e-4 for a checkpoint or a knowledge adapter (BERT's
    rate); from scratch, small models need a higher one to leave the unigram plateau within
    a CPU budget: 1e-3 up to hidden 128 (measured here, benchmarks/RESULTS.md), 5e-4 up to
    256 (ELECTRA-Small's), 1e-4 above."""
    if options.model_dir or options.init_checkpoint or options.knowledge_task:
        return BERT_LEARNING_RATE
    for hidden, rate in FROM_SCRATCH_LEARNING_RATES:
        if config.hidden_size <= hidden:
            return rate
    return BERT_LEARNING_RATE


def _policy(bf16: bool) -> str | None:
    return "mixed_bfloat16" if bf16 else None


def load_start(options: PretrainOptions) -> Starting:
    """A downloaded checkpoint (--model_dir / --init_checkpoint) or a fresh model from
    --bert_config_file and --vocab_file."""
    if options.model_dir or options.init_checkpoint:
        pretrained = load_pretrained(
            options.model_dir,
            config_file=options.config_file,
            vocab_file=options.vocab_file,
            init_checkpoint=options.init_checkpoint,
            allow_pickle=options.allow_pytorch_pickle,
            allow_vocab_mismatch=options.allow_vocab_mismatch,
            dtype=_policy(options.bf16),
        )
        tensors, _ = open_checkpoint(pretrained.files, options.allow_pytorch_pickle)
        return Starting(
            pretrained.backbone,
            pretrained.config,
            pretrained.files.vocab_file,
            {"checkpoint": str(pretrained.files.checkpoint), "scheme": pretrained.scheme.name},
            tensors,
            pretrained.scheme.name,
        )
    if not options.config_file or not options.vocab_file:
        raise ModelFilesError(
            "give --model_dir (a checkpoint to continue pretraining) or, to start from scratch, "
            "--bert_config_file and --vocab_file"
        )
    config = read_model_config(options.config_file)
    vocab = load_vocab(options.vocab_file)
    if len(vocab) != config.vocab_size:
        raise ConfigError(
            f"--vocab_file {options.vocab_file} holds {len(vocab)} tokens but "
            f"{options.config_file} says vocab_size {config.vocab_size}"
        )
    backbone = build_backbone(config, dtype=_policy(options.bf16))
    return Starting(backbone, config, Path(options.vocab_file), {"from_scratch": True})


def output_scheme(config: ModelConfig, output_format: str) -> str:
    return family_of(config).output_scheme(config, output_format)


def write_model_folder(
    out: Path, model: MaskedLMModel, config: ModelConfig, vocab_file: Path, output_format: str
) -> Path:
    """The backbone and its MLM head as a release folder in ``out`` (see writer)."""
    scheme = output_scheme(config, output_format)
    prefix = "" if output_format == "tf1" else f"{config.family}."
    extra = head_tensors(model.head, scheme)
    save_pretrained_folder(
        out,
        model.backbone,
        config,
        vocab_file,
        scheme,
        extra_tensors=extra,
        hf_prefix=prefix,
        layout=_layout(config, output_format),
    )
    if output_format == "hf":  # transformers' class for a backbone with its MLM head
        path = out / "config.json"
        data = read_json(path)
        data["architectures"] = [family_of(config).hf_architectures["masked_lm"]]
        write_json(path, data)
    return out


def _layout(config: ModelConfig, output_format: str):
    from classifier.checkpoints.writer import FolderLayout

    if output_format == "hf":
        return FolderLayout("config.json", "model.safetensors")
    return FolderLayout(*family_of(config).tf1_files)


class PretrainProgress(keras.callbacks.Callback):
    """Logs step, loss, accuracy, learning rate and tokens/s every ``every`` steps; every
    ``save_every`` steps evaluates on the held-out text, checkpoints, rewrites the summary."""

    def __init__(self, run: PretrainRun, every: int):
        super().__init__()
        self.run = run
        self.every = every
        self._since = time.perf_counter()
        self._tokens_at = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.run.step += 1
        step = self.run.step
        if step % self.every and step != self.run.options.num_train_steps:
            return
        logs = logs or {}
        tokens = float(logs.get("tokens", 0.0))
        seconds = time.perf_counter() - self._since
        rate = (tokens - self._tokens_at) / seconds if seconds > 0 else 0.0
        if tokens < self._tokens_at:  # the counter restarted with a new chunk
            rate = tokens / seconds if seconds > 0 else 0.0
        self._since, self._tokens_at = time.perf_counter(), tokens
        learning_rate = float(self.model.optimizer.learning_rate.numpy())
        logger.info(
            "step %d/%d: %s loss %.4f, accuracy %.4f, lr %.3g, %.0f tokens/s",
            step,
            self.run.options.num_train_steps,
            self.run.task_name,
            float(logs.get("loss", math.nan)),
            float(logs.get("accuracy", math.nan)),
            learning_rate,
            rate,
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._tokens_at = 0.0
        self._since = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.run.checkpoint(logs or {})


@dataclass
class PretrainRun:
    options: PretrainOptions
    out: Path
    model: TokenPredictionModel
    saver: TrainingCheckpoint  # the summary rides in its record, so it always matches
    eval_data: tf.data.Dataset | None
    summary: dict[str, Any] = field(default_factory=dict)
    step: int = 0  # batches trained over the whole run, resumes included

    @property
    def task_name(self) -> str:
        return self.options.knowledge_task or "mlm"

    def evaluate(self) -> dict[str, float]:
        if self.eval_data is None:
            return {}
        if self.model.distribute_strategy.num_replicas_in_sync > 1:
            # Keras's evaluate spreads the batches over the replicas and sums the metrics.
            figures = self.model.evaluate(self.eval_data, return_dict=True, verbose=0)
            return {"loss": float(figures["loss"]), "accuracy": float(figures["accuracy"])}
        for metric in self.model.metrics:
            metric.reset_state()
        for batch in self.eval_data:
            self.model.test_step(batch)
        figures = {
            "loss": float(self.model.loss_tracker.result()),
            "accuracy": float(self.model.accuracy_tracker.result()),
        }
        for metric in self.model.metrics:
            metric.reset_state()
        return figures

    def checkpoint(self, logs: dict[str, Any]) -> None:
        """Held-out figures, then the checkpoint, then the summary that points at it."""
        step = self.step
        self.summary["tokens_seen"] = int(self.summary.get("tokens_seen", 0)) + int(
            float(logs.get("tokens", 0.0))
        )
        figures = self.evaluate()
        entry = {
            "step": step,
            "train_loss": float(logs.get("loss", math.nan)),
            "train_accuracy": float(logs.get("accuracy", math.nan)),
            "tokens_seen": self.summary["tokens_seen"],
        }
        if figures:
            entry.update({"eval_loss": figures["loss"], "eval_accuracy": figures["accuracy"]})
            logger.info(
                "step %d: held-out %s loss %.4f, accuracy %.4f",
                step,
                self.task_name,
                figures["loss"],
                figures["accuracy"],
            )
        self.summary.setdefault("history", []).append(entry)
        self.summary["steps_done"] = step
        self.saver.values["summary"] = self.summary
        self.saver.save(step)
        write_json(self.out / SUMMARY_FILE, self.summary)


def _words(options: PretrainOptions, vocab_file: Path) -> WordPieceWords:
    tokenizer = FullTokenizer(vocab_file, do_lower_case=options.do_lower_case)
    return WordPieceWords(tokenizer, options.masking, options.jieba_user_dict)


@dataclass
class TaskParts:
    """What differs between the pretraining tasks; the loop around them is shared."""

    model: TokenPredictionModel
    train_data: Callable[[int, int], tf.data.Dataset]  # (sequences to skip, batch) -> batches
    eval_data: tf.data.Dataset | None
    finalize: Callable[[], dict[str, Any]]  # writes the task's output, returns its summary
    summary: dict[str, Any]


def _data_settings(options: PretrainOptions, inputs: list[Path], vocab_sha: str, masking: str):
    return DataSettings(
        input_files=tuple(str(p) for p in inputs),
        vocab_sha256=vocab_sha,
        do_lower_case=options.do_lower_case,
        max_seq_length=options.max_seq_length,
        masking=masking,
        jieba_user_dict=options.jieba_user_dict,
        eval_fraction=options.eval_fraction,
        max_eval_sequences=options.max_eval_sequences,
        document_format=options.document_format,
    )


def _data_summary(manifest) -> dict[str, Any]:
    return {
        "documents": manifest.documents,
        "train_sequences": manifest.train_sequences,
        "train_tokens": manifest.train_tokens,
        "eval_sequences": manifest.eval_sequences,
    }


def masked_lm_task(
    options: PretrainOptions, start: Starting, out: Path, inputs: list[Path], vocab_sha: str
) -> TaskParts:
    """Masked-LM pretraining of the whole backbone, or (knowledge_task mlm) of a knowledge
    adapter beside the frozen backbone, the MLM head reading backbone + adapter states."""
    words = _words(options, start.vocab_file)
    settings = _data_settings(options, inputs, vocab_sha, options.masking)
    manifest = prepare_data(out, settings, words)
    head = head_for(start.backbone, start.config)
    head.build()
    head_source = "initialised"
    if start.tensors is not None:
        if load_head(head, start.scheme, start.tensors, start.source["checkpoint"]):
            logger.info("loaded the masked-LM head from %s", start.source["checkpoint"])
            head_source = "checkpoint"
        else:
            logger.info(
                "%s has no masked-LM head: a new one is initialised", start.source["checkpoint"]
            )
    adapted = knowledge_backbone(options, start)
    if adapted is None:
        model = MaskedLMModel(start.backbone, head, name="masked_lm")
    else:
        # The knowledge adapter must carry the domain text: a head from the checkpoint stays
        # as it is; the adapter's states join the backbone's through a fuse layer that starts
        # as "backbone only", so training starts from the base model's own predictions.
        if head_source == "checkpoint":
            for variable in head.weights:
                variable.trainable = False
        fuse = identity_fuse(start.config.hidden_size, adapted.adapter.feature_size())
        model = MaskedLMModel(adapted, head, table_of=start.backbone, fuse=fuse, name="masked_lm")
    masking = MaskingConfig(
        mask_id=words.tokenizer.mask_id,
        random_ids=random_replacement_ids(load_vocab(start.vocab_file)),
        masked_lm_prob=options.masked_lm_prob,
        max_predictions=options.max_predictions_per_seq,
    )

    def finalize() -> dict[str, Any]:
        if adapted is None:
            write_model_folder(out, model, start.config, start.vocab_file, options.output_format)
            return {"output_format": options.output_format}
        return save_knowledge(options, start, adapted, out, {"name": "mlm"})

    return TaskParts(
        model=model,
        train_data=lambda skip, batch: training_batches(
            out, manifest, batch, masking, options.seed, skip_sequences=skip
        ),
        eval_data=eval_batches(out, options.eval_batch_size, masking)
        if manifest.eval_sequences
        else None,
        finalize=finalize,
        summary={"head": head_source, "data": _data_summary(manifest)},
    )


def tagging_task(
    options: PretrainOptions, start: Starting, out: Path, inputs: list[Path], vocab_sha: str
) -> TaskParts:
    """K-Adapter's linguistic knowledge: token tagging (part of speech and place in the word)
    from a word/tag corpus, with the knowledge adapter beside the frozen backbone."""
    tokenizer = FullTokenizer(start.vocab_file, do_lower_case=options.do_lower_case)
    settings = _data_settings(options, inputs, vocab_sha, "tagging")
    manifest = prepare_tagging_data(out, settings, tokenizer)
    adapted = knowledge_backbone(options, start)
    model = TokenTaggingModel(
        adapted, len(manifest.labels), adapted.adapter.feature_size(), name="tagger"
    )

    def finalize() -> dict[str, Any]:
        task = {"name": "tagging", "labels": manifest.labels}
        return save_knowledge(options, start, adapted, out, task)

    return TaskParts(
        model=model,
        train_data=lambda skip, batch: tagging_batches(
            out, manifest, batch, options.seed, skip_sequences=skip
        ),
        eval_data=tagging_eval_batches(out, options.eval_batch_size)
        if manifest.eval_sequences
        else None,
        finalize=finalize,
        summary={"labels": manifest.labels, "data": _data_summary(manifest)},
    )


def knowledge_backbone(options: PretrainOptions, start: Starting):
    """The frozen backbone with one knowledge adapter (None for plain pretraining)."""
    if options.knowledge_task is None:
        return None
    config = options.adapter_config or KAdapterConfig()
    return apply_adapters(start.backbone, config.replace(count=1))


def identity_fuse(hidden: int, width: int) -> keras.layers.Dense:
    """Dense width -> hidden whose initial output is the first ``hidden`` features (the
    backbone's), so the adapter's share starts at zero."""
    kernel = np.zeros((width, hidden), np.float32)
    kernel[:hidden] = np.eye(hidden, dtype=np.float32)
    fuse = keras.layers.Dense(
        hidden, kernel_initializer=keras.initializers.Constant(kernel), name="knowledge_fuse"
    )
    fuse.build((None, None, width))
    return fuse


def save_knowledge(options, start: Starting, adapted, out: Path, task: dict) -> dict[str, Any]:
    saved = save_knowledge_adapter(
        out / KNOWLEDGE_DIR,
        adapted.adapter,
        adapted.adapter_config,
        adapted.base_fingerprint,
        {**start.source, "config": start.config.to_dict()},
        {**task, "input_files": options.input_file},
    )
    logger.info(
        "saved the %s knowledge adapter to %s (%d parameters)",
        task["name"],
        out / KNOWLEDGE_DIR,
        saved["parameters"],
    )
    return {"knowledge_adapter": str(out / KNOWLEDGE_DIR), "parameters": saved["parameters"]}


def run_pretraining(options: PretrainOptions) -> dict[str, Any]:
    """Pretrains as ``options`` say; returns the summary (also in pretrain_summary.json).

    Under a distribution strategy --train_batch_size is per replica; only the chief writes
    --output_dir, another worker works in a scratch folder and resumes from the chief's
    checkpoints (classifier.distribution)."""
    strategy = make_strategy(options.distribution_strategy)
    with worker_folder(strategy, "pretrain") as scratch, strategy.scope():
        return _pretrain(options, strategy, scratch)


def _pretrain(
    options: PretrainOptions, strategy: tf.distribute.Strategy, scratch: Path | None
) -> dict[str, Any]:
    options, inputs, start, vocab_sha = _started(options)
    run_config = {
        **options.run_config(),
        "input_files": [str(p) for p in inputs],
        "vocab_sha256": vocab_sha,
    }
    shared = Path(options.output_dir)
    if scratch is None:
        created = not shared.exists()
        folder = open_run_folder(shared, run_config, options.overwrite, ARTIFACTS)
        out, resuming = folder.path, folder.mode == RESUME
    else:  # the chief decides; a worker follows the chief's latest checkpoint
        created, out, resuming = False, scratch, not options.overwrite
    build = tagging_task if options.knowledge_task == "tagging" else masked_lm_task
    try:
        task = build(options, start, out, inputs, vocab_sha)
    except Exception:
        if created:  # a bad corpus leaves no half-made run behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    compile_for_pretraining(task.model, options)
    saver = TrainingCheckpoint(task.model, out / CHECKPOINT_DIR, options.keep_checkpoints, None)
    summary = initial_summary(options, start, task)
    if resuming and saver.restore(shared / CHECKPOINT_DIR):
        summary = {**summary, **saver.values.get("summary", {})}
        summary["resumed_from_step"] = int(saver.values.get("batches_done", 0))
        summary["resumes"] = [*summary.get("resumes", []), summary["resumed_from_step"]]
        logger.info("resuming from step %d (%s)", summary["resumed_from_step"], saver.latest)
    step = int(saver.values.get("batches_done", 0))
    run = PretrainRun(options, out, task.model, saver, task.eval_data, summary, step)
    if step < options.num_train_steps:
        train(run, task, strategy, start.config)
    summary["final_eval"] = run.evaluate()
    summary["steps_done"] = run.step
    summary.update(task.finalize())
    write_json(out / SUMMARY_FILE, summary)
    if scratch is None:
        mark_finished(out)
    logger.info("pretraining finished: outputs in %s", out)
    return summary


def _started(options: PretrainOptions) -> tuple[PretrainOptions, list[Path], Starting, str]:
    """The inputs checked, the starting model, the learning rate decided, the vocab's hash."""
    from classifier.pretraining.corpus import expand_input_files

    inputs = expand_input_files(options.input_file)
    if options.jieba_user_dict and not Path(options.jieba_user_dict).is_file():
        raise FileNotFoundError(f"--jieba_user_dict {options.jieba_user_dict} does not exist")
    keras.utils.set_random_seed(options.seed)  # before any layer: dropout seeds follow --seed
    start = load_start(options)
    if options.learning_rate is None:
        options = replace(options, learning_rate=default_learning_rate(options, start.config))
        logger.info("learning rate %g (the default for this start and size)", options.learning_rate)
    keras.utils.set_random_seed(options.seed)
    return options, inputs, start, file_sha256(start.vocab_file)


def compile_for_pretraining(model: keras.Model, options: PretrainOptions) -> None:
    """AdamW with warm-up and linear decay over --num_train_steps; every variable built."""
    model.compile(
        optimizer=create_optimizer(
            options.learning_rate,
            options.num_train_steps,
            weight_decay=options.weight_decay,
            clip_norm=options.clip_norm,
            epsilon=options.adam_epsilon,
            warmup_steps=options.warmup_steps,
            gradient_accumulation_steps=options.gradient_accumulation_steps,
        ),
        jit_compile=False,
    )
    model.optimizer.build(model.trainable_weights)
    # Every layer is built; said so, Keras's fit under a strategy draws no batch to build the
    # model (which would reopen the shuffled stream at its second shuffle, not its first).
    model.built = True


def initial_summary(options: PretrainOptions, start: Starting, task: TaskParts) -> dict[str, Any]:
    """pretrain_summary.json of a run that has not trained yet."""
    return {
        "source": start.source,
        "task": options.knowledge_task or "mlm",
        "knowledge_adapter": options.knowledge_task is not None,
        "model": start.config.to_dict(),
        **task.summary,
        "trainable_parameters": int(sum(np.prod(v.shape) for v in task.model.trainable_weights)),
        "no_next_sentence_prediction": True,
        "history": [],
        "resumed_from_step": 0,
        "resumes": [],
    }


def train(
    run: PretrainRun, task: TaskParts, strategy: tf.distribute.Strategy, config: ModelConfig
) -> None:
    """The remaining steps through the one training loop, a checkpoint every Keras epoch."""
    options = run.options
    logger.info(
        "pretraining (%s) %s: %d steps of %d sequences (%d tokens at most), %d warm-up "
        "steps; %d trainable parameters",
        run.summary["task"],
        config.family,
        options.num_train_steps,
        options.train_batch_size,
        options.max_seq_length,
        options.warmup_steps,
        run.summary["trainable_parameters"],
    )
    started = time.time()
    train_steps(
        run.model,
        lambda skip: training_stream(task, strategy, skip, options.train_batch_size),
        run.step,
        options.num_train_steps,
        options.save_checkpoints_steps,  # each Keras epoch ends with a checkpoint
        [
            PretrainProgress(run, options.log_every_steps),
            TensorBoardLog(run.out / "logs", run.step, options.log_every_steps),
        ],
    )
    seconds = float(run.summary.get("seconds", 0.0)) + time.time() - started
    run.summary["seconds"] = round(seconds, 1)


def training_stream(task: TaskParts, strategy: tf.distribute.Strategy, step: int, batch: int):
    """The task's batches from ``step`` on: global batches of ``batch`` per replica, each
    replica fed its slice (the order of one device with the same global batch)."""
    count = strategy.num_replicas_in_sync
    return distribute_global_batches(strategy, task.train_data(step * batch * count, batch * count))
