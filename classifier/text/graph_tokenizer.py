"""In-graph WordPiece tokenizer that returns exactly FullTokenizer's ids.

The pipeline runs on code points decoded from UTF-8 and looks every Unicode decision up in tables
compiled from Python's ``unicodedata`` (see ``char_tables``), in google-research/bert's order:

1. decode UTF-8, dropping invalid bytes (``convert_to_unicode``'s ``errors="ignore"``);
2. drop NUL, U+FFFD and Cc/Cf controls (``_clean_text``);
3. if lower-casing: fix U+03A3 to final sigma where ``str.lower()`` would, on the cleaned text;
   map each code point to NFD(lower(c)); stably reorder combining marks by combining class (the
   canonical ordering NFD applies to a whole word); drop category Mn;
4. split into words at whitespace (incl. U+2028/U+2029), around CJK characters (judged on the
   original code point, as ``_tokenize_chinese_chars`` runs before lower-casing) and around
   punctuation (judged after lower-casing/NFD, as ``_run_split_on_punc`` runs after);
5. words longer than ``max_chars_per_word`` characters become [UNK]; the rest go through
   tf-text's FastWordpieceTokenizer (LinMaxMatch = greedy longest-match-first) with
   ``no_pretokenization=True`` and a byte limit that never binds first.

tf_text.BertTokenizer is not used: its lower-casing is NFKC case folding, which rewrites full-width
letters, digits and Chinese punctuation (，。！？（）) to ASCII and so changes Chinese ids.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import tensorflow as tf
import tensorflow_text as tf_text

from classifier.text import char_tables as ct
from classifier.text.chars import CJK_RANGES
from classifier.text.vocab import UNK, lookup_table, resolve_vocab, special_ids
from classifier.text.wordpiece import DEFAULT_MAX_CHARS_PER_WORD, SUFFIX_INDICATOR

# UTF-8 needs at most 4 bytes per code point, so a word within the character limit never
# reaches tf-text's byte limit.
_MAX_UTF8_BYTES = 4


def wordpiece_vocab(tokens: Sequence[str]) -> list[str]:
    """Vocab for FastWordpieceTokenizer with google-research/bert's ``strip()`` keys.

    Entries no word can ever equal (empty or containing whitespace) become unique placeholders
    starting with "[" (words never contain punctuation), so every id keeps its position.
    """
    out = []
    for i, token in enumerate(tokens):
        key = token.strip()
        matchable = key and len(key.split()) == 1
        out.append(key if matchable else f"[unmatchable-{i}]")
    return out


def _in_ranges(cps: tf.Tensor, ranges: Sequence[tuple[int, int]]) -> tf.Tensor:
    hits = [(cps >= lo) & (cps <= hi) for lo, hi in ranges]
    return tf.reduce_any(tf.stack(hits), axis=0)


def _has(flags: tf.Tensor, bit: int) -> tf.Tensor:
    return tf.bitwise.bitwise_and(flags, bit) != 0


def _shift_right(x: tf.Tensor, first) -> tf.Tensor:
    """x[i-1] at position i, ``first`` at position 0."""
    return tf.concat([tf.fill([1], tf.cast(first, x.dtype)), x[:-1]], axis=0)


class GraphTokenizer(tf.Module):
    """texts: tf.string [batch] -> tf.RaggedTensor int32 [batch, (tokens)] of WordPiece ids.

    Trackable and exportable: the tables and the WordPiece model are constants of the graph, and
    the only non-core op is tf-text's FastWordpieceTokenize (import tensorflow_text to load).
    """

    def __init__(
        self,
        vocab: Sequence[str] | str | os.PathLike[str],
        do_lower_case: bool = True,
        max_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        tokens = resolve_vocab(vocab)
        ids = special_ids(lookup_table(tokens))
        if max_chars_per_word < 1:
            raise ValueError(f"max_chars_per_word must be >= 1, got {max_chars_per_word}")
        self.do_lower_case = bool(do_lower_case)
        self.max_chars_per_word = int(max_chars_per_word)
        self.vocab_size = len(tokens)
        self.unk_id = ids.unk_id
        tables = ct.build_char_tables(self.do_lower_case)
        self.unicode_version = tables.unicode_version
        with tf.init_scope():
            self._flags = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tables.flag_keys, tables.flag_values),
                default_value=0,
            )
            if self.do_lower_case:
                self._map_index = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(
                        tables.map_keys, tf.range(len(tables.map_keys), dtype=tf.int32)
                    ),
                    default_value=-1,
                )
                self._map_starts = tf.constant(tables.map_starts)
                self._map_lengths = tf.constant(tables.map_lengths)
                self._map_values = tf.constant(tables.map_values)
            self._wordpiece = tf_text.FastWordpieceTokenizer(
                vocab=wordpiece_vocab(tokens),
                suffix_indicator=SUFFIX_INDICATOR,
                max_bytes_per_word=_MAX_UTF8_BYTES * self.max_chars_per_word,
                token_out_type=tf.int32,
                unknown_token=UNK,
                no_pretokenization=True,
                support_detokenization=False,
            )

    # autograph=False: no Python control flow depends on tensors, and conversion doubles tracing.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def __call__(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self.tokenize(texts)

    @tf.autograph.experimental.do_not_convert
    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """The un-decorated pipeline, for callers already inside a tf.function."""
        word_chars, word_rows, batch = self._words(texts)
        return self._wordpiece_ids(word_chars, word_rows, batch)

    @tf.autograph.experimental.do_not_convert
    def split_words(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """tf.string [batch, (words)]: the words before WordPiece, to compare with
        ``BasicTokenizer.tokenize`` (a stricter check than ids, which hide [UNK] words)."""
        word_chars, word_rows, batch = self._words(texts)
        words = tf.strings.unicode_encode(word_chars, "UTF-8")
        per_text = tf.math.unsorted_segment_sum(tf.ones_like(word_rows), word_rows, batch)
        return tf.RaggedTensor.from_row_lengths(words, per_text, validate=False)

    def _words(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.Tensor, tf.Tensor]:
        texts = tf.convert_to_tensor(texts, tf.string)
        batch = tf.shape(texts, out_type=tf.int64)[0]
        chars = tf.strings.unicode_decode(texts, "UTF-8", errors="ignore")
        cps = chars.flat_values
        rows = chars.value_rowids()
        flags = self._flags.lookup(tf.cast(cps, tf.int64))

        keep = ~_has(flags, ct.DROP)
        cps, rows, flags = (tf.boolean_mask(t, keep) for t in (cps, rows, flags))
        cjk = _in_ranges(cps, CJK_RANGES)
        space = _has(flags, ct.SPACE)

        if self.do_lower_case:
            cps = self._apply_final_sigma(cps, rows, flags, cjk | space)
            cps, src = self._lower_nfd(cps)
            rows, cjk, space = (tf.gather(t, src) for t in (rows, cjk, space))
            out_flags = self._flags.lookup(tf.cast(cps, tf.int64))
            order = self._canonical_order(out_flags, rows)
            cps, src, rows, cjk, space, out_flags = (
                tf.gather(t, order) for t in (cps, src, rows, cjk, space, out_flags)
            )
            keep = ~_has(out_flags, ct.NONSPACING)
            cps, src, rows, cjk, space, out_flags = (
                tf.boolean_mask(t, keep) for t in (cps, src, rows, cjk, space, out_flags)
            )
            space |= _has(out_flags, ct.SPACE)
            punct = _has(out_flags, ct.PUNCT)
        else:
            src = tf.range(tf.size(cps, out_type=tf.int64))
            punct = _has(flags, ct.PUNCT)

        word_chars, word_rows = self._split_words(cps, src, rows, cjk, space, punct)
        return word_chars, word_rows, batch

    def _apply_final_sigma(self, cps, rows, flags, boundary) -> tf.Tensor:
        """U+03A3 -> U+03C2 where Python's str.lower() applies the Final_Sigma condition.

        Looks at the nearest non-case-ignorable neighbours within the same text; spaces and CJK
        characters (which Google surrounds with spaces) are neither ignorable nor cased.
        """
        ignorable = _has(flags, ct.CASE_IGNORABLE) & ~boundary
        cased = _has(flags, ct.CASED) & ~boundary
        n = tf.size(cps, out_type=tf.int64)
        anchors = tf.concat([tf.where(~ignorable)[:, 0], [n]], axis=0)  # n: sentinel
        rows_x = tf.concat([rows, [-1]], axis=0)
        cased_x = tf.concat([cased, [False]], axis=0)
        num_anchors = tf.size(anchors, out_type=tf.int64) - 1
        rank = tf.cumsum(tf.cast(~ignorable, tf.int64)) - 1  # index in anchors, for anchors
        prev_rank = tf.where(rank >= 1, rank - 1, num_anchors)
        next_rank = tf.minimum(rank + 1, num_anchors)
        prev = tf.gather(anchors, prev_rank)
        nxt = tf.gather(anchors, next_rank)
        after_cased = (tf.gather(rows_x, prev) == rows) & tf.gather(cased_x, prev)
        before_cased = (tf.gather(rows_x, nxt) == rows) & tf.gather(cased_x, nxt)
        final = (cps == ct.CAPITAL_SIGMA) & after_cased & ~before_cased
        return tf.where(final, ct.FINAL_SIGMA, cps)

    def _lower_nfd(self, cps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Each code point -> NFD(lower(c)) (marks kept); also the source index of each output."""
        n = tf.size(cps, out_type=tf.int32)
        index = self._map_index.lookup(tf.cast(cps, tf.int64))
        mapped = index >= 0
        safe = tf.maximum(index, 0)
        offset = tf.size(self._map_values, out_type=tf.int32)
        starts = tf.where(mapped, tf.gather(self._map_starts, safe), offset + tf.range(n))
        lengths = tf.where(mapped, tf.gather(self._map_lengths, safe), 1)
        positions = tf.ragged.range(starts, starts + lengths)
        values = tf.gather(tf.concat([self._map_values, cps], 0), positions.flat_values)
        return values, positions.value_rowids()

    @staticmethod
    def _canonical_order(flags: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
        """Permutation applying NFD's canonical ordering: a stable sort by combining class of
        every run of non-zero-class marks. A text boundary also ends a run."""
        ccc = tf.cast(
            tf.bitwise.bitwise_and(tf.bitwise.right_shift(flags, ct.CCC_SHIFT), 255), tf.int64
        )
        starts_run = (ccc == 0) | (rows != _shift_right(rows, -1))
        run = tf.cumsum(tf.cast(starts_run, tf.int64))
        return tf.argsort(run * 256 + ccc, stable=True)

    @staticmethod
    def _split_words(cps, src, rows, cjk, space, punct) -> tuple[tf.RaggedTensor, tf.Tensor]:
        """Words as UTF-8 strings with their text index. A word starts after a separator, at a
        text start, at/after punctuation, and at a boundary between different source characters
        when either is CJK."""
        new_source = src != _shift_right(src, -1)
        starts = (
            (rows != _shift_right(rows, -1))
            | _shift_right(space, True)
            | punct
            | _shift_right(punct, True)
            | (new_source & (cjk | _shift_right(cjk, True)))
        )
        keep = ~space
        cps, rows, starts = (tf.boolean_mask(t, keep) for t in (cps, rows, starts))
        word_ids = tf.cumsum(tf.cast(starts, tf.int64)) - 1
        num_words = tf.reduce_sum(tf.cast(starts, tf.int64))
        word_chars = tf.RaggedTensor.from_value_rowids(
            cps, word_ids, nrows=num_words, validate=False
        )
        word_rows = tf.boolean_mask(rows, starts)
        return word_chars, word_rows

    def _wordpiece_ids(self, word_chars: tf.RaggedTensor, word_rows, batch) -> tf.RaggedTensor:
        words = tf.strings.unicode_encode(word_chars, "UTF-8")
        too_long = word_chars.row_lengths() > self.max_chars_per_word
        words = tf.where(too_long, UNK, words)  # "[UNK]" is a vocab entry, so it maps to unk_id
        pieces = self._wordpiece.tokenize(words)
        per_text = tf.math.unsorted_segment_sum(pieces.row_lengths(), word_rows, batch)
        return tf.RaggedTensor.from_row_lengths(pieces.flat_values, per_text, validate=False)
