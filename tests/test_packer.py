"""Packing specification: google-research/bert's _truncate_seq_pair and [CLS] a [SEP] b [SEP],
in Python and in the graph, and the TextEncoder facade that ties tokenizer and packer together.
(The TextEncoder's SavedModel round trip in a fresh process is in test_tokenizer.py.)"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from classifier.text.encoder import TextEncoder  # noqa: E402
from classifier.text.graph_packer import pack_ragged  # noqa: E402
from classifier.text.packer import pack, truncate_pair  # noqa: E402
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab  # noqa: E402

CLS, SEP, PAD = 101, 102, 0


def google_truncate_seq_pair(len_a: int, len_b: int, max_length: int) -> tuple[int, int]:
    """google-research/bert's loop, simulated on lists."""
    tokens_a, tokens_b = list(range(len_a)), list(range(len_b))
    while True:
        if len(tokens_a) + len(tokens_b) <= max_length:
            break
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()
    return len(tokens_a), len(tokens_b)


def test_truncate_pair_equals_google_loop_exhaustively():
    for budget in range(41):
        for la in range(41):
            for lb in range(41):
                assert truncate_pair(la, lb, budget) == google_truncate_seq_pair(la, lb, budget), (
                    la,
                    lb,
                    budget,
                )


def test_pack_single_and_pair():
    assert pack([5, 6, 7], None, 8, CLS, SEP) == ([CLS, 5, 6, 7, SEP], [0] * 5)
    assert pack([5, 6, 7], None, 4, CLS, SEP) == ([CLS, 5, 6, SEP], [0] * 4)
    assert pack([5, 6], [7, 8, 9], 10, CLS, SEP) == (
        [CLS, 5, 6, SEP, 7, 8, 9, SEP],
        [0, 0, 0, 0, 1, 1, 1, 1],
    )
    # budget 5 for 2 + 6 tokens: b loses three (pops from the longer, ties from b)
    assert pack([5, 6], [1, 2, 3, 4, 7, 8], 8, CLS, SEP) == (
        [CLS, 5, 6, SEP, 1, 2, 3, SEP],
        [0, 0, 0, 0, 1, 1, 1, 1],
    )
    assert pack([], None, 8, CLS, SEP) == ([CLS, SEP], [0, 0])
    assert pack([], [4], 8, CLS, SEP) == ([CLS, SEP, 4, SEP], [0, 0, 1, 1])


def test_empty_b_packs_as_single_like_run_classifier():
    """convert_single_example tests ``if tokens_b:``: no second [SEP], single-sequence budget."""
    assert pack([1, 2, 3, 4], [], 5, CLS, SEP) == pack([1, 2, 3, 4], None, 5, CLS, SEP)
    assert pack([1, 2, 3, 4], [], 5, CLS, SEP)[0] == [CLS, 1, 2, 3, SEP]


def test_too_small_max_seq_length_fails():
    with pytest.raises(ValueError, match="no room"):
        pack([1], [2], 2, CLS, SEP)
    with pytest.raises(ValueError, match="no room"):
        pack([1], None, 1, CLS, SEP)


def ragged(rows: list[list[int]]) -> tf.RaggedTensor:
    return tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1, inner_shape=())


def unpad(packed: dict[str, tf.Tensor]) -> list[tuple[list[int], list[int]]]:
    ids, segments, mask = (packed[k].numpy() for k in ("token_ids", "segment_ids", "padding_mask"))
    return [
        (i[m == 1].tolist(), s[m == 1].tolist())
        for i, s, m in zip(ids, segments, mask, strict=True)
    ]


@pytest.mark.parametrize("max_seq_length", [3, 4, 5, 8, 13, 30])
def test_pack_ragged_equals_pack_row_by_row(max_seq_length):
    lengths = [(la, lb) for la in range(0, 22, 3) for lb in range(0, 22, 2)]
    rows_a = [list(range(1, la + 1)) for la, _ in lengths]
    rows_b = [list(range(50, 50 + lb)) for _, lb in lengths]
    packed = pack_ragged(ragged(rows_a), ragged(rows_b), max_seq_length, CLS, SEP, PAD)
    want = [pack(a, b, max_seq_length, CLS, SEP) for a, b in zip(rows_a, rows_b, strict=True)]
    assert unpad(packed) == want
    single = pack_ragged(ragged(rows_a), None, max_seq_length, CLS, SEP, PAD)
    assert unpad(single) == [pack(a, None, max_seq_length, CLS, SEP) for a in rows_a]


def test_pack_ragged_pads_dynamically_or_to_max():
    a, b = ragged([[1, 2, 3], [], [4]]), ragged([[5], [6, 7], []])
    packed = pack_ragged(a, b, 16, CLS, SEP, PAD)
    assert all(t.dtype == tf.int32 for t in packed.values())
    np.testing.assert_array_equal(
        packed["token_ids"],
        [
            [CLS, 1, 2, 3, SEP, 5, SEP],
            [CLS, SEP, 6, 7, SEP, PAD, PAD],
            [CLS, 4, SEP, PAD, PAD, PAD, PAD],
        ],
    )
    np.testing.assert_array_equal(
        packed["segment_ids"],
        [[0, 0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(
        packed["padding_mask"],
        [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]],
    )
    int64_ids = tf.RaggedTensor.from_row_lengths(
        tf.constant([1, 2, 3, 4], tf.int64), tf.constant([3, 0, 1], tf.int32)
    )  # other dtypes for values and row splits give the same result
    same = pack_ragged(int64_ids, b, 16, CLS, SEP, PAD)
    np.testing.assert_array_equal(same["token_ids"], packed["token_ids"])
    full = pack_ragged(a, b, 16, CLS, SEP, PAD, pad_to_max=True)
    assert all(t.shape == (3, 16) for t in full.values())
    np.testing.assert_array_equal(full["token_ids"][:, :7], packed["token_ids"])
    assert int(tf.reduce_sum(full["padding_mask"])) == int(tf.reduce_sum(packed["padding_mask"]))


def test_pack_ragged_empty_inputs_and_unknown_batch():
    @tf.function(
        input_signature=[
            tf.RaggedTensorSpec([None, None], tf.int32),
            tf.RaggedTensorSpec([None, None], tf.int32),
        ]
    )
    def packed(a, b):
        return pack_ragged(a, b, 8, CLS, SEP, PAD)

    empty = packed(ragged([[], []]), ragged([[], []]))
    np.testing.assert_array_equal(empty["token_ids"], [[CLS, SEP], [CLS, SEP]])
    np.testing.assert_array_equal(empty["segment_ids"], [[0, 0], [0, 0]])
    no_rows = packed(ragged([]), ragged([]))
    assert no_rows["token_ids"].shape[0] == 0
    to_max = pack_ragged(ragged([]), None, 8, CLS, SEP, PAD, pad_to_max=True)
    assert to_max["token_ids"].shape == (0, 8)


# === TextEncoder ===
TEXTS_A = [
    "今天天气很好，我们去公园散步吧！",
    "",
    "   \t",
    "苹果发布了新款iPhone手机" * 5,
    "2019年NBA总决赛",
]
TEXTS_B = ["中國的繁體字也應該被正確處理。", "好", "", "unaffable", " "]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> TextEncoder:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    write_vocab(path, build_tiny_chinese_vocab(extra_texts=TEXTS_A + TEXTS_B))
    return TextEncoder.from_vocab_file(path, do_lower_case=True, max_seq_length=24)


def test_encoder_graph_equals_python(encoder):
    pair = encoder(tf.constant(TEXTS_A), tf.constant(TEXTS_B))
    assert unpad(pair) == [
        encoder.encode_python(a, b) for a, b in zip(TEXTS_A, TEXTS_B, strict=True)
    ]
    single = encoder(tf.constant(TEXTS_A))
    assert unpad(single) == [encoder.encode_python(a) for a in TEXTS_A]
    assert single["token_ids"].shape[1] == 24  # the long text fills max_seq_length
    padded = encoder(tf.constant(TEXTS_A[1:3]), pad_to_max=True)
    assert padded["token_ids"].shape == (2, 24)


def test_encoder_empty_and_whitespace_texts(encoder):
    cls, sep = encoder.cls_id, encoder.sep_id
    assert encoder.encode_python("") == ([cls, sep], [0, 0])
    assert encoder.encode_python(" \t\n\u3000") == ([cls, sep], [0, 0])
    assert encoder.encode_python("", "") == ([cls, sep], [0, 0])
    assert encoder.encode_python("", "好") == (
        [cls, sep, encoder.tokenizer.encode("好")[0], sep],
        [0, 0, 1, 1],
    )
    np.testing.assert_array_equal(encoder(tf.constant(["", "  "]))["token_ids"], [[cls, sep]] * 2)


def test_encode_many(encoder):
    token_ids, segment_ids = encoder.encode_many(TEXTS_A, TEXTS_B)
    assert len(token_ids) == len(segment_ids) == len(TEXTS_A)
    assert all(
        t.dtype == np.int32 and t.shape == s.shape
        for t, s in zip(token_ids, segment_ids, strict=True)
    )
    assert [t.tolist() for t in token_ids] == [
        encoder.encode_python(a, b)[0] for a, b in zip(TEXTS_A, TEXTS_B, strict=True)
    ]
    assert encoder.encode_many(["a"], [None])[0][0].tolist() == encoder.encode_python("a")[0]
    with pytest.raises(ValueError, match="text_b"):
        encoder.encode_many(TEXTS_A, TEXTS_B[:2])


def test_encoder_config_round_trips_through_json(encoder):
    config = json.loads(json.dumps(encoder.get_config()))
    assert config["max_seq_length"] == 24 and config["do_lower_case"] is True
    assert config["max_chars_per_word"] == 200
    rebuilt = TextEncoder.from_config(config)
    assert rebuilt.get_config() == encoder.get_config()
    assert [rebuilt.encode_python(a, b) for a, b in zip(TEXTS_A, TEXTS_B, strict=True)] == [
        encoder.encode_python(a, b) for a, b in zip(TEXTS_A, TEXTS_B, strict=True)
    ]
