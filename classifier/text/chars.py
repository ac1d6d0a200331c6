"""Character classes of google-research/bert's BasicTokenizer.

The pretrained Chinese checkpoints saw text normalised by exactly these rules, so they are kept
bit-for-bit: ``is_dropped`` (its ``_clean_text`` removal), ``is_whitespace``, ``is_punctuation``
and ``is_chinese_char``. Everything else in this package (the Python tokenizer and the code-point
tables compiled into the graph tokenizer) is derived from these four predicates and the running
Python's ``unicodedata``.
"""

from __future__ import annotations

import unicodedata

# The CJK blocks google-research/bert isolates one character at a time (inclusive ranges).
# Hangul, kana and the CJK punctuation block are deliberately absent; so are the CJK extensions
# after F (Unicode 13+), which google-research/bert predates.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

_ASCII_PUNCT_RANGES = ((33, 47), (58, 64), (91, 96), (123, 126))


def is_chinese_char(cp: int) -> bool:
    """True for code points google-research/bert surrounds with spaces (``_is_chinese_char``)."""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_whitespace(char: str) -> bool:
    """Characters ``_clean_text`` turns into a plain space: space, tab, LF, CR and category Zs."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Categories Cc and Cf, except tab/LF/CR (which count as whitespace).

    google-research/bert tests ``cat in ("Cc", "Cf")``; transformers tests ``cat.startswith("C")``
    and so also drops private-use (Co) and unassigned (Cn) characters. We follow Google.
    """
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_dropped(char: str) -> bool:
    """Characters ``_clean_text`` deletes: NUL, U+FFFD and controls."""
    cp = ord(char)
    return cp == 0 or cp == 0xFFFD or is_control(char)


def is_punctuation(char: str) -> bool:
    """All non-alphanumeric printable ASCII, plus every Unicode category P* character."""
    cp = ord(char)
    if any(lo <= cp <= hi for lo, hi in _ASCII_PUNCT_RANGES):
        return True
    return unicodedata.category(char).startswith("P")


def strip_accents(text: str) -> str:
    """NFD, then drop nonspacing marks (Mn) - google-research/bert's ``_run_strip_accents``."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def to_unicode(text: str | bytes) -> str:
    """``convert_to_unicode``: bytes are decoded as UTF-8 with invalid bytes silently dropped."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise TypeError(f"expected str or bytes, got {type(text).__name__}")
