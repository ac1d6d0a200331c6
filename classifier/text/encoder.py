"""TextEncoder: the single definition of "raw text -> model inputs", for training and export."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from classifier.text.graph_packer import pack_ragged
from classifier.text.graph_tokenizer import GraphTokenizer
from classifier.text.long_text import LongTextPolicy
from classifier.text.row_encoder import RowEncoder
from classifier.text.tokenizer import FullTokenizer
from classifier.text.vocab import resolve_vocab
from classifier.text.wordpiece import DEFAULT_MAX_CHARS_PER_WORD


class TextEncoder(tf.Module):
    """Tokenizes and packs text_a (and text_b) into token_ids / segment_ids / padding_mask.

    ``encode_python`` / ``encode_many`` use the Python FullTokenizer (cached pre-tokenization of
    training data); ``__call__`` runs the graph tokenizer and packer (export, serving). Both are
    built from the same four settings, and the tests hold them to identical ids.

    Empty and whitespace-only texts have no tokens: a single text becomes [CLS] [SEP]; an empty
    text_b makes a pair pack as a single sequence (as run_classifier's ``if tokens_b:``).

    A text longer than the budget is cut as ``long_text`` says (classifier.text.long_text):
    truncated, head + tail, or split into sliding windows; with windows one text gives several
    rows, and ``encode_documents`` / ``__call__`` say which document each row belongs to.
    """

    def __init__(
        self,
        vocab: Sequence[str] | str | os.PathLike[str],
        do_lower_case: bool = True,
        max_seq_length: int = 128,
        max_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
        long_text: LongTextPolicy | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be >= 3, got {max_seq_length}")
        self.do_lower_case = bool(do_lower_case)
        self.max_seq_length = int(max_seq_length)
        self.max_chars_per_word = int(max_chars_per_word)
        self.long_text = long_text or LongTextPolicy()
        # The Python path (classifier.text.row_encoder, no TensorFlow); a plain object, as
        # tf.Module would wrap its tokenizer's vocab list into a tracked ListWrapper.
        self.rows = RowEncoder(
            resolve_vocab(vocab),
            self.do_lower_case,
            self.max_seq_length,
            self.max_chars_per_word,
            self.long_text,
        )
        self._graph_tokenizer: GraphTokenizer | None = None

    @property
    def tokenizer(self) -> FullTokenizer:
        return self.rows.tokenizer

    @classmethod
    def from_vocab_file(cls, vocab_file: str | os.PathLike[str], **kwargs: Any) -> TextEncoder:
        return cls(vocab_file, **kwargs)

    # === Config ===
    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable; the vocab is included so the config alone rebuilds the encoder."""
        return {
            "vocab": list(self.vocab),
            "do_lower_case": self.do_lower_case,
            "max_seq_length": self.max_seq_length,
            "max_chars_per_word": self.max_chars_per_word,
            "long_text": self.long_text.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextEncoder:
        config = dict(config)
        policy = LongTextPolicy.from_dict(config.pop("long_text", None) or {})
        return cls(**config, long_text=policy)

    @property
    def vocab(self) -> list[str]:
        return self.tokenizer.vocab

    # === Special ids ===
    @property
    def cls_id(self) -> int:
        return self.tokenizer.cls_id

    @property
    def sep_id(self) -> int:
        return self.tokenizer.sep_id

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # === Python path ===
    def encode_rows(
        self, text_a: str | bytes, text_b: str | bytes | None = None
    ) -> list[tuple[list[int], list[int]]]:
        """(token_ids, segment_ids) of every model row of one text: one, or its windows."""
        return self.rows.encode_rows(text_a, text_b)

    def encode_python(
        self, text_a: str | bytes, text_b: str | bytes | None = None
    ) -> tuple[list[int], list[int]]:
        """(token_ids, segment_ids), unpadded; one row (sliding windows: encode_rows)."""
        rows = self.encode_rows(text_a, text_b)
        if len(rows) != 1:
            raise ValueError(
                f"the text makes {len(rows)} sliding windows; use encode_rows or encode_documents"
            )
        return rows[0]

    def encode_documents(
        self, texts_a: Sequence[str], texts_b: Sequence[str | None] | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """Every text's rows as int32 arrays, unpadded, and with sliding windows the document
        index of each row (None otherwise: one row per text, in order)."""
        return self.rows.encode_documents(texts_a, texts_b)

    def encode_many(
        self, texts_a: Sequence[str], texts_b: Sequence[str | None] | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``encode_python`` over a dataset: per-example int32 arrays, unpadded."""
        if self.long_text.windowed:
            raise ValueError("sliding windows give several rows per text: use encode_documents")
        token_ids, segment_ids, _ = self.encode_documents(texts_a, texts_b)
        return token_ids, segment_ids

    # === Graph path ===
    @property
    def graph_tokenizer(self) -> GraphTokenizer:
        """Built on first use (about a second), outside any tf.function being traced."""
        if self._graph_tokenizer is None:
            with tf.init_scope():
                self._graph_tokenizer = GraphTokenizer(
                    self.vocab, self.do_lower_case, self.max_chars_per_word
                )
        return self._graph_tokenizer

    @tf.autograph.experimental.do_not_convert
    def __call__(
        self, text_a: tf.Tensor, text_b: tf.Tensor | None = None, pad_to_max: bool = False
    ) -> dict[str, tf.Tensor]:
        """tf.string [batch] (and [batch]) -> int32 [rows, L] token_ids/segment_ids/padding_mask.

        One row per text, except with sliding windows: then ``document_index`` int64 [rows]
        says which text each window comes from.
        """
        ids_a = self.graph_tokenizer(text_a)
        ids_b = self.graph_tokenizer(text_b) if text_b is not None else None
        documents = None
        if ids_b is not None and self.long_text.mode != "truncate":
            raise ValueError(f"long_text={self.long_text.mode} applies to single texts only")
        if self.long_text.mode != "truncate":
            ids_a, documents = self.long_text.select_ragged(
                tf.cast(ids_a, tf.int32), self.max_seq_length - 2
            )
        features = pack_ragged(
            ids_a, ids_b, self.max_seq_length, self.cls_id, self.sep_id, self.pad_id, pad_to_max
        )
        if self.long_text.windowed:
            features["document_index"] = documents
        return features
