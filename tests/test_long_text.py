"""--long_text: texts over max_seq_length read as truncate, head_tail or sliding_window, the same
in Python (training, evaluation) and in the exported graph, and learnt from their endings."""

from __future__ import annotations

import random

import numpy as np
import pytest

from classifier.text.long_text import LongTextError, LongTextPolicy, window_starts
from tests.support.samples import CHINESE_SAMPLES, tiny_vocab

FILLER = "今天天气我们去公园散步这家餐厅菜服务苹果发布新款手机中国繁体字应该被正确处理年总决赛"


def ending_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Filler of 50-90 characters, then the verdict: four 好 (pos) or four 差 (neg)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        filler = "".join(rng.choice(FILLER) for _ in range(rng.randint(50, 90)))
        texts.append(filler + ("好" if label == "pos" else "差") * 4)
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def vocab():
    return tiny_vocab()


def encoder_for(vocab, policy: LongTextPolicy, max_seq_length: int = 16):
    from classifier.text.encoder import TextEncoder

    return TextEncoder(vocab, max_seq_length=max_seq_length, long_text=policy)


POLICIES = [
    LongTextPolicy(),
    LongTextPolicy("head_tail"),
    LongTextPolicy("head_tail", head_tokens=0),
    LongTextPolicy("head_tail", head_tokens=14),
    LongTextPolicy("sliding_window"),
    LongTextPolicy("sliding_window", doc_stride=5),
    LongTextPolicy("sliding_window", doc_stride=14),
]


@pytest.mark.parametrize(
    "policy", POLICIES, ids=lambda p: f"{p.mode}-{p.head_tokens}-{p.doc_stride}"
)
def test_graph_rows_equal_python_rows(vocab, policy):
    import tensorflow as tf

    rng = random.Random(0)
    lengths = (0, 3, 13, 14, 15, 16, 30, 47, 100)
    texts = ["".join(rng.choice(FILLER) for _ in range(n)) for n in lengths] + CHINESE_SAMPLES
    encoder = encoder_for(vocab, policy)
    token_ids, _, documents = encoder.encode_documents(texts)
    graph = encoder(tf.constant(texts))
    rows = [
        row[mask > 0].tolist()
        for row, mask in zip(graph["token_ids"].numpy(), graph["padding_mask"].numpy(), strict=True)
    ]
    assert rows == [ids.tolist() for ids in token_ids]
    if policy.windowed:
        assert graph["document_index"].numpy().tolist() == documents.tolist()
        assert len(rows) > len(texts)  # the long texts were split
    else:
        assert documents is None and "document_index" not in graph
        assert len(rows) == len(texts)


def test_head_tail_keeps_the_first_and_last_tokens(vocab):
    tokens = list(range(100, 140))  # 40 token ids
    assert LongTextPolicy("head_tail", head_tokens=4).select(tokens, 10) == [
        [100, 101, 102, 103, 134, 135, 136, 137, 138, 139]
    ]
    assert LongTextPolicy("head_tail").select(tokens, 510 // 10) == [tokens]  # fits: unchanged
    # Sun et al.'s split of BERT's 510-token budget is the default: 128 head, 382 tail.
    assert LongTextPolicy("head_tail").head_count(510) == 128
    assert LongTextPolicy("truncate").select(tokens, 10) == [tokens[:10]]


def test_sliding_windows_cover_the_text_with_full_windows():
    policy = LongTextPolicy("sliding_window", doc_stride=4)
    tokens = list(range(23))
    windows = policy.select(tokens, 10)
    assert window_starts(23, 10, policy) == [0, 4, 8, 12, 13]
    assert all(len(w) == 10 for w in windows)
    assert windows[-1] == tokens[-10:]  # the last window ends with the text
    assert sorted({t for w in windows for t in w}) == tokens  # nothing skipped
    assert policy.select(tokens[:7], 10) == [tokens[:7]]  # a short text: one window
    assert LongTextPolicy("sliding_window").stride(126) == 63  # default: half a window


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_window_pooling_in_python_equals_the_graph(pooling):
    import tensorflow as tf

    policy = LongTextPolicy("sliding_window", pooling=pooling)
    logits = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    documents = np.array([0, 0, 0, 1, 2, 2, 3])
    pooled = policy.pool(logits, documents, 4)
    expected = [getattr(logits[documents == d], pooling)(axis=0) for d in range(4)]
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)
    graph = policy.pool_graph(tf.constant(logits), tf.constant(documents), tf.constant(4))
    np.testing.assert_allclose(graph.numpy(), pooled, rtol=1e-6)


def test_bad_settings_name_the_flag():
    with pytest.raises(LongTextError, match="--long_text"):
        LongTextPolicy("middle")
    with pytest.raises(LongTextError, match="--window_pooling"):
        LongTextPolicy("sliding_window", pooling="median")
    with pytest.raises(LongTextError, match="--doc_stride must be >= 1"):
        LongTextPolicy("sliding_window", doc_stride=0)
    with pytest.raises(LongTextError, match="--head_tokens 200 is over the 126 tokens"):
        LongTextPolicy("head_tail", head_tokens=200).check(128, is_pair=False)
    with pytest.raises(LongTextError, match="--doc_stride 127 is over the window"):
        LongTextPolicy("sliding_window", doc_stride=127).check(128, is_pair=False)
    with pytest.raises(LongTextError, match="single-text tasks"):
        LongTextPolicy("head_tail").check(128, is_pair=True)


def test_spec_rejects_long_text_modes_on_pair_tasks():
    from classifier.checkpoints.tiny import tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec

    with pytest.raises(ValueError, match="single-text tasks"):
        ClassifierSpec(
            tiny_bert_config(50), ("a", "b"), "multiclass", is_pair=True, long_text="head_tail"
        )


def test_windows_carry_their_documents_label_and_pool_back(vocab):
    from classifier.batching import EncodedExamples
    from classifier.checkpoints.tiny import tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.training.data import encode_examples

    class Example:
        def __init__(self, text, label):
            self.guid, self.text_a, self.text_b, self.label, self.labels = (
                "",
                text,
                None,
                label,
                None,
            )

    spec = ClassifierSpec(
        tiny_bert_config(len(vocab)),
        ("neg", "pos"),
        "multiclass",
        max_seq_length=16,
        long_text="sliding_window",
    )
    texts, labels = ending_texts(5, 0)
    examples = [Example(t, y) for t, y in zip(texts, labels, strict=True)]
    encoder = encoder_for(vocab, spec.long_text_policy, spec.max_seq_length)
    data = encode_examples(encoder, examples, spec)
    assert isinstance(data, EncodedExamples) and len(data) > len(examples)
    assert data.num_documents == len(examples)
    assert data.labels.tolist() == [spec.labels.index(labels[d]) for d in data.document_index]
    assert data.document_labels.tolist() == [spec.labels.index(y) for y in labels]
    row_logits = np.arange(2 * len(data), dtype=np.float32).reshape(-1, 2)
    assert data.pool(row_logits).shape == (len(examples), 2)


@pytest.fixture(scope="module")
def ending_checkpoint(tmp_path_factory):
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab(extra_texts=[FILLER, "好差"])
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=64)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("ending_bert"), vocab, config, seed=7, randomize=True
    )


def fine_tune(checkpoint, mode: str, output_dir):
    from classifier.estimator import FineTuner

    train, dev = ending_texts(300, 0), ending_texts(100, 1)
    return FineTuner(
        checkpoint,
        max_seq_length=32,
        long_text=mode,
        output_dir=output_dir,
        learning_rate=1e-3,
        num_train_epochs=4,
        train_batch_size=16,
    ).fit(*train, dev_texts=dev[0], dev_labels=dev[1])


@pytest.fixture(scope="module")
def window_tuner(ending_checkpoint, tmp_path_factory):
    return fine_tune(ending_checkpoint, "sliding_window", tmp_path_factory.mktemp("windows"))


@pytest.mark.slow  # fine-tunes tiny models
def test_verdicts_at_the_end_are_learnt_only_when_the_end_is_read(
    ending_checkpoint, window_tuner, tmp_path
):
    """The verdict sits after 50-90 characters of filler; 30 tokens fit in a row."""
    truncated = fine_tune(ending_checkpoint, "truncate", tmp_path / "truncate")
    head_tail = fine_tune(ending_checkpoint, "head_tail", tmp_path / "head_tail")
    assert truncated.eval_results_["accuracy"] < 0.7  # the verdict is never seen
    assert head_tail.eval_results_["accuracy"] > 0.95
    assert window_tuner.eval_results_["accuracy"] > 0.95
    assert window_tuner.train_summary_["train_examples"] > 300  # windows, not documents


@pytest.mark.slow  # fine-tunes tiny models
def test_export_serves_long_texts_as_the_in_memory_model_predicts(window_tuner, tmp_path):
    import tensorflow as tf

    from export import export_trained_model

    texts, _ = ending_texts(12, 5)
    texts += ["", "好", FILLER * 30 + "差差差差"]  # empty, one token, ~1,300 characters
    result = export_trained_model(window_tuner.output_dir_, tmp_path / "export")
    assert result.metadata["long_text"] == "sliding_window"
    loaded = tf.saved_model.load(str(result.path))
    served = loaded.signatures["serving_default"](text=tf.constant(texts))
    expected = window_tuner.predict_proba(texts)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    assert [b.decode() for b in served["label"].numpy()] == window_tuner.predict(texts)
    tokenized = loaded.signatures["tokenize"](text=tf.constant(texts))
    assert tokenized["document_index"].numpy().max() == len(texts) - 1
    card = (result.path / "README.md").read_text(encoding="utf-8")
    assert "--long_text=sliding_window" in card


@pytest.mark.slow  # fine-tunes tiny models
def test_an_export_can_override_the_trained_mode(window_tuner, tmp_path):
    import tensorflow as tf

    from export import export_trained_model

    result = export_trained_model(
        window_tuner.output_dir_, tmp_path / "export", long_text={"long_text": "head_tail"}
    )
    assert result.metadata["long_text"] == "head_tail"
    loaded = tf.saved_model.load(str(result.path))
    texts, labels = ending_texts(20, 9)
    served = loaded.signatures["serving_default"](text=tf.constant(texts))
    assert [b.decode() for b in served["label"].numpy()] == labels
