"""Step 1 of training: examples -> encoded token ids with the head's label encoding.

Examples are duck-typed (guid, text_a, text_b, label or labels), so training serves any
DataProcessor without importing the processors package.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.batching import EncodedExamples
from classifier.classifier_spec import ClassifierSpec
from classifier.head_options import LossOptions
from classifier.heads.base import Example
from classifier.text import TextEncoder
from classifier.training.example_cache import CachedSplit

logger = logging.getLogger(__name__)


def encode_examples(
    encoder: TextEncoder,
    examples: Sequence[Example],
    spec: ClassifierSpec,
    with_labels: bool = True,
) -> EncodedExamples:
    """Tokenizes and packs every example; the head encodes the labels (ids or multi-hot).
    With sliding windows each window is a row carrying its document's label."""
    data = EncodedExamples.from_texts(
        encoder,
        [e.text_a for e in examples],
        [e.text_b for e in examples] if spec.is_pair else None,
    )
    if with_labels:
        labels = spec.head.encode_labels(examples)
        data.labels = labels if data.document_index is None else labels[data.document_index]
    return data


@dataclass
class TrainingData:
    train: CachedSplit  # encoded on disk, streamed (classifier.training.example_cache)
    dev: EncodedExamples | None  # small: in memory


def prepare_data(
    spec: ClassifierSpec,
    options: LossOptions,
    encoder: TextEncoder,
    train: CachedSplit,
    dev_examples: Sequence[Example] | None,
) -> TrainingData:
    """Adds the per-example weights the options ask for to the encoded training split; encodes
    dev."""
    started = time.time()
    train.sample_weights = combined_weights(
        train.row_weights, spec.head.sample_weights(options, train.labels)
    )
    dev = encode_examples(encoder, dev_examples, spec) if dev_examples else None
    logger.info(
        "%d train rows (cached in %s), %d dev examples encoded in %.1fs",
        len(train),
        train.folder,
        len(dev) if dev else 0,
        time.time() - started,
    )
    return TrainingData(train, dev)


def combined_weights(*weights: np.ndarray | None) -> np.ndarray | None:
    """The product of the given per-row weights (None: all 1); None when none is given."""
    given = [np.asarray(w, np.float32) for w in weights if w is not None]
    if not given:
        return None
    product = given[0]
    for w in given[1:]:
        product = product * w
    return product.astype(np.float32)
