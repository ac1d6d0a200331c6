"""A run's support index and mistake explainer, from its Keras model in memory: what train.sh
(classifier.training.run) and scripts/explain.sh share.

The index holds the representations of every training row (classifier.explain.support_index);
the mistake explainer answers error analysis's "why" (classifier.explain.mistakes) with
integrated gradients and, when the index is there, the nearest training rows.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import keras

from classifier.classifier_spec import ClassifierSpec
from classifier.explain.explanation import TextExplainer
from classifier.explain.integrated_gradients import model_attribution
from classifier.explain.mistakes import MistakeExplainer
from classifier.explain.representations import representer
from classifier.explain.support_index import SupportIndex, build_support_index
from classifier.text import TextEncoder

logger = logging.getLogger(__name__)


def training_examples(task: Any):
    """The task's training examples, streamed when its processor can stream them."""
    stream = getattr(task, "iter_train_examples", None)
    return stream() if stream is not None else task.get_train_examples()


def task_source(task: Any) -> dict[str, Any]:
    """Where and how a processor reads its training rows (run.json and the index's meta.json
    keep it); {} for a task that reads no folder."""
    data_dir = getattr(task, "data_dir", None)
    if data_dir is None:
        return {}
    source: dict[str, Any] = {
        "data_dir": str(Path(data_dir).resolve()),
        "train_file": getattr(task, "train_file", "train.tsv"),
    }
    for name in ("header", "skip_bad_rows"):
        value = getattr(task, name, None)
        if isinstance(value, bool | str):
            source[name] = value
    return source


def build_run_index(
    run_dir: str | Path,
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    task: Any,
    batch_size: int = 64,
) -> SupportIndex:
    """Represents every training row of ``task`` with ``model`` into run_dir/support_index."""
    started = time.time()
    index = build_support_index(
        run_dir,
        training_examples(task),
        representer(model, encoder, batch_size),
        spec.is_pair,
        {**task_source(task), "task_name": spec.task_name},
        from_file=hasattr(task, "train_file"),
    )
    logger.info(
        "support index: %d training rows in %.1f s -> %s",
        len(index),
        time.time() - started,
        index.folder,
    )
    return index


def mistake_explainer(
    model: keras.Model,
    spec: ClassifierSpec,
    encoder: TextEncoder,
    index: SupportIndex | None,
    batch_size: int = 64,
) -> MistakeExplainer:
    """Error analysis's explain function over ``model``: integrated gradients (50 steps) over
    the words, and with ``index`` the 3 nearest training rows."""
    explainer = TextExplainer(
        encoder.tokenizer,
        spec.max_seq_length,
        spec.long_text_policy,
        spec.labels,
        model_attribution(model),
    )
    return MistakeExplainer(explainer, spec.is_pair, representer(model, encoder, batch_size), index)
