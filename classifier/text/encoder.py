"""TextEncoder: the single definition of "raw text -> model inputs", for training and export."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from classifier.text.graph_tokenizer import GraphTokenizer
from classifier.text.packer import pack, pack_ragged
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
    """

    def __init__(
        self,
        vocab: Sequence[str] | str | os.PathLike[str],
        do_lower_case: bool = True,
        max_seq_length: int = 128,
        max_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be >= 3, got {max_seq_length}")
        self.do_lower_case = bool(do_lower_case)
        self.max_seq_length = int(max_seq_length)
        self.max_chars_per_word = int(max_chars_per_word)
        # A plain object: tf.Module would wrap a list attribute into a tracked ListWrapper.
        self.tokenizer = FullTokenizer(
            resolve_vocab(vocab), self.do_lower_case, self.max_chars_per_word
        )
        self._graph_tokenizer: GraphTokenizer | None = None

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
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextEncoder:
        return cls(**config)

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
    def encode_python(
        self, text_a: str | bytes, text_b: str | bytes | None = None
    ) -> tuple[list[int], list[int]]:
        """(token_ids, segment_ids), unpadded."""
        ids_a = self.tokenizer.encode(text_a)
        ids_b = self.tokenizer.encode(text_b) if text_b is not None else None
        return pack(ids_a, ids_b, self.max_seq_length, self.cls_id, self.sep_id)

    def encode_many(
        self, texts_a: Sequence[str], texts_b: Sequence[str | None] | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``encode_python`` over a dataset: per-example int32 arrays, unpadded."""
        if texts_b is not None and len(texts_b) != len(texts_a):
            raise ValueError(f"{len(texts_a)} text_a but {len(texts_b)} text_b")
        token_ids, segment_ids = [], []
        for i, text_a in enumerate(texts_a):
            ids, segments = self.encode_python(text_a, texts_b[i] if texts_b is not None else None)
            token_ids.append(np.asarray(ids, np.int32))
            segment_ids.append(np.asarray(segments, np.int32))
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
        """tf.string [batch] (and [batch]) -> int32 [batch, L] token_ids/segment_ids/padding_mask."""
        ids_a = self.graph_tokenizer(text_a)
        ids_b = self.graph_tokenizer(text_b) if text_b is not None else None
        return pack_ragged(
            ids_a, ids_b, self.max_seq_length, self.cls_id, self.sep_id, self.pad_id, pad_to_max
        )
