"""Training examples encoded once into sharded TFRecord files, and streamed back by tf.data.

The training split is read one example at a time (the processor streams its file), encoded in
chunks and written as shards of ``token_ids`` and ``segment_ids`` (and the row number), so the
token ids of the whole set are never in memory. The labels, one int (multiclass) or one
multi-hot row (multilabel) per row, are kept as a small array beside the shards: the head's
priors, class weights and positive weights are computed from them. Examples that carry a
``weight`` attribute (distillation: 0 for a row of unlabelled text) get a row-weight array too.

The cache lives under ``--cache_dir`` (default ``$ZH_TEXTCLF_CACHE`` or ~/.cache/zh-textclf),
in a folder named by a hash of the data fingerprint, the vocab and every setting that changes
the encoding (labels, head kind, max_seq_length, lower-casing, long-text policy, pair or not).
A second run on the same data finds the folder and reads nothing else; a folder is complete or
absent (written under a temporary name and renamed). Its manifest, written last, lists the size
and SHA-256 of every file; a run checks them before it trusts the folder, and a folder that does
not match (a shard cut short by a full disk or a killed copy, a flipped byte) is encoded again,
with a warning, instead of failing mid-training.

Training batches: the shards are read in a seeded random order, rows pass a seeded shuffle
buffer, and batches are padded to their own longest row (``group_by_length``: tf.data's
length buckets instead). The stream has no epoch boundaries, so a step count says where it is:
a resumed run skips that many batches and sees the batches the killed run would have seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from classifier.batching import EncodedExamples
from classifier.classifier_spec import ClassifierSpec
from classifier.heads.base import Example
from classifier.iteration import chunks
from classifier.text import TextEncoder

logger = logging.getLogger(__name__)

CACHE_ENV = "ZH_TEXTCLF_CACHE"
FORMAT_VERSION = 2  # 2: the manifest lists each file's size and SHA-256
MANIFEST = "manifest.json"
LABELS_FILE = "labels.npy"
ROW_WEIGHTS_FILE = "row_weights.npy"  # only when some example's weight is not 1
ROWS_PER_SHARD = 100_000
CHUNK = 4096  # examples encoded at a time
SHUFFLE_BUFFER = 50_000  # rows; bounded, so memory does not grow with the data
LENGTH_BOUNDARIES = [16, 32, 48, 64, 96, 128, 192, 256, 384]


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "zh-textclf")


@dataclass
class CachedSplit:
    """An encoded split on disk: ``len`` rows, their labels in memory, the ids in shards."""

    folder: Path
    num_rows: int
    labels: np.ndarray
    shards: list[Path]
    skipped: list[str]
    row_weights: np.ndarray | None = None  # float32 [rows]: the examples' own weights
    sample_weights: np.ndarray | None = None  # what training weighs rows by (training.data)
    fingerprint: str = ""  # of the data it was encoded from

    def __len__(self) -> int:
        return self.num_rows


def cache_key(fingerprint: str, vocab_sha256: str, spec: ClassifierSpec) -> str:
    """The folder name: everything that changes what is written."""
    settings = {
        "format": FORMAT_VERSION,
        "data": fingerprint,
        "vocab": vocab_sha256,
        "labels": list(spec.labels),
        "head": spec.head_kind,
        "pair": spec.is_pair,
        "max_seq_length": spec.max_seq_length,
        "lower_case": spec.do_lower_case,
        "long_text": spec.long_text_policy.to_dict(),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]


def open_or_build(
    root: str | Path,
    key: str,
    examples: Callable[[], Iterable[Example]],
    encoder: TextEncoder,
    spec: ClassifierSpec,
    skipped: Callable[[], list[str]] = list,
) -> CachedSplit:
    """The cached split ``key`` under ``root``, encoding ``examples()`` into it first when it is
    not there. ``skipped()`` (called after the examples are read) lists bad rows skipped."""
    folder = Path(root) / key
    if (folder / MANIFEST).is_file() or folder.exists():
        damage = verify(folder)
        if damage is None:
            split = load(folder)
            logger.info("encoded training examples: %d rows from the cache %s", len(split), folder)
            return split
        logger.warning(
            "the cached encoding %s is damaged (%s): encoding the training data again",
            folder,
            damage,
        )
        shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _build(tmp, examples(), encoder, spec, skipped)
        try:
            os.rename(tmp, folder)
        except OSError:  # another run finished the same cache first: use theirs
            if not (folder / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load(folder)


class ShardWriter:
    """Rows into TFRecord shards of ROWS_PER_SHARD each, numbered in order; closed on exit
    however the writing ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shards: list[str] = []
        self.rows = 0
        self._writer: tf.io.TFRecordWriter | None = None
        self._in_shard = 0

    def write(self, ids, segments) -> None:
        if self._writer is None or self._in_shard == ROWS_PER_SHARD:
            self.close()
            self.shards.append(f"shard-{len(self.shards):05d}.tfrecord")
            self._writer = tf.io.TFRecordWriter(str(self.folder / self.shards[-1]))
            self._in_shard = 0
        self._writer.write(_record(ids, segments, self.rows))
        self._in_shard += 1
        self.rows += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _build(
    folder: Path,
    examples: Iterable[Example],
    encoder: TextEncoder,
    spec: ClassifierSpec,
    skipped: Callable[[], list[str]],
) -> None:
    started = time.time()
    folder.mkdir(parents=True)
    head = spec.head
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    with ShardWriter(folder) as writer:
        for chunk in chunks(examples, CHUNK):
            head.check_labels(chunk, "train")
            encoded = EncodedExamples.from_texts(
                encoder,
                [e.text_a for e in chunk],
                [e.text_b for e in chunk] if spec.is_pair else None,
            )
            chunk_labels = head.encode_labels(chunk)
            chunk_weights = np.array([getattr(e, "weight", 1.0) for e in chunk], np.float32)
            if encoded.document_index is not None:
                chunk_labels = chunk_labels[encoded.document_index]
                chunk_weights = chunk_weights[encoded.document_index]
            labels.append(chunk_labels)
            weights.append(chunk_weights)
            for ids, segments in zip(encoded.token_ids, encoded.segment_ids, strict=True):
                writer.write(ids, segments)
    rows, shards = writer.rows, writer.shards
    if not rows:
        raise ValueError("the training split holds no examples")
    np.save(folder / LABELS_FILE, np.concatenate(labels))
    arrays = [LABELS_FILE]
    row_weights = np.concatenate(weights)
    if np.any(row_weights != 1.0):
        np.save(folder / ROW_WEIGHTS_FILE, row_weights)
        arrays.append(ROW_WEIGHTS_FILE)
    manifest = {
        "format": FORMAT_VERSION,
        "rows": rows,
        "shards": shards,
        "arrays": arrays,
        "files": {name: _describe(folder / name) for name in [*shards, *arrays]},
        "skipped": skipped()[:100],
        "seconds": round(time.time() - started, 1),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    logger.info(
        "encoded %d training rows into %d shards in %.1fs", rows, len(shards), time.time() - started
    )


def _describe(path: Path) -> dict[str, int | str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def verify(folder: Path) -> str | None:
    """None when ``folder`` holds a complete cache whose files match its manifest; otherwise
    what is wrong, for the warning."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if set(files) != {*manifest["shards"], *manifest.get("arrays", [LABELS_FILE])}:
            return f"{MANIFEST} does not list its files"
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"{MANIFEST} cannot be read: {err}"
    for name, expected in files.items():
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{name} is missing"
        if size != expected["bytes"]:
            return f"{name} holds {size} bytes, {expected['bytes']} were written"
        if _describe(path)["sha256"] != expected["sha256"]:
            return f"{name} does not hold what was written (SHA-256 differs)"
    return None


def load(folder: Path) -> CachedSplit:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    weights = folder / ROW_WEIGHTS_FILE
    return CachedSplit(
        folder=folder,
        num_rows=int(manifest["rows"]),
        labels=np.load(folder / LABELS_FILE),
        shards=[folder / name for name in manifest["shards"]],
        skipped=list(manifest.get("skipped", [])),
        row_weights=np.load(weights) if ROW_WEIGHTS_FILE in manifest.get("arrays", []) else None,
    )


def _record(ids: np.ndarray, segments: np.ndarray, row: int) -> bytes:
    feature = {
        "token_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
        "segment_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=segments)),
        "row": tf.train.Feature(int64_list=tf.train.Int64List(value=[row])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


_FEATURES = {
    "token_ids": tf.io.VarLenFeature(tf.int64),
    "segment_ids": tf.io.VarLenFeature(tf.int64),
    "row": tf.io.FixedLenFeature([], tf.int64),
}


def training_stream(
    split: CachedSplit,
    batch_size: int,
    seed: int,
    group_by_length: bool = False,
    skip_batches: int = 0,
) -> tf.data.Dataset:
    """Endless training batches of (features, labels[, sample weights]), ``batch_size`` rows
    each (the global batch under a distribution strategy: see replica_slices)."""
    labels = tf.constant(split.labels)
    weights = (
        tf.constant(split.sample_weights, tf.float32) if split.sample_weights is not None else None
    )
    # Every iterator of this dataset yields the same stream (Keras may open one to build the
    # model before training opens its own): the shard order of pass k is a stateless function
    # of (seed, k) and the row shuffle restarts from its seed.
    names = tf.constant([str(p) for p in split.shards])
    files = tf.data.Dataset.range(2**62).flat_map(
        lambda k: tf.data.Dataset.from_tensor_slices(
            tf.random.experimental.stateless_shuffle(names, seed=tf.stack([seed, k]))
        )
    )
    rows = files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(4, len(split.shards)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    rows = rows.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    rows = rows.shuffle(
        min(SHUFFLE_BUFFER, len(split)), seed=seed + 1, reshuffle_each_iteration=False
    )

    def with_labels(features: dict[str, tf.Tensor]) -> tuple:
        row = features.pop("row")
        item = (features, tf.gather(labels, row))
        return item if weights is None else (*item, tf.gather(weights, row))

    rows = rows.map(with_labels, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if group_by_length:
        batches = rows.bucket_by_sequence_length(
            lambda features, *_: tf.shape(features["token_ids"])[0],
            bucket_boundaries=LENGTH_BOUNDARIES,
            bucket_batch_sizes=[batch_size] * (len(LENGTH_BOUNDARIES) + 1),
            drop_remainder=True,
        )
    else:
        batches = rows.padded_batch(batch_size, drop_remainder=True)
    return batches.skip(skip_batches).prefetch(tf.data.AUTOTUNE)


def replica_slices(
    batches: tf.data.Dataset, replicas: int, pipeline: int, pipelines: int
) -> tf.data.Dataset:
    """Global batches -> the consecutive per-replica slices that input ``pipeline`` of
    ``pipelines`` feeds its replicas (every slice padded like its global batch), so the data
    order is that of one device with the same global batch."""
    local = replicas // pipelines
    first = pipeline * local

    def slices(*batch):
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(
                lambda t: tf.reshape(t, tf.concat([[replicas, -1], tf.shape(t)[1:]], 0)), batch
            )
        )

    pieces = batches.flat_map(slices).enumerate()
    pieces = pieces.filter(lambda i, _: (i % replicas >= first) & (i % replicas < first + local))
    return pieces.map(lambda _, piece: piece).prefetch(tf.data.AUTOTUNE)


def _parse(record: tf.Tensor) -> dict[str, tf.Tensor]:
    parsed = tf.io.parse_single_example(record, _FEATURES)
    token_ids = tf.cast(tf.sparse.to_dense(parsed["token_ids"]), tf.int32)
    return {
        "token_ids": token_ids,
        "segment_ids": tf.cast(tf.sparse.to_dense(parsed["segment_ids"]), tf.int32),
        "padding_mask": tf.ones_like(token_ids),
        "row": parsed["row"],
    }


def examples_sha256(examples: Iterable[Example]) -> str:
    """A fingerprint of examples' texts and labels (any DataProcessor's), read one by one."""
    digest = hashlib.sha256()
    for e in examples:
        fields = (e.text_a, e.text_b, getattr(e, "label", None), getattr(e, "labels", None))
        if hasattr(e, "weight"):
            fields += (e.weight,)
        digest.update(repr(fields).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
