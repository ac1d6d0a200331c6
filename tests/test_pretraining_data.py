"""Pretraining data: corpus reading, jieba word alignment, packing, masking statistics, vocab."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from classifier.pretraining.corpus import (
    CorpusError,
    expand_input_files,
    iter_documents,
    split_sentences,
)
from classifier.pretraining.masking import MaskingConfig, mask_sequence, random_replacement_ids
from classifier.pretraining.sequences import NO_WORD, pack_document
from classifier.pretraining.vocab_builder import (
    SPECIAL_TOKENS,
    VocabSizeError,
    build_vocab,
    count_words,
)
from classifier.pretraining.words import WordPieceWords, word_indices
from classifier.text.tokenizer import FullTokenizer
from classifier.text.vocab import build_tiny_chinese_vocab

# === Corpus ===


def test_blank_lines_separate_documents_and_lines_are_cut_into_sentences(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("今天下雨了。我们在家！\n明天呢？\n\n\n第二篇文章。\n", encoding="utf-8")
    docs = list(iter_documents(path))
    assert docs == [["今天下雨了。", "我们在家！", "明天呢？"], ["第二篇文章。"]]


def test_a_file_without_blank_lines_is_one_document_per_line(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("\ufeff第一条评论。很好。\n第二条评论\n", encoding="utf-8")
    assert list(iter_documents(path)) == [["第一条评论。", "很好。"], ["第二条评论"]]


def test_sentence_split_keeps_closing_quotes_with_their_sentence():
    assert split_sentences("他说：“好的。”然后走了。") == ["他说：“好的。”", "然后走了。"]


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes("好的\n".encode() + b"\xff\xfe bad\n")
    with pytest.raises(CorpusError, match=r"bad\.txt:2: not valid UTF-8"):
        list(iter_documents(path))


def test_input_file_globs_commas_and_missing_files(tmp_path):
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    files = expand_input_files(f"{tmp_path}/*.txt,{tmp_path}/c.md")
    assert [f.name for f in files] == ["a.txt", "b.txt", "c.md"]
    with pytest.raises(CorpusError, match="--input_file: .*matches no file"):
        expand_input_files(f"{tmp_path}/*.json")
    with pytest.raises(CorpusError, match="is not a file"):
        expand_input_files(str(tmp_path / "missing.txt"))


# === Words ===


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["我爱北京天安门", "iPhone手机playing好用", "中华人民共和国成立了"]
    return FullTokenizer(build_tiny_chinese_vocab(extra_texts=texts))


def test_cjk_tokens_of_one_jieba_word_share_a_word_index(tokenizer):
    tokens = tokenizer.tokenize("我爱北京天安门")
    indices = word_indices(tokens, "我爱北京天安门", ["我", "爱", "北京", "天安门"])
    assert tokens == ["我", "爱", "北", "京", "天", "安", "门"]
    assert indices == [0, 1, 2, 2, 3, 3, 3]


def test_wordpiece_continuations_join_their_word_and_latin_words_stand_alone(tokenizer):
    sentence = "iPhone手机playing好用"
    tokens = tokenizer.tokenize(sentence)
    indices = word_indices(tokens, sentence, ["iPhone", "手机", "playing", "好用"])
    assert tokens == ["ip", "##hone", "手", "机", "play", "##ing", "好", "用"]
    assert indices == [0, 0, 1, 1, 2, 2, 3, 3]


def test_jieba_segmentation_groups_whole_words(tokenizer):
    ids, words = WordPieceWords(tokenizer).encode("中华人民共和国成立了")
    assert len(ids) == 10
    assert words[:7] == [0] * 7  # 中华人民共和国 is one jieba word
    assert WordPieceWords(tokenizer, masking="token").encode("中华人民共和国")[1] == list(range(7))


# === Packing ===


def test_packing_fills_sequences_with_whole_sentences_of_one_document():
    sentences = [([10, 11, 12], [0, 0, 1]), ([13, 14], [0, 1]), ([15, 16, 17, 18], [0, 0, 1, 2])]
    packed = list(pack_document(sentences, max_seq_length=8, cls_id=2, sep_id=3))
    assert [s.token_ids for s in packed] == [[2, 10, 11, 12, 13, 14, 3], [2, 15, 16, 17, 18, 3]]
    assert packed[0].word_ids == [NO_WORD, 0, 0, 1, 2, 3, NO_WORD]
    assert packed[1].word_ids == [NO_WORD, 0, 0, 1, 2, NO_WORD]


def test_a_sentence_longer_than_a_sequence_is_cut():
    ids = list(range(10, 30))
    packed = list(pack_document([(ids, list(range(20)))], max_seq_length=8, cls_id=2, sep_id=3))
    assert [len(s.token_ids) for s in packed] == [8, 8, 8, 4]
    assert [t for s in packed for t in s.token_ids[1:-1]] == ids


# === Masking ===


def _config(max_predictions=60):
    return MaskingConfig(
        mask_id=4, random_ids=tuple(range(1000, 1100)), max_predictions=max_predictions
    )


def _masked_many(count=400, words=40, pieces=2):
    """Sequences of ``words`` words of ``pieces`` tokens each (ids 10.., distinct per token)."""
    n = words * pieces
    tokens = tf.constant([2, *range(10, 10 + n), 3])
    word_ids = tf.constant([-1, *(i // pieces for i in range(n)), -1])
    out = [mask_sequence(tokens, word_ids, tf.constant([7, i]), _config()) for i in range(count)]
    return tokens.numpy(), word_ids.numpy(), out


def test_masking_chooses_15_percent_of_words_and_all_their_pieces():
    tokens, word_ids, outs = _masked_many()
    for out in outs:
        weights = out["masked_weights"].numpy()
        positions = out["masked_positions"].numpy()[weights > 0]
        chosen_words = set(word_ids[positions])
        assert len(chosen_words) == 6  # round(0.15 * 40)
        for word in chosen_words:  # every piece of a chosen word is a target
            assert set(np.flatnonzero(word_ids == word)) <= set(positions)
        assert 0 not in positions and len(tokens) - 1 not in positions  # never [CLS]/[SEP]
        np.testing.assert_array_equal(out["masked_ids"].numpy()[weights > 0], tokens[positions])


def test_targets_are_80_percent_mask_10_random_10_unchanged():
    tokens, _, outs = _masked_many(count=600)
    kinds = {"mask": 0, "random": 0, "same": 0}
    for out in outs:
        weights = out["masked_weights"].numpy()
        positions = out["masked_positions"].numpy()[weights > 0]
        for position in positions:
            value = out["input_ids"].numpy()[position]
            if value == 4:
                kinds["mask"] += 1
            elif value == tokens[position]:
                kinds["same"] += 1
            else:
                assert 1000 <= value < 1100
                kinds["random"] += 1
    total = sum(kinds.values())
    assert kinds["mask"] / total == pytest.approx(0.8, abs=0.02)
    assert kinds["random"] / total == pytest.approx(0.1, abs=0.015)
    assert kinds["same"] / total == pytest.approx(0.1, abs=0.015)


def test_masking_is_deterministic_per_seed_and_respects_max_predictions():
    tokens = tf.constant([2, *range(10, 110), 3])
    word_ids = tf.constant([-1, *range(100), -1])
    first = mask_sequence(tokens, word_ids, tf.constant([1, 5]), _config(max_predictions=8))
    again = mask_sequence(tokens, word_ids, tf.constant([1, 5]), _config(max_predictions=8))
    other = mask_sequence(tokens, word_ids, tf.constant([1, 6]), _config(max_predictions=8))
    assert first["masked_weights"].numpy().sum() == 8  # 15 words wanted, 8 fit
    np.testing.assert_array_equal(first["input_ids"], again["input_ids"])
    assert not np.array_equal(first["masked_positions"], other["masked_positions"])


def test_random_replacements_never_draw_special_tokens():
    vocab = ["[PAD]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "的", "a"]
    assert random_replacement_ids(vocab) == (7, 8)


# === Vocab ===


def test_vocab_holds_google_specials_every_character_and_frequent_latin_words():
    texts = ["我爱北京，I love Beijing!", "北京欢迎你 love", "lovely 京"] * 3
    vocab = build_vocab(count_words(texts), vocab_size=200)
    assert vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert vocab.index("[UNK]") == 100 and vocab.index("[MASK]") == 103
    assert {"我", "爱", "北", "京", "欢", "迎", "你", "l", "##o", "love"} <= set(vocab)
    tokenizer = FullTokenizer(vocab)
    for text in texts:  # nothing the corpus holds becomes [UNK]
        assert "[UNK]" not in tokenizer.tokenize(text)


def test_vocab_too_small_for_the_characters_is_a_clear_error():
    with pytest.raises(VocabSizeError, match="--vocab_size 110 is too small"):
        build_vocab(count_words(["一二三四五六七八九十"]), vocab_size=110)
