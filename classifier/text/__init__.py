"""Tokenization and packing: google-research/bert's WordPiece in Python and in the graph.

Names are resolved lazily, so ``from classifier.text import FullTokenizer`` does not need
TensorFlow to build the graph tokenizer's tables.
"""

from __future__ import annotations

from classifier.lazy_exports import exports_on_first_use

_EXPORTS = {
    "BasicTokenizer": "classifier.text.basic",
    "FullTokenizer": "classifier.text.tokenizer",
    "GraphTokenizer": "classifier.text.graph_tokenizer",
    "TextEncoder": "classifier.text.encoder",
    "pack": "classifier.text.packer",
    "pack_ragged": "classifier.text.graph_packer",
    "truncate_pair": "classifier.text.packer",
    "load_vocab": "classifier.text.vocab",
    "write_vocab": "classifier.text.vocab",
    "build_tiny_chinese_vocab": "classifier.text.vocab",
    "SpecialIds": "classifier.text.vocab",
}

__all__ = sorted(_EXPORTS)


__getattr__ = exports_on_first_use(__name__, _EXPORTS)
