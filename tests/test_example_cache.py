"""The encoded-example cache: written once, found again by key, streamed back in a
reproducible order with every row's own label."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier.checkpoints.tiny import tiny_bert_config
from classifier.classifier_spec import ClassifierSpec
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
from classifier.training import example_cache
from classifier.training.example_cache import (
    cache_key,
    open_or_build,
    replica_slices,
    training_stream,
)
from processors import InputExample

TEXTS = ["今天天气很好", "这家餐厅的菜太难吃了", "苹果发布了新款手机", "股票市场今天大涨", "北京"]


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    vocab = build_tiny_chinese_vocab(extra_texts=TEXTS)
    vocab_file = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    write_vocab(vocab_file, vocab)
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab)),
        labels=tuple("0123456789"),
        head_kind="multiclass",
        max_seq_length=32,
    )
    return spec, spec.text_encoder(vocab_file), vocab_file


def examples(count: int) -> list[InputExample]:
    """Row i's label is len(its text) % 10, so a stream's labels can be checked against ids."""
    rows = []
    for i in range(count):
        text = TEXTS[i % len(TEXTS)][: 1 + i % 6]
        rows.append(InputExample(f"train-{i}", text, label=str(len(text) % 10)))
    return rows


def test_a_second_run_reuses_the_cache_and_a_setting_change_does_not(setting, tmp_path):
    spec, encoder, _ = setting
    calls = []

    def read():
        calls.append(1)
        return examples(50)

    first = open_or_build(tmp_path, "k1", read, encoder, spec)
    again = open_or_build(tmp_path, "k1", read, encoder, spec)
    assert len(calls) == 1 and len(first) == len(again) == 50
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not list(tmp_path.glob(".*tmp"))  # built under a temporary name, then renamed
    assert cache_key("data", "vocab", spec) != cache_key(
        "data", "vocab", replace(spec, max_seq_length=16)
    )
    assert cache_key("data", "vocab", spec) != cache_key("other", "vocab", spec)
    assert cache_key("data", "vocab", spec) != cache_key("data", "other", spec)


def test_a_failed_build_leaves_no_cache(setting, tmp_path):
    spec, encoder, _ = setting

    def broken():
        yield from examples(5)
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        open_or_build(tmp_path, "k", broken, encoder, spec)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="holds no examples"):
        open_or_build(tmp_path, "k", lambda: [], encoder, spec)


def test_the_stream_pairs_rows_with_their_labels_across_shards(setting, tmp_path, monkeypatch):
    spec, encoder, _ = setting
    monkeypatch.setattr(example_cache, "ROWS_PER_SHARD", 16)
    monkeypatch.setattr(example_cache, "SHUFFLE_BUFFER", 8)
    split = open_or_build(tmp_path, "k", lambda: examples(70), encoder, spec)
    assert len(split.shards) == 5
    seen = 0
    for features, labels in training_stream(split, 8, seed=1).take(20):
        lengths = features["padding_mask"].numpy().sum(axis=1) - 2  # [CLS] text [SEP]
        np.testing.assert_array_equal(labels.numpy(), lengths % 10)
        seen += len(lengths)
    assert seen == 160


def test_the_stream_is_reproducible_skippable_and_sliced_per_replica(setting, tmp_path):
    spec, encoder, _ = setting
    split = open_or_build(tmp_path, "k", lambda: examples(70), encoder, spec)

    def ids(dataset, n):
        return [batch[0]["token_ids"].numpy() for batch in dataset.take(n)]

    whole = ids(training_stream(split, 8, seed=3), 6)
    again = training_stream(split, 8, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(whole, ids(again, 6), strict=True))
    assert all(
        np.array_equal(a, b) for a, b in zip(whole, ids(again, 6), strict=True)
    )  # re-iterated
    skipped = ids(training_stream(split, 8, seed=3, skip_batches=4), 2)
    assert all(np.array_equal(a, b) for a, b in zip(whole[4:], skipped, strict=True))
    other = ids(training_stream(split, 8, seed=4), 6)
    assert not all(np.array_equal(a, b) for a, b in zip(whole, other, strict=False))
    for pipeline in range(2):  # 4 replicas on 2 workers: each worker its 2 consecutive slices
        pieces = ids(replica_slices(training_stream(split, 8, seed=3), 4, pipeline, 2), 4)
        for k, piece in enumerate(pieces):
            batch, replica = divmod(k, 2)
            rows = slice((pipeline * 2 + replica) * 2, (pipeline * 2 + replica + 1) * 2)
            np.testing.assert_array_equal(piece, whole[batch][rows])


def test_the_tsv_processor_streams_its_train_file():
    from processors import TsvProcessor

    processor = TsvProcessor(str(Path(__file__).resolve().parent.parent / "data" / "demo"))
    streamed = processor.iter_train_examples()
    assert not isinstance(streamed, list)
    assert [e.text_a for e in streamed] == [e.text_a for e in processor.get_train_examples()]
    assert processor.train_fingerprint() == processor.train_fingerprint()


@pytest.mark.parametrize(
    "damage",
    ["truncate_shard", "flip_byte", "delete_labels", "broken_manifest", "no_manifest"],
)
def test_a_damaged_cache_is_encoded_again_with_a_warning(setting, tmp_path, damage, caplog):
    spec, encoder, _ = setting
    calls = []

    def read():
        calls.append(1)
        return examples(40)

    first = open_or_build(tmp_path, "k", read, encoder, spec)
    shard = first.shards[0]
    if damage == "truncate_shard":  # as a full disk or a killed copy leaves it
        shard.write_bytes(shard.read_bytes()[:100])
    elif damage == "flip_byte":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif damage == "delete_labels":
        (first.folder / example_cache.LABELS_FILE).unlink()
    elif damage == "broken_manifest":
        (first.folder / example_cache.MANIFEST).write_text("{", encoding="utf-8")
    else:
        (first.folder / example_cache.MANIFEST).unlink()
    with caplog.at_level("WARNING"):
        again = open_or_build(tmp_path, "k", read, encoder, spec)
    assert len(calls) == 2 and "is damaged" in caplog.text and str(first.folder) in caplog.text
    assert example_cache.verify(again.folder) is None
    batches = list(training_stream(again, batch_size=8, seed=0).take(5))
    assert sum(len(labels) for _, labels in batches) == 40
