"""Greedy longest-match-first WordPiece, as in google-research/bert's WordpieceTokenizer."""

from __future__ import annotations

from collections.abc import Container

SUFFIX_INDICATOR = "##"
# google-research/bert's limit, counted in characters (code points); transformers uses 100.
DEFAULT_MAX_CHARS_PER_WORD = 200


def wordpiece(
    word: str,
    vocab: Container[str],
    unk_token: str = "[UNK]",
    max_chars_per_word: int = DEFAULT_MAX_CHARS_PER_WORD,
) -> list[str]:
    """Pieces of one whitespace-free word; a single ``unk_token`` if it cannot be covered.

    A word longer than ``max_chars_per_word`` characters, or with any position where no vocabulary
    entry matches, becomes one ``unk_token`` as a whole (not a partial piece list).
    """
    if len(word) > max_chars_per_word:
        return [unk_token]
    pieces: list[str] = []
    start = 0
    while start < len(word):
        end = len(word)
        piece = None
        while start < end:
            candidate = word[start:end]
            if start > 0:
                candidate = SUFFIX_INDICATOR + candidate
            if candidate in vocab:
                piece = candidate
                break
            end -= 1
        if piece is None:
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces
