"""The quick baseline to beat before fine-tuning: jieba words, TF-IDF, a linear model.

It trains in seconds on a CPU and often scores within a few points of a fine-tuned BERT on
topic-like tasks, so a user learns early whether the data needs a pretrained model at all.
Examples are duck-typed like the rest of classifier (text_a, text_b, label or labels); the
predictions are logits read by the task's head, so the reports are the fine-tuned model's, from
the same code (classifier.split_reports), without loading TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.heads import MULTICLASS, MULTILABEL, Head, make_head
from classifier.jieba_import import quiet_jieba


def jieba_words(text: str) -> list[str]:
    """Words of a Chinese (or mixed) text as jieba cuts them, whitespace dropped."""
    jieba = quiet_jieba()
    return [w for w in jieba.lcut(text.lower()) if w.strip()]


def _text(example) -> str:
    # Pair tasks: the two texts are featurised together; a marker keeps their words apart.
    return example.text_a if not example.text_b else f"{example.text_a} ||| {example.text_b}"


@dataclass
class BaselineRun:
    """The fitted baseline's predictions on the evaluated rows, in a fine-tuned model's terms:
    logits its head reads (log-probabilities; multilabel: log-odds) and targets as the head
    encodes them, so that classifier.split_reports writes the same reports from them."""

    head: Head
    logits: np.ndarray
    targets: np.ndarray
    fit_seconds: float
    predict_seconds: float
    vocabulary_size: int

    def speed(self) -> dict[str, float | int]:
        """What the baseline adds to a fine-tuned run's figures: how fast it fits and predicts."""
        return {
            "fit_seconds": round(self.fit_seconds, 3),
            "predict_seconds": round(self.predict_seconds, 3),
            "predict_examples_per_second": round(
                len(self.logits) / max(self.predict_seconds, 1e-9), 1
            ),
            "vocabulary_size": self.vocabulary_size,
        }

    def report(self) -> dict[str, Any]:
        """The head's report (classifier.metrics format) with the speed figures."""
        return {**self.head.report(self.logits, self.targets), **self.speed()}


def fit_and_predict(
    train: Sequence,
    evaluate: Sequence,
    labels: Sequence[str],
    multilabel: bool = False,
    c: float = 4.0,
    kind: str | None = None,
) -> BaselineRun:
    """Fits word uni+bigram TF-IDF with logistic regression (one per label where a text may
    have several: multilabel, hierarchical) on train and predicts the ``evaluate`` rows, which
    must carry labels; ``kind`` (a head kind) over ``multilabel``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    quiet_jieba().initialize()
    head = make_head(kind or (MULTILABEL if multilabel else MULTICLASS), labels)
    multilabel = head.multiple_labels
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(
        tokenizer=jieba_words,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        min_df=1,
        sublinear_tf=True,
    )
    features = vectorizer.fit_transform([_text(e) for e in train])
    if multilabel:
        model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000))
        model.fit(features, head.encode_labels(train).astype(np.int32))
    else:
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(features, head.encode_labels(train))
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    probs = model.predict_proba(vectorizer.transform([_text(e) for e in evaluate]))
    predict_seconds = time.perf_counter() - started
    probs = np.clip(probs, 1e-7, 1 - 1e-7)
    if multilabel:
        logits = np.log(probs / (1 - probs))
    else:
        full = np.full((len(evaluate), len(labels)), 1e-7)
        full[:, model.classes_] = probs  # classes absent from train keep ~0 probability
        logits = np.log(full)
    return BaselineRun(
        head,
        logits,
        head.encode_labels(evaluate),
        fit_seconds,
        predict_seconds,
        len(vectorizer.vocabulary_),
    )


def tfidf_baseline(
    train: Sequence,
    dev: Sequence,
    labels: Sequence[str],
    multilabel: bool = False,
    c: float = 4.0,
) -> dict[str, Any]:
    """Fits word uni+bigram TF-IDF with logistic regression on train; reports on dev.

    Returns the dev report (classifier.metrics format) with fit and predict seconds and the
    examples per second of prediction."""
    return fit_and_predict(train, dev, labels, multilabel, c).report()
