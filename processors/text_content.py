"""Whether a text has anything for a model to read (plain Python, like all of processors/).

BERT's tokenizer deletes NUL, U+FFFD and control characters (Unicode Cc and Cf, except tab,
LF and CR) and splits on whitespace, so a text made only of those tokenizes to nothing, as an
empty one does. The same rule as classifier.text.chars (is_dropped, is_whitespace), restated
here because processors/ imports no other package of ours; tests/test_processors.py checks
that the two agree.
"""

from __future__ import annotations

import unicodedata


def has_content(text: str) -> bool:
    """True when something is left after the tokenizer's cleaning."""
    return any(_kept(char) for char in text)


def _kept(char: str) -> bool:
    if char in " \t\n\r" or ord(char) in (0, 0xFFFD):
        return False
    return unicodedata.category(char) not in ("Zs", "Cc", "Cf")
