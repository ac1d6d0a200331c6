"""google-research/bert's BasicTokenizer: cleaning, CJK isolation, lower-casing, punctuation."""

from __future__ import annotations

from classifier.text.chars import (
    is_chinese_char,
    is_dropped,
    is_punctuation,
    is_whitespace,
    strip_accents,
    to_unicode,
)


def split_on_punctuation(word: str) -> list[str]:
    """Every punctuation character becomes a token of its own; the runs between stay whole."""
    pieces: list[str] = []
    current: list[str] = []
    for char in word:
        if is_punctuation(char):
            if current:
                pieces.append("".join(current))
                current = []
            pieces.append(char)
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


class BasicTokenizer:
    """Splits text into words the way google-research/bert did before WordPiece.

    Order (it matters): drop controls and map whitespace to " "; put spaces around CJK
    characters; split on ``str.split()`` whitespace (which also splits on U+2028/U+2029); per
    word, if ``do_lower_case``: ``str.lower()`` (context-sensitive final sigma included), NFD, drop
    Mn; then split off punctuation.
    """

    def __init__(self, do_lower_case: bool = True) -> None:
        self.do_lower_case = do_lower_case

    def clean(self, text: str) -> str:
        """``_clean_text`` followed by ``_tokenize_chinese_chars``."""
        out: list[str] = []
        for char in text:
            if is_dropped(char):
                continue
            if is_whitespace(char):
                out.append(" ")
            elif is_chinese_char(ord(char)):
                out.append(f" {char} ")
            else:
                out.append(char)
        return "".join(out)

    def tokenize(self, text: str | bytes) -> list[str]:
        """Returns the words (CJK characters and punctuation marks are words of their own)."""
        tokens: list[str] = []
        for word in self.clean(to_unicode(text)).split():
            if self.do_lower_case:
                word = strip_accents(word.lower())
            tokens.extend(split_on_punctuation(word))
        # Google re-splits the joined result on whitespace; kept for exactness.
        return " ".join(tokens).split()
