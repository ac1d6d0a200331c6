"""RowEncoder: raw text -> the model rows of one text, in pure Python (no TensorFlow).

The single Python definition of "text -> token ids": the FullTokenizer, the long-text policy
(truncate, head + tail, sliding windows) and the packer. TextEncoder's Python path (training
data, in-memory prediction) delegates here, and so does the ONNX serving path
(serving.onnx_predictor), which must not load TensorFlow; the graph path (the SavedModel) is
held to the same ids by the tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from classifier.text.long_text import LongTextPolicy
from classifier.text.packer import pack
from classifier.text.tokenizer import FullTokenizer
from classifier.text.wordpiece import DEFAULT_MAX_CHARS_PER_WORD

Rows = list[tuple[list[int], list[int]]]


class RowEncoder:
    """Tokenizes and packs one text (or pair) into its rows: one, or its sliding windows."""

    def __init__(
        self,
        vocab: Sequence[str] | str | os.PathLike[str],
        do_lower_case: bool = True,
        max_seq_length: int = 128,
        max_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
        long_text: LongTextPolicy | None = None,
    ) -> None:
        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be >= 3, got {max_seq_length}")
        self.max_seq_length = int(max_seq_length)
        self.long_text = long_text or LongTextPolicy()
        self.long_text.check(self.max_seq_length, is_pair=False)
        self.tokenizer = FullTokenizer(vocab, bool(do_lower_case), int(max_chars_per_word))

    def encode_rows(self, text_a: str | bytes, text_b: str | bytes | None = None) -> Rows:
        """(token_ids, segment_ids) of every model row of one text: one, or its windows."""
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        ids_a = self.tokenizer.encode(text_a)
        ids_b = self.tokenizer.encode(text_b) if text_b is not None else None
        if text_b is not None or self.long_text.mode == "truncate":
            return [pack(ids_a, ids_b, self.max_seq_length, cls_id, sep_id)]
        budget = self.max_seq_length - 2
        return [
            pack(part, None, self.max_seq_length, cls_id, sep_id)
            for part in self.long_text.select(ids_a, budget)
        ]

    def encode_documents(
        self, texts_a: Sequence[str | bytes], texts_b: Sequence[str | bytes | None] | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        """Every text's rows as int32 arrays, unpadded, and with sliding windows the document
        index of each row (None otherwise: one row per text, in order)."""
        if texts_b is not None and len(texts_b) != len(texts_a):
            raise ValueError(f"{len(texts_a)} text_a but {len(texts_b)} text_b")
        token_ids, segment_ids, documents = [], [], []
        for i, text_a in enumerate(texts_a):
            rows = self.encode_rows(text_a, texts_b[i] if texts_b is not None else None)
            for ids, segments in rows:
                token_ids.append(np.asarray(ids, np.int32))
                segment_ids.append(np.asarray(segments, np.int32))
            documents += [i] * len(rows)
        index = np.asarray(documents, np.int64) if self.long_text.windowed else None
        return token_ids, segment_ids, index
