"""FineTuner: the whole train.sh job from Python, on lists of texts, scikit-learn style.

    tuner = FineTuner("chinese_L-12_H-768_A-12", output_dir="out/news").fit(texts, labels)
    tuner.predict(["央行宣布降准"])            # ["财经"]
    tuner.predict_proba(["央行宣布降准"])      # [[p(体育), p(财经), ...]] in tuner.classes_ order
    tuner.evaluate(test_texts, test_labels)   # {"accuracy": ..., "macro_f1": ..., ...}
    tuner.export("exported/news")             # exported/news/1, what export.sh writes

The constructor only stores its parameters; ``fit`` returns the tuner; ``classes_`` is the label
order (sorted, as train.sh orders labels it finds). ``long_text`` (with head_tokens, doc_stride,
window_pooling) is train.sh's --long_text. Multilabel: ``labels`` are lists of names
(possibly empty) and ``predict`` returns tuples. Everything lands in ``output_dir`` exactly as
train.sh writes it, so export.export_trained_model(output_dir, ...) and serving work on it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifier.adapters import AdapterConfig
from classifier.batching import EncodedExamples
from classifier.inference import predict_logits
from classifier.trained_model import VOCAB_FILE, inference_model, load_trained_model
from classifier.training.data import encode_examples
from classifier.training.run import RunOptions, run
from classifier.training.training_config import TrainingConfig
from export.exporter import export_trained_model


@dataclass(frozen=True)
class _Example:
    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None
    labels: tuple[str, ...] | None = None


class _ListTask:
    """The DataProcessor contract over in-memory lists (what training.run reads)."""

    def __init__(self, labels: Sequence[str], multilabel: bool, pair: bool, splits: dict):
        self._labels = list(labels)
        self.is_multilabel = multilabel
        self.is_pair = pair
        self._splits = splits

    def get_labels(self) -> list[str]:
        return list(self._labels)

    def get_train_examples(self) -> list:
        return self._splits["train"]

    def get_dev_examples(self) -> list:
        if self._splits["dev"] is None:
            raise FileNotFoundError("no dev texts were given")
        return self._splits["dev"]

    def get_test_examples(self) -> list:
        raise FileNotFoundError("no test texts")


def _gold_fields(label: str | Sequence[str] | None) -> tuple[str | None, tuple[str, ...] | None]:
    """A user's label as both fields an example has: one name (``label``) and a set
    (``labels``); each head reads the field its kind uses (Head.gold), so nothing here asks
    which kind of head a model has. A sequence is a label set and has no single name."""
    if label is None:
        return None, None
    if isinstance(label, str):
        return label, (label,)
    return None, tuple(label)


class FineTuner:
    def __init__(
        self,
        model_dir: str | Path,
        *,
        multilabel: bool = False,
        max_seq_length: int = 128,
        output_dir: str | Path | None = None,
        adapter: AdapterConfig | None = None,
        labels: Sequence[str] | None = None,
        long_text: str = "truncate",
        head_tokens: int | None = None,
        doc_stride: int | None = None,
        window_pooling: str = "mean",
        **training: Any,
    ):
        self.model_dir = model_dir
        self.multilabel = multilabel
        self.max_seq_length = max_seq_length
        self.long_text = long_text
        self.head_tokens = head_tokens
        self.doc_stride = doc_stride
        self.window_pooling = window_pooling
        self.output_dir = output_dir
        self.adapter = adapter
        self.labels = labels
        self.training = training

    def _examples(self, split, texts, labels, texts_b) -> list[_Example]:
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"{split}: {len(texts)} texts but {len(labels)} labels")
        if texts_b is not None and len(texts_b) != len(texts):
            raise ValueError(f"{split}: {len(texts)} texts but {len(texts_b)} second texts")
        examples = []
        for i, text in enumerate(texts):
            label, label_set = _gold_fields(None if labels is None else labels[i])
            examples.append(
                _Example(
                    guid=f"{split}-{i}",
                    text_a=text,
                    text_b=None if texts_b is None else texts_b[i],
                    label=label,
                    labels=label_set,
                )
            )
        return examples

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str] | Sequence[Sequence[str]],
        dev_texts: Sequence[str] | None = None,
        dev_labels: Sequence[str] | Sequence[Sequence[str]] | None = None,
        texts_b: Sequence[str] | None = None,
        dev_texts_b: Sequence[str] | None = None,
    ) -> FineTuner:
        """Fine-tunes (best dev epoch kept when dev texts are given); returns self."""
        train = self._examples("train", texts, labels, texts_b)
        dev = self._examples("dev", dev_texts, dev_labels, dev_texts_b) if dev_texts else None
        names = self.labels
        if names is None:
            seen = {n for lab in labels for n in (lab if self.multilabel else [lab])}
            names = sorted(seen)
        task = _ListTask(names, self.multilabel, texts_b is not None, {"train": train, "dev": dev})
        out = Path(self.output_dir or tempfile.mkdtemp(prefix="fine_tuner_"))
        options = RunOptions(
            output_dir=str(out),
            do_train=True,
            do_eval=dev is not None,
            overwrite=True,
            task_name="multilabel" if self.multilabel else "tsv",
            model_dir=str(self.model_dir),
            max_seq_length=self.max_seq_length,
            long_text={
                "long_text": self.long_text,
                "head_tokens": self.head_tokens,
                "doc_stride": self.doc_stride,
                "window_pooling": self.window_pooling,
            },
            training=TrainingConfig(**self.training),
            adapter=self.adapter,
        )
        result = run(options, task)
        self.output_dir_ = out
        self.classes_ = list(result.spec.labels)
        self.train_summary_ = result.train_summary
        self.eval_results_ = result.eval_results
        self._load()
        return self

    @classmethod
    def load(cls, output_dir: str | Path) -> FineTuner:
        """A tuner over an earlier run folder (train.sh's or fit's output)."""
        tuner = cls(model_dir="", output_dir=output_dir)
        tuner.output_dir_ = Path(output_dir)
        tuner._load()
        tuner.classes_ = list(tuner.spec_.labels)
        return tuner

    def _load(self) -> None:
        model, self.spec_ = load_trained_model(self.output_dir_)
        self.model_ = inference_model(model, self.spec_)
        self._encoder = self.spec_.text_encoder(self.output_dir_ / VOCAB_FILE)

    def _check_fitted(self) -> None:
        if not hasattr(self, "spec_"):
            raise RuntimeError("this FineTuner holds no model yet: call fit() or FineTuner.load()")

    def _logits(
        self, texts: Sequence[str], texts_b: Sequence[str] | None = None, batch_size: int = 64
    ) -> np.ndarray:
        """The model's raw logits [len(texts), len(classes_)] (sliding windows pooled)."""
        self._check_fitted()
        data = EncodedExamples.from_texts(self._encoder, list(texts), texts_b)
        return predict_logits(self.model_, data, batch_size)

    def predict_proba(
        self, texts: Sequence[str], texts_b: Sequence[str] | None = None, batch_size: int = 64
    ) -> np.ndarray:
        """Probabilities [len(texts), len(classes_)] (softmax, or one sigmoid per label)."""
        return self.spec_.head.probabilities(self._logits(texts, texts_b, batch_size))

    def predict(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> list:
        """Label names (multiclass) or tuples of names over their tuned thresholds."""
        head = self.spec_.head
        decisions = head.decisions(self.predict_proba(texts, texts_b))
        if decisions.ndim == 1:
            return [self.classes_[i] for i in decisions]
        return [tuple(self.classes_[j] for j in np.flatnonzero(row)) for row in decisions]

    def predict_outputs(
        self,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        batch_size: int = 64,
        abstain_threshold: float | None = None,
        abstain_label: str = "",
    ) -> dict[str, np.ndarray]:
        """The exported model's serving_default outputs, computed in memory: ``label`` and
        ``score`` (the most probable label), ``labels`` (the predicted names, "" elsewhere),
        ``predicted`` (0/1 int32), ``probabilities`` (calibrated, float32) and ``logits``.
        predict.sh predicts a run folder through this, so it decides as the export does
        (tokenizer, temperatures, thresholds, long-text mode all come from the spec).
        ``abstain_threshold``: as an export made with it (head.abstains), rows below it get
        ``abstain_label``, no decisions, and ``abstained`` true."""
        logits = self._logits(texts, texts_b, batch_size)
        return self.spec_.head.served_outputs(logits, abstain_threshold, abstain_label)

    def evaluate(
        self,
        texts: Sequence[str],
        labels: Sequence[str] | Sequence[Sequence[str]],
        texts_b: Sequence[str] | None = None,
        batch_size: int = 64,
    ) -> dict[str, Any]:
        """The figures train.sh reports for labelled texts (its eval_results.json and
        test_results.json: multiclass accuracy, macro/micro/weighted F1 and per-label figures;
        multilabel micro/macro/samples F1 and subset accuracy at the tuned thresholds; the
        loss and, when calibrated, ECE before and after), for held-out texts: no thresholds
        are fitted on them and no files are written."""
        self._check_fitted()
        head = self.spec_.head
        examples = self._examples("eval", texts, labels, texts_b)
        head.check_labels(examples, "eval")
        data = encode_examples(self._encoder, examples, self.spec_)
        logits = predict_logits(self.model_, data, batch_size)
        targets = data.document_labels
        return {**head.report(logits, targets), **head.calibration_report(logits, targets)}

    def export(
        self,
        export_dir: str | Path,
        version: int | None = None,
        dtype: str = "float32",
        freeze_weights: bool = False,
        quantize: str | None = None,
    ) -> Path:
        """Writes the SavedModel export.sh writes (a new version folder under ``export_dir``,
        atomically; serving.Predictor and serve.sh load it) and returns that folder."""
        self._check_fitted()
        result = export_trained_model(
            self.output_dir_,
            export_dir,
            version=version,
            dtype=dtype,
            freeze_weights=freeze_weights,
            quantize=quantize,
        )
        return result.path
