"""A vector per text for telling near-duplicates apart, built from the texts themselves.

An export gives probabilities, not embeddings, so ``diverse`` selection places the pool's texts
in a TF-IDF space over jieba words and character bigrams: words catch shared vocabulary,
bigrams catch near-copies that jieba cuts differently (a changed character, a typo). Rows are
L2-normalised, so a dot product is a cosine similarity (1 for the same bag of features, 0 for
nothing in common).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from scipy.sparse import csr_matrix

from classifier.jieba_import import quiet_jieba

WORD = "w:"  # the two kinds of feature are kept apart: the word 股市 is not the bigram 股市
BIGRAM = "b:"


def text_features(text: str) -> list[str]:
    """jieba's words and the character bigrams of ``text``, after NFKC (full-width letters,
    digits and punctuation to their usual forms) and lower-casing; whitespace, punctuation and
    symbols are left out, so that "，" against "," or an added "！" barely moves a text."""
    jieba = quiet_jieba()
    normal = unicodedata.normalize("NFKC", text).lower()
    words = [WORD + w for w in jieba.lcut(normal) if any(c.isalnum() for c in w)]
    chars = [c for c in normal if c.isalnum()]
    return words + [BIGRAM + a + b for a, b in zip(chars, chars[1:], strict=False)]


def text_space(texts: Sequence[str]) -> csr_matrix:
    """[texts, features] TF-IDF (sublinear term frequency), each row of unit length (a text
    with no feature at all stays a zero row: similar to nothing)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(texts)
    vectorizer = TfidfVectorizer(analyzer=text_features, sublinear_tf=True, norm="l2")
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError as err:
        if "empty vocabulary" not in str(err):
            raise
        return csr_matrix((len(texts), 0))  # no text has a feature
