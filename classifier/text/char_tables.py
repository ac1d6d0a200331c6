"""Code-point tables that let the graph tokenizer reproduce the Python tokenizer exactly.

Why tables and not ICU/RE2: the Unicode data inside TensorFlow's ops disagrees with Python's
``unicodedata`` and with each other. Measured with TF 2.21 / tf-text 2.21.1 against Python 3.11
(Unicode 14.0): ``tf.strings.lower`` (ICU, pre-14) leaves U+2C2F, U+A7C0 and the Vithkuqi capitals
unlowered; ``tf_text.normalize_utf8("NFD")`` (ICU, Unicode 16) decomposes Kirat Rai / Gurung Khema
letters that Python 14 does not know; RE2's ``\\p{Mn}``, ``\\p{Cf}``, ``\\p{P}`` (Unicode 15) differ
on ~65 code points (Kawi, Egyptian format controls, ...). Each of these silently changes ids.
So every decision is compiled here from the same predicates the Python tokenizer uses
(``classifier.text.chars`` and ``str.lower``/``unicodedata``), and the graph only looks them up.
The tables are frozen into a SavedModel, so the exported tokenizer keeps the exporting Python's
Unicode version wherever it is served.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from dataclasses import dataclass

import numpy as np

from classifier.text.chars import is_dropped, is_punctuation, is_whitespace

# Bit flags per code point. CCC (canonical combining class, 0..254) lives in bits 8..15.
DROP = 1  # removed by _clean_text
SPACE = 2  # a word separator: _clean_text whitespace, plus what str.split() also splits on
PUNCT = 4  # a token of its own
NONSPACING = 8  # category Mn: removed after NFD when lower-casing
CASE_IGNORABLE = 16  # for str.lower()'s final-sigma rule
CASED = 32  # for str.lower()'s final-sigma rule
CCC_SHIFT = 8

CAPITAL_SIGMA = 0x3A3
FINAL_SIGMA = 0x3C2
MAX_CODE_POINT = 0x10FFFF


@dataclass(frozen=True)
class CharTables:
    """``flag_keys``/``flag_values``: code points with any flag. When lower-casing,
    ``map_keys[i]`` maps to ``map_values[map_starts[i]:map_starts[i] + map_lengths[i]]``, the NFD
    of its ``str.lower()`` with nonspacing marks still present (they are removed after canonical
    reordering, as NFD would do on the whole word)."""

    flag_keys: np.ndarray
    flag_values: np.ndarray
    map_keys: np.ndarray
    map_starts: np.ndarray
    map_lengths: np.ndarray
    map_values: np.ndarray
    unicode_version: str


def _final_sigma_probes(char: str) -> int:
    """CASE_IGNORABLE / CASED as ``str.lower()`` itself sees them (not exposed by unicodedata).

    Python lowers U+03A3 to U+03C2 when the nearest non-case-ignorable character before it is
    cased and the nearest one after it is not; probing lower() on tiny strings recovers both
    properties from the running interpreter, so the graph cannot drift from it.
    """
    flags = 0
    ignorable = ("A" + char + "Σ").lower().endswith("ς") and not (char + "Σ").lower().endswith("ς")
    if ignorable:
        flags |= CASE_IGNORABLE
    elif ("AΣ" + char).lower()[1] == "σ":
        flags |= CASED
    return flags


@functools.lru_cache(maxsize=2)
def build_char_tables(do_lower_case: bool) -> CharTables:
    """Scans every code point once (about a second); cached per process."""
    flag_keys: list[int] = []
    flag_values: list[int] = []
    map_keys: list[int] = []
    map_chunks: list[list[int]] = []
    for cp in range(MAX_CODE_POINT + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates cannot occur in UTF-8 input
        char = chr(cp)
        category = unicodedata.category(char)
        if category in ("Cn", "Co"):
            continue  # unassigned / private use: no flag, lower() and NFD are the identity
        flags = 0
        if is_dropped(char):
            flags |= DROP
        elif is_whitespace(char) or char.isspace():
            flags |= SPACE
        if is_punctuation(char):
            flags |= PUNCT
        if do_lower_case:
            if category == "Mn":
                flags |= NONSPACING
            flags |= unicodedata.combining(char) << CCC_SHIFT
            flags |= _final_sigma_probes(char)
            mapped = unicodedata.normalize("NFD", char.lower())
            if mapped != char:
                map_keys.append(cp)
                map_chunks.append([ord(c) for c in mapped])
        if flags:
            flag_keys.append(cp)
            flag_values.append(flags)
    lengths = np.array([len(c) for c in map_chunks], np.int32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
    values = [v for chunk in map_chunks for v in chunk]
    return CharTables(
        flag_keys=np.array(flag_keys, np.int64),
        flag_values=np.array(flag_values, np.int32),
        map_keys=np.array(map_keys, np.int64),
        map_starts=starts if len(map_chunks) else np.zeros([0], np.int32),
        map_lengths=lengths,
        map_values=np.array(values, np.int32),
        unicode_version=f"{unicodedata.unidata_version} (Python {sys.version.split()[0]})",
    )
