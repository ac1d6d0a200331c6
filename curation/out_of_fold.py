"""Out-of-fold predicted probabilities: each checked row predicted by a model fitted on the
other folds, so that a row's own (possibly wrong) label never vouches for itself.

Two detectors fit those models: the TF-IDF baseline (classifier.baseline: seconds on a CPU)
and fine-tuning the user's checkpoint (classifier.estimator.FineTuner: slower, sharper). Both
return probabilities in the task's label order; a FoldStore keeps finished folds so that a
killed run resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from curation.fold_store import FoldStore
from curation.folds import FoldPlan

logger = logging.getLogger(__name__)


class Detector(Protocol):
    """Fits a model on some rows and predicts the probabilities of others."""

    name: str

    def settings(self) -> dict[str, Any]:
        """What decides its probabilities (JSON-ready), for the FoldStore's fingerprint."""
        ...

    def predict_fold(self, fold: int, train: Sequence, held_out: Sequence) -> np.ndarray:
        """Probabilities [len(held_out), num_labels] of a model fitted on ``train``."""
        ...


@dataclass
class TfidfDetector:
    """jieba words, TF-IDF and logistic regression (one per label for multilabel)."""

    labels: Sequence[str]
    head_kind: str
    c: float = 4.0
    name: str = "tfidf"

    def settings(self) -> dict[str, Any]:
        return {"detector": self.name, "C": self.c}

    def predict_fold(self, fold: int, train: Sequence, held_out: Sequence) -> np.ndarray:
        from classifier.baseline import fit_and_predict

        run = fit_and_predict(train, held_out, self.labels, c=self.c, kind=self.head_kind)
        return run.head.probabilities(run.logits)


@dataclass
class FineTuneDetector:
    """The user's checkpoint fine-tuned on each fold's training rows (train.sh's trainer).

    Each fold trains in ``work_dir/fold-<k>-run``, removed once its probabilities are saved
    (a BERT-base run folder weighs about a gigabyte)."""

    model_dir: str
    labels: Sequence[str]
    multilabel: bool
    pair: bool
    work_dir: Path
    num_train_epochs: float = 3.0
    learning_rate: float = 2e-5
    max_seq_length: int = 128
    batch_size: int = 32
    seed: int = 12345
    name: str = "model"

    def settings(self) -> dict[str, Any]:
        folder = Path(self.model_dir)
        return {
            "detector": self.name,
            "model_dir": str(folder.resolve()) if folder.is_dir() else self.model_dir,
            "num_train_epochs": self.num_train_epochs,
            "learning_rate": self.learning_rate,
            "max_seq_length": self.max_seq_length,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    def predict_fold(self, fold: int, train: Sequence, held_out: Sequence) -> np.ndarray:
        from classifier.estimator import FineTuner

        run_dir = self.work_dir / f"fold-{fold}-run"
        tuner = FineTuner(
            self.model_dir,
            multilabel=self.multilabel,
            max_seq_length=self.max_seq_length,
            output_dir=run_dir,
            labels=list(self.labels),
            num_train_epochs=self.num_train_epochs,
            learning_rate=self.learning_rate,
            train_batch_size=self.batch_size,
            seed=self.seed,
        )
        pair = self.pair
        tuner.fit(
            [e.text_a for e in train],
            [e.labels if self.multilabel else e.label for e in train],
            texts_b=[e.text_b for e in train] if pair else None,
        )
        probabilities = tuner.predict_proba(
            [e.text_a for e in held_out],
            [e.text_b for e in held_out] if pair else None,
            batch_size=self.batch_size,
        )
        order = [tuner.classes_.index(label) for label in self.labels]
        shutil.rmtree(run_dir, ignore_errors=True)
        return np.asarray(probabilities, np.float64)[:, order]


def examples_digest(examples: Sequence) -> str:
    """A digest of the rows' texts and labels (what a resumed run must find unchanged)."""
    digest = hashlib.sha256()
    for e in examples:
        row = [e.guid, e.text_a, e.text_b, e.label, list(e.labels or ())]
        digest.update(json.dumps(row, ensure_ascii=False).encode())
    return digest.hexdigest()


def out_of_fold_probabilities(
    examples: Sequence,
    num_labels: int,
    plan: FoldPlan,
    detector: Detector,
    store: FoldStore | None = None,
) -> np.ndarray:
    """Probabilities [N, num_labels] of every row, each from the model of the fold that held
    it out (NaN for the rows the plan does not check); finished folds come from ``store``."""
    probabilities = np.full((len(examples), num_labels), np.nan)
    for fold in range(plan.num_folds):
        held = plan.held_out(fold)
        saved = None if store is None else store.load(fold, held)
        if saved is not None:
            logger.info(
                "fold %d/%d: %d rows, re-used from %s",
                fold + 1,
                plan.num_folds,
                len(held),
                store.fold_file(fold),
            )
            probabilities[held] = saved
            continue
        started = time.perf_counter()
        train = [examples[i] for i in plan.trained_on(fold)]
        predicted = detector.predict_fold(fold, train, [examples[i] for i in held])
        if store is not None:
            store.save(fold, held, predicted)
        logger.info(
            "fold %d/%d: %s fitted on %d rows, %d rows predicted in %.1fs",
            fold + 1,
            plan.num_folds,
            detector.name,
            len(train),
            len(held),
            time.perf_counter() - started,
        )
        probabilities[held] = predicted
    return probabilities
