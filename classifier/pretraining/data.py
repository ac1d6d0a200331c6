"""Pretraining data: text files -> tokenized sequences in TFRecord shards -> masked batches.

Preparation streams the corpus once (jieba and WordPiece are the slow part) and writes packed
sequences with their word indices into shards under ``<output_dir>/data``; a held-out share of
the documents (chosen by a hash of their text, so the split does not depend on file order) goes
to its own file. ``manifest.json``, written last, records what the shards were made from: a run
on the same inputs and settings reuses them, anything else rebuilds them. Training then reads
the shards through tf.data and masks each sequence anew every time it is drawn (masking.py).
Memory stays flat in the corpus size: only one document and the shuffle buffer are held.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tensorflow as tf

from classifier.files import atomic_write_text
from classifier.pretraining.corpus import iter_corpus
from classifier.pretraining.masking import MaskingConfig, mask_sequence
from classifier.pretraining.sequences import pack_document
from classifier.pretraining.words import WordPieceWords

logger = logging.getLogger(__name__)

DATA_DIR = "data"
MANIFEST = "manifest.json"
EVAL_FILE = "eval.tfrecord"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DataSettings:
    """Everything the shards depend on (masking is not: it is drawn at training time)."""

    input_files: tuple[str, ...]
    vocab_sha256: str
    do_lower_case: bool
    max_seq_length: int
    masking: str  # whole_word | token: decides the word indices stored
    jieba_user_dict: str | None = None
    eval_fraction: float = 0.02
    max_eval_sequences: int = 2000
    document_format: str = "auto"
    sequences_per_shard: int = 20000

    def fingerprint(self) -> dict[str, Any]:
        """The settings plus each input's size and modification time."""
        files = []
        for name in (*self.input_files, *([self.jieba_user_dict] if self.jieba_user_dict else [])):
            stat = Path(name).stat()
            files.append([str(Path(name).resolve()), stat.st_size, stat.st_mtime_ns])
        return {"format_version": FORMAT_VERSION, "settings": asdict(self), "files": files}


@dataclass
class DataManifest:
    fingerprint: dict[str, Any]
    train_shards: list[str]
    train_sequences: int = 0
    train_tokens: int = 0
    eval_sequences: int = 0
    eval_tokens: int = 0
    documents: int = 0
    seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)  # tagging: the tag of each label id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _example(**lists: list[int]) -> bytes:
    feature = {
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        for name, values in lists.items()
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class ShardWriter:
    """Training records into numbered shards of ``per_shard`` records, held-out ones into
    eval.tfrecord; counts what it wrote into ``manifest``."""

    def __init__(self, folder: Path, manifest: DataManifest, per_shard: int):
        self.folder, self.manifest, self.per_shard = folder, manifest, per_shard
        for stale in [*folder.glob("*.tfrecord"), folder / MANIFEST]:
            stale.unlink(missing_ok=True)
        self._eval = tf.io.TFRecordWriter(str(folder / EVAL_FILE))
        self._train: tf.io.TFRecordWriter | None = None
        self._in_shard = 0

    def write(self, record: bytes, tokens: int, held_out: bool) -> None:
        manifest = self.manifest
        if held_out:
            self._eval.write(record)
            manifest.eval_sequences += 1
            manifest.eval_tokens += tokens
            return
        if self._train is None or self._in_shard >= self.per_shard:
            if self._train is not None:
                self._train.close()
            name = f"train-{len(manifest.train_shards):05d}.tfrecord"
            manifest.train_shards.append(name)
            self._train = tf.io.TFRecordWriter(str(self.folder / name))
            self._in_shard = 0
        self._train.write(record)
        self._in_shard += 1
        manifest.train_sequences += 1
        manifest.train_tokens += tokens

    def close(self) -> None:
        self._eval.close()
        if self._train is not None:
            self._train.close()


def finish_manifest(folder: Path, manifest: DataManifest, started: float, inputs) -> DataManifest:
    """Refuses a corpus that gave no training text; otherwise writes the manifest (last)."""
    if manifest.train_sequences == 0:
        raise ValueError(
            f"--input_file: no training text in {', '.join(map(str, inputs))} "
            f"({manifest.documents} documents, {manifest.eval_sequences} sequences held out)"
        )
    manifest.seconds = round(time.time() - started, 1)
    atomic_write_text(folder / MANIFEST, json.dumps(manifest.to_dict(), indent=2) + "\n")
    logger.info(
        "prepared %d documents into %d training sequences (%d tokens) and %d held-out "
        "sequences in %.0f s",
        manifest.documents,
        manifest.train_sequences,
        manifest.train_tokens,
        manifest.eval_sequences,
        manifest.seconds,
    )
    return manifest


def reusable_manifest(output_dir: Path, fingerprint: dict[str, Any]) -> DataManifest | None:
    existing = load_manifest(output_dir)
    if existing is not None and existing.fingerprint == fingerprint:
        logger.info(
            "reusing the prepared data in %s (%d training sequences)",
            output_dir / DATA_DIR,
            existing.train_sequences,
        )
        return existing
    return None


def is_held_out(document: list[str], eval_fraction: float) -> bool:
    """Deterministic by the document's text: the same document is always on the same side."""
    digest = zlib.crc32("\n".join(document).encode("utf-8"))
    return digest % 100000 < eval_fraction * 100000


def load_manifest(output_dir: Path) -> DataManifest | None:
    path = output_dir / DATA_DIR / MANIFEST
    if not path.is_file():
        return None
    try:
        return DataManifest(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError):
        return None


def prepare_data(
    output_dir: Path, settings: DataSettings, words: WordPieceWords, log_every: int = 5000
) -> DataManifest:
    """The shards for ``settings`` under output_dir/data, reused when already made from them."""
    fingerprint = settings.fingerprint()
    existing = reusable_manifest(output_dir, fingerprint)
    if existing is not None:
        return existing
    folder = output_dir / DATA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = words.tokenizer
    started = time.time()
    manifest = DataManifest(fingerprint, [])
    stats = {"sentences": 0, "unknown_tokens": 0, "words": 0}
    writer = ShardWriter(folder, manifest, settings.sequences_per_shard)
    unk = tokenizer.unk_id
    try:
        for document in iter_corpus(
            [Path(p) for p in settings.input_files], settings.document_format
        ):
            manifest.documents += 1
            held_out = manifest.eval_sequences < settings.max_eval_sequences and is_held_out(
                document, settings.eval_fraction
            )
            encoded = []
            for sentence in document:
                ids, word_ids = words.encode(sentence)
                stats["sentences"] += 1
                stats["unknown_tokens"] += sum(1 for i in ids if i == unk)
                stats["words"] += len(set(word_ids))
                encoded.append((ids, word_ids))
            for sequence in pack_document(
                encoded, settings.max_seq_length, tokenizer.cls_id, tokenizer.sep_id
            ):
                record = _example(token_ids=sequence.token_ids, word_ids=sequence.word_ids)
                writer.write(record, len(sequence.token_ids), held_out)
            if manifest.documents % log_every == 0:
                logger.info(
                    "prepared %d documents: %d training sequences, %d held out (%.0f s)",
                    manifest.documents,
                    manifest.train_sequences,
                    manifest.eval_sequences,
                    time.time() - started,
                )
    finally:
        writer.close()
    manifest.stats = stats
    return finish_manifest(folder, manifest, started, settings.input_files)


_FEATURES = {
    "token_ids": tf.io.RaggedFeature(tf.int64),
    "word_ids": tf.io.RaggedFeature(tf.int64),
}


def _parse(record: tf.Tensor) -> dict[str, tf.Tensor]:
    parsed = tf.io.parse_single_example(record, _FEATURES)
    return {k: tf.cast(v, tf.int32) for k, v in parsed.items()}


def _masked(index, example, seed: int, config: MaskingConfig):
    masked = mask_sequence(
        example["token_ids"],
        example["word_ids"],
        tf.stack([tf.constant(seed, tf.int64), index]),
        config,
    )
    length = tf.shape(masked["input_ids"])[0]
    features = {
        "token_ids": masked["input_ids"],
        "segment_ids": tf.zeros([length], tf.int32),
        "padding_mask": tf.ones([length], tf.int32),
        "masked_positions": masked["masked_positions"],
    }
    return features, masked["masked_ids"], masked["masked_weights"]


def _batched(dataset: tf.data.Dataset, batch_size: int, drop_remainder: bool) -> tf.data.Dataset:
    return dataset.padded_batch(
        batch_size,
        padded_shapes=(
            {
                "token_ids": [None],
                "segment_ids": [None],
                "padding_mask": [None],
                "masked_positions": [None],
            },
            [None],
            [None],
        ),
        drop_remainder=drop_remainder,
    )


def training_batches(
    output_dir: Path,
    manifest: DataManifest,
    batch_size: int,
    config: MaskingConfig,
    seed: int,
    skip_sequences: int = 0,
    shuffle_buffer: int = 10000,
) -> tf.data.Dataset:
    """Endless masked batches; ``skip_sequences`` resumes the exact stream of an earlier run."""
    files = [str(output_dir / DATA_DIR / name) for name in manifest.train_shards]
    dataset = tf.data.TFRecordDataset(files).map(_parse)
    dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = dataset.enumerate().skip(skip_sequences)
    dataset = dataset.map(
        lambda i, ex: _masked(i, ex, seed, config),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return _batched(dataset, batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def eval_batches(
    output_dir: Path, batch_size: int, config: MaskingConfig, seed: int = 12345
) -> tf.data.Dataset:
    """The held-out sequences, masked the same way at every evaluation."""
    dataset = tf.data.TFRecordDataset([str(output_dir / DATA_DIR / EVAL_FILE)]).map(_parse)
    dataset = dataset.enumerate().map(lambda i, ex: _masked(i, ex, seed, config))
    return _batched(dataset, batch_size, drop_remainder=False).prefetch(tf.data.AUTOTUNE)


def iter_sequences(path: Path) -> Iterator[dict[str, list[int]]]:
    """The stored sequences of one shard, as Python lists (tests and inspection)."""
    for record in tf.data.TFRecordDataset([str(path)]).map(_parse):
        yield {k: v.numpy().tolist() for k, v in record.items()}
