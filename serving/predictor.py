"""Predictor: loads one SavedModel version once and predicts batches of raw texts.

``Predictor(path)`` on an ONNX export's version folder (model.onnx) gives an
serving.onnx_predictor.OnnxPredictor instead (the same interface, no TensorFlow needed;
serving.loader.load_predictor loads either without importing TensorFlow first).

Only tensorflow and tensorflow_text are needed (the latter registers the tokenizer's op);
nothing of the training code is imported. Texts are sorted by length and cut into batches, so
each batch is padded only to a similar length, and results come back in input order.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

# oneDNN keeps a kernel per matrix shape; the exported graph rounds shapes to multiples of 16,
# and this cache holds them all for typical traffic (the default of 1024 thrashes with BERT's ~100 kernels per shape). Read once, when
# the first kernel is built.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8192")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402, F401  (registers FastWordpieceTokenize for the loaded graph)

from serving.abstention import Abstention, apply_rule  # noqa: E402
from serving.explaining import ExplainsTexts, ExplainUnavailable  # noqa: E402
from serving.inputs import InputError, Text, empty_outputs, texts_b_for, utf8  # noqa: E402
from serving.model_info import ModelInfo  # noqa: E402
from serving.prediction import AnswersTexts
from serving.versions import ONNX, latest_version, version_format

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BATCH_SIZE", "InputError", "Predictor"]

DEFAULT_BATCH_SIZE = 64
FIRST_SHAPE_ROWS = 64  # see Predictor._build_kernels


class Predictor(ExplainsTexts, AnswersTexts):
    """Raw texts -> predictions with one loaded SavedModel version.

    ``run`` returns serving_default's outputs as numpy arrays (rows in input order), ``predict``
    the same as ``Prediction`` objects. Thread-safe: a loaded signature may be called from any
    thread.
    """

    def __new__(cls, path: str | Path, *args, **kwargs):
        if cls is Predictor and version_format(path) == ONNX:  # an ONNX export: its runtime
            from serving.onnx_predictor import OnnxPredictor

            return OnnxPredictor(path, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self, path: str | Path, version: int = 0, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        started = time.monotonic()
        self.path = Path(path)
        self.version = version
        self.batch_size = batch_size
        self._model = tf.saved_model.load(str(self.path))
        self._serve = self._model.signatures["serving_default"]
        self._predict_ids = self._model.signatures["predict_ids"]
        self._tokenize = self._model.signatures["tokenize"]
        metadata = self._model.signatures["metadata"]()
        self.info = ModelInfo.from_metadata_json(metadata["metadata_json"].numpy())
        self._build_kernels()  # the first call also optimizes the graph
        self.run([""], [""] if self.info.is_pair else None)
        logger.info(
            "loaded %s (version %d) in %.1fs", self.path, version, time.monotonic() - started
        )

    def _build_kernels(self) -> None:
        """One call per shape bucket of a single text (the export's ``shape_buckets``), so
        that no realtime request pays for building a kernel (60-100 ms per new shape on
        BERT-base). Batches of several texts can still meet new shapes.

        The order matters: TensorFlow's oneDNN matmul keeps a frozen weight in the layout
        chosen for the first shape it meets, and shapes that prefer another layout run slower
        ever after. Measured on BERT-base (benchmarks/RESULTS.md): a first text of 128 tokens
        made short reviews 1.65x slower; one of 64 tokens kept both short reviews and
        128-token texts near their best. So the bucket nearest 64 goes first."""
        buckets = list(self.info.metadata.get("shape_buckets") or [])
        buckets.sort(key=lambda rows: abs(rows - FIRST_SHAPE_ROWS))
        filler = "的"  # one token in every Chinese vocab ([UNK] in any other)
        for length in buckets:
            if self.info.is_pair:  # [CLS] a [SEP] b [SEP]
                self.run([filler * max(1, length - 4)], [filler])
            else:  # [CLS] text [SEP]
                self.run([filler * max(1, length - 2)])

    @classmethod
    def from_export_dir(cls, export_dir: str | Path, **kwargs) -> Predictor:
        """The highest complete version under ``export_dir`` (an ONNX one: an OnnxPredictor)."""
        found = latest_version(export_dir)
        return cls.from_version(found, **kwargs)

    def run(
        self, texts: Sequence[Text], texts_b: Sequence[Text] | None = None
    ) -> dict[str, np.ndarray]:
        """serving_default's outputs for every text, in input order (string outputs decoded)."""
        encoded_a = [_utf8(t, i, "text") for i, t in enumerate(texts)]
        encoded_b = self._texts_b(texts_b, len(encoded_a))
        if not encoded_a:
            return self._empty_outputs()
        lengths = [
            len(a) + (len(encoded_b[i]) if encoded_b else 0) for i, a in enumerate(encoded_a)
        ]
        order = np.argsort(lengths, kind="stable")
        chunks = []
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            inputs = {"text": tf.constant([encoded_a[i] for i in rows], tf.string)}
            if encoded_b is not None:
                inputs["text_b"] = tf.constant([encoded_b[i] for i in rows], tf.string)
            chunks.append({k: v.numpy() for k, v in self._serve(**inputs).items()})
        restore = np.empty_like(order)
        restore[order] = np.arange(len(order))
        return {k: _decode(np.concatenate([c[k] for c in chunks])[restore]) for k in chunks[0]}

    def abstain(
        self, outputs: dict[str, np.ndarray], abstention: Abstention | None
    ) -> dict[str, np.ndarray]:
        """serving_default's outputs decided at ``abstention`` (a request's setting, see
        serving.abstention.resolve) instead of the export's; None: unchanged.

        An export made with an abstain threshold recomputes them in its graph (its ``decide``
        function, from the ``logits`` output: the same rule and code as serving_default); an
        export without one has its decisions unabstained, so the rule applies to them here."""
        if abstention is None or abstention == self.info.abstention:
            return outputs
        decide = getattr(self._model, "decide", None)
        if self.info.abstention is None or decide is None:
            return apply_rule(outputs, abstention)
        decided = decide(
            tf.constant(outputs["logits"], tf.float32),
            tf.constant(abstention.threshold, tf.float32),
            tf.constant(abstention.label.encode("utf-8"), tf.string),
        )
        return {**outputs, **{k: _decode(v.numpy()) for k, v in decided.items()}}

    def run_ids(
        self, input_ids: np.ndarray, input_mask: np.ndarray, segment_ids: np.ndarray
    ) -> dict[str, np.ndarray]:
        """predict_ids' outputs for already tokenized, padded int32 [batch, length] inputs."""
        outputs = self._predict_ids(
            input_ids=tf.constant(input_ids, tf.int32),
            input_mask=tf.constant(input_mask, tf.int32),
            segment_ids=tf.constant(segment_ids, tf.int32),
        )
        return {k: _decode(v.numpy()) for k, v in outputs.items()}

    def tokenize(
        self, texts: Sequence[Text], texts_b: Sequence[Text] | None = None
    ) -> dict[str, np.ndarray]:
        """input_ids, input_mask, segment_ids [batch, longest] exactly as serving_default
        feeds the model (the exported graph tokenizer), for clients of predict_ids."""
        inputs = {"text": tf.constant([_utf8(t, i, "text") for i, t in enumerate(texts)])}
        encoded_b = self._texts_b(texts_b, len(texts))
        if encoded_b is not None:
            inputs["text_b"] = tf.constant(encoded_b)
        return {k: v.numpy() for k, v in self._tokenize(**inputs).items()}

    @property
    def can_explain(self) -> bool:
        return "explain_ids" in self._model.signatures

    def _explain_attribute(self):
        """The export's explain_ids signature as an attribute function (ExplainsTexts)."""
        signature = self._model.signatures.get("explain_ids")
        if signature is None:
            raise ExplainUnavailable(
                f"{self.path} has no explain_ids signature (exported with --freeze_weights, or "
                "before explanations existed): export the run again without --freeze_weights"
            )

        def attribute(input_ids, input_mask, segment_ids, target, baseline_ids, steps):
            out = signature(
                input_ids=tf.constant(input_ids, tf.int32),
                input_mask=tf.constant(input_mask, tf.int32),
                segment_ids=tf.constant(segment_ids, tf.int32),
                target=tf.constant(target, tf.int32),
                baseline_ids=tf.constant(baseline_ids, tf.int32),
                steps=tf.constant(steps, tf.int32),
            )
            return {key: value.numpy() for key, value in out.items()}

        return attribute

    def _explain_vocab(self) -> Path:
        return Path(self._model.assets["vocab"].asset_path.numpy().decode("utf-8"))

    def _texts_b(self, texts_b: Sequence[Text] | None, count: int) -> list[bytes] | None:
        return texts_b_for(self.info, texts_b, count)

    def _empty_outputs(self) -> dict[str, np.ndarray]:
        return empty_outputs(self.info)


_utf8 = utf8  # the name this module had for it


def _decode(array: np.ndarray) -> np.ndarray:
    """tf.string outputs arrive as bytes; labels are returned as str."""
    if array.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(array)
    return array
