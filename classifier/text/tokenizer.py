"""FullTokenizer: google-research/bert's BasicTokenizer + WordPiece on one vocabulary."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from classifier.text.basic import BasicTokenizer
from classifier.text.vocab import UNK, lookup_table, resolve_vocab, special_ids
from classifier.text.wordpiece import DEFAULT_MAX_CHARS_PER_WORD, wordpiece


class FullTokenizer:
    """Python reference tokenizer; the graph tokenizer is tested against it id for id.

    ``max_input_chars_per_word`` counts characters (code points), 200 as in google-research/bert
    (transformers defaults to 100).
    """

    def __init__(
        self,
        vocab: Sequence[str] | str | os.PathLike[str],
        do_lower_case: bool = True,
        max_input_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
    ) -> None:
        self.vocab = resolve_vocab(vocab)
        self.token_to_id = lookup_table(self.vocab)
        self._id_to_token = [token.strip() for token in self.vocab]
        ids = special_ids(self.token_to_id)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id = (
            ids.pad_id,
            ids.unk_id,
            ids.cls_id,
            ids.sep_id,
        )
        self.mask_id = ids.mask_id
        self.do_lower_case = bool(do_lower_case)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.basic_tokenizer = BasicTokenizer(do_lower_case=self.do_lower_case)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def tokenize(self, text: str | bytes) -> list[str]:
        """WordPiece tokens of ``text`` (bytes are decoded as UTF-8, invalid bytes dropped)."""
        return [
            piece
            for word in self.basic_tokenizer.tokenize(text)
            for piece in wordpiece(word, self.token_to_id, UNK, self.max_input_chars_per_word)
        ]

    def encode(self, text: str | bytes) -> list[int]:
        """Ids of ``tokenize(text)``."""
        return self.convert_tokens_to_ids(self.tokenize(text))

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Raises KeyError for a token outside the vocab (google-research/bert does too)."""
        try:
            return [self.token_to_id[t] for t in tokens]
        except KeyError as e:
            raise KeyError(f"token {e.args[0]!r} is not in the vocab") from None

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return [self._id_to_token[i] for i in ids]
