"""ServingModule: the tf.Module saved as the SavedModel — raw text in, labels and scores out.

Everything a client needs travels inside it: the in-graph tokenizer (the same TextEncoder that
training's ids are proven equal to), the label names, the multilabel thresholds and the max
length as graph constants, and vocab.txt / labels.txt as SavedModel assets. Every signature
has fixed input specs with None dimensions, so a loaded model never retraces, and the batch is
padded only to its own longest row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

# The public API has no TF2 freezing; this function is what tf.lite and TF-TRT use for it.
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from classifier.explain.integrated_gradients import integrated_gradients
from classifier.heads import Head
from classifier.text import TextEncoder


def _texts(name: str) -> tf.TensorSpec:
    return tf.TensorSpec([None], tf.string, name=name)


def _ids(name: str) -> tf.TensorSpec:
    return tf.TensorSpec([None, None], tf.int32, name=name)


# Output keys of serving_default and predict_ids, in the order the docs list them.
OUTPUT_KEYS = ("label", "score", "labels", "predicted", "probabilities", "logits")
# Added to them by an export with an abstain threshold (and always output by ``decide``).
ABSTAINED = "abstained"


class ServingModule(tf.Module):
    """Wraps a trained classifier and its TextEncoder into exportable signatures.

    Signatures (see ``signatures()``):
      serving_default: text [B] (and text_b [B] for pair tasks) -> label [B], score [B],
        labels [B, K], predicted [B, K], probabilities [B, K], logits [B, K]; the model runs
        padding-free on the batch's real tokens
      predict_ids: input_ids, input_mask, segment_ids int32 [B, L] -> the same outputs; the
        tokens where input_mask is 1 (and the first token) are the sequence, also run
        padding-free
      tokenize: the raw-text inputs -> input_ids, input_mask, segment_ids (what serving feeds;
        with sliding windows one row per window and document_index, the text of each)
      explain_ids: input_ids, input_mask, segment_ids [B, L], target [B] (a label index per
        row), baseline_ids [B, L], steps [] -> attributions [B, L] (integrated gradients of the
        target's logit over the word embeddings; classifier.explain), logit and
        baseline_logit [B]; not in an export with frozen weights (no variables to
        differentiate)
      metadata: no inputs -> labels, thresholds, max_seq_length, head_kind, is_pair, ... and
        the whole metadata as JSON (``metadata_json``)

    With ``abstain_threshold`` P, serving_default and predict_ids also output abstained [B]
    (bool): a text the head abstains on (Head.abstains: its largest calibrated probability
    below P) gets ``abstain_label`` as its label and no decisions (labels all "", predicted
    all 0); score and probabilities stay the model's. ``decide`` (a saved function, not a
    signature) recomputes those outputs from the ``logits`` output for another threshold and
    label, so a Python server answers a request's own threshold with the export's rule.
    """

    def __init__(
        self,
        model: keras.Model,
        encoder: TextEncoder,
        head: Head,
        is_pair: bool,
        metadata: dict[str, Any],
        assets: dict[str, str | Path] | None = None,
        freeze_weights: bool = False,
        abstain_threshold: float | None = None,
        abstain_label: str = "",
    ) -> None:
        super().__init__(name="text_classifier")
        self._abstain = None if abstain_threshold is None else (abstain_threshold, abstain_label)
        self._packed = bool(getattr(model, "supports_packed", False))
        self._logits = model_logits(model, self._packed, freeze_weights)
        if freeze_weights:
            # Not tracked: the frozen forward pass carries the weights, once, as constants.
            self._get_model = lambda: model
        else:
            self._tracked_model = model  # its variables are saved under variables/
            self._get_model = lambda: self._tracked_model
        self.encoder = encoder
        _ = encoder.graph_tokenizer  # built (and tracked) now, not during tracing
        self.head = head  # plain Python (not tracked): its decisions are traced into the graph
        self.head_kind = head.kind
        self.is_pair = bool(is_pair)
        self.num_labels = head.num_labels
        self._labels = list(head.labels)
        self._thresholds = head.served_thresholds() or []
        self._metadata_json = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        # Assets are copied into <version>/assets/ by tf.saved_model.save.
        self.assets = {
            name: tf.saved_model.Asset(str(path)) for name, path in (assets or {}).items()
        }

        if self.is_pair:
            self.serve_text = tf.function(
                self._serve_pair,
                input_signature=[_texts("text"), _texts("text_b")],
                autograph=False,
            )
            self.tokenize = tf.function(
                self._tokenize_pair,
                input_signature=[_texts("text"), _texts("text_b")],
                autograph=False,
            )
        else:
            self.serve_text = tf.function(
                self._serve_single, input_signature=[_texts("text")], autograph=False
            )
            self.tokenize = tf.function(
                self._tokenize_single, input_signature=[_texts("text")], autograph=False
            )
        self.predict_ids = tf.function(
            self._predict_ids,
            input_signature=[
                _ids("input_ids"),
                _ids("input_mask"),
                _ids("segment_ids"),
            ],
            autograph=False,
        )
        self.metadata = tf.function(self._metadata_outputs, input_signature=[], autograph=False)
        if not freeze_weights:  # gradients need the weights as variables
            self.explain_ids = tf.function(
                self._explain_ids,
                input_signature=[
                    _ids("input_ids"),
                    _ids("input_mask"),
                    _ids("segment_ids"),
                    tf.TensorSpec([None], tf.int32, name="target"),
                    _ids("baseline_ids"),
                    tf.TensorSpec([], tf.int32, name="steps"),
                ],
                autograph=False,
            )
        self.decide = tf.function(
            self._decide,
            input_signature=[
                tf.TensorSpec([None, self.num_labels], tf.float32, name="logits"),
                tf.TensorSpec([], tf.float32, name="abstain_threshold"),
                tf.TensorSpec([], tf.string, name="abstain_label"),
            ],
            autograph=False,
        )

    @property
    def model(self) -> keras.Model:
        """The Keras model behind the signatures (with --freeze_weights, not saved itself)."""
        return self._get_model()

    @property
    def export_metadata(self) -> dict[str, Any]:
        """What the ``metadata`` signature returns as ``metadata_json``."""
        return json.loads(self._metadata_json)

    def signatures(self) -> dict[str, Any]:
        """name -> concrete function, for ``tf.saved_model.save(..., signatures=...)``."""
        signatures = {
            "serving_default": self.serve_text.get_concrete_function(),
            "predict_ids": self.predict_ids.get_concrete_function(),
            "tokenize": self.tokenize.get_concrete_function(),
            "metadata": self.metadata.get_concrete_function(),
        }
        if hasattr(self, "explain_ids"):
            signatures["explain_ids"] = self.explain_ids.get_concrete_function()
        return signatures

    # === Signature bodies ===
    def _serve_single(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        features = self.encoder(text)
        if "document_index" not in features:
            return self._classify_packed(features)
        # Sliding windows: each window's logits, pooled into its text's.
        documents = features.pop("document_index")
        window_logits = self._packed_logits(features)
        policy = self.encoder.long_text
        return self._outputs(policy.pool_graph(window_logits, documents, tf.size(text)))

    def _serve_pair(self, text: tf.Tensor, text_b: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._classify_packed(self.encoder(text, text_b))

    def _tokenize_single(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        features = self.encoder(text)
        names = _bert_names(features)
        if "document_index" in features:  # sliding windows: one row per window
            names["document_index"] = features["document_index"]
        return names

    def _tokenize_pair(self, text: tf.Tensor, text_b: tf.Tensor) -> dict[str, tf.Tensor]:
        return _bert_names(self.encoder(text, text_b))

    def _predict_ids(
        self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        features = {"token_ids": input_ids, "segment_ids": segment_ids, "padding_mask": input_mask}
        if not self._packed:
            return self._classify(features)
        # The tokens where input_mask is 1 are the sequence; the first ([CLS]) always is.
        # google-research/bert's features put every 0 at the end, where this is exactly the
        # padded computation.
        first = tf.equal(tf.range(tf.shape(input_mask)[1]), 0)[None, :]
        keep = tf.logical_or(input_mask > 0, first)
        return self._outputs(
            self._logits(
                tf.boolean_mask(input_ids, keep),
                tf.boolean_mask(segment_ids, keep),
                tf.reduce_sum(tf.cast(keep, tf.int64), axis=1),
            )
        )

    def _explain_ids(
        self,
        input_ids: tf.Tensor,
        input_mask: tf.Tensor,
        segment_ids: tf.Tensor,
        target: tf.Tensor,
        baseline_ids: tf.Tensor,
        steps: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        return integrated_gradients(
            self.model, input_ids, segment_ids, input_mask, target, baseline_ids, steps
        )

    def _decide(
        self, logits: tf.Tensor, abstain_threshold: tf.Tensor, abstain_label: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        return self._outputs(logits, (abstain_threshold, abstain_label))

    def _metadata_outputs(self) -> dict[str, tf.Tensor]:
        return {
            "labels": tf.constant(self._labels, tf.string),
            "thresholds": tf.constant(self._thresholds, tf.float32, shape=[len(self._thresholds)]),
            "max_seq_length": tf.constant(self.encoder.max_seq_length, tf.int32),
            "head_kind": tf.constant(self.head_kind),
            "is_pair": tf.constant(self.is_pair),
            "model_family": tf.constant(str(self.export_metadata.get("model_family", ""))),
            "metadata_json": tf.constant(self._metadata_json),
        }

    # === Head ===
    def _classify_packed(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Raw-text path: the encoder's rows are left-aligned, so the model can run on the real
        tokens only (padding-free execution) when its backbone supports it."""
        return self._outputs(self._packed_logits(features))

    def _packed_logits(self, features: dict[str, tf.Tensor]) -> tf.Tensor:
        if not self._packed:
            return self._logits(
                features["token_ids"], features["segment_ids"], features["padding_mask"]
            )
        # Rows are left-aligned, so the masked values are each row's tokens in order (what
        # RaggedTensor.from_tensor's flat_values would be, without its validation ops).
        real = features["padding_mask"] > 0
        lengths = tf.reduce_sum(tf.cast(real, tf.int64), axis=1)
        return self._logits(
            tf.boolean_mask(features["token_ids"], real),
            tf.boolean_mask(features["segment_ids"], real),
            lengths,
        )

    def _classify(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return self._outputs(
            self._logits(features["token_ids"], features["segment_ids"], features["padding_mask"])
        )

    def _outputs(
        self, logits: tf.Tensor, abstain: tuple[Any, Any] | None = None
    ) -> dict[str, tf.Tensor]:
        """The outputs of ``logits``; abstaining at ``abstain`` (threshold, label), by default
        at the export's own setting (none: no ``abstained`` output)."""
        logits = tf.cast(logits, tf.float32)
        probabilities, predicted = self.head.graph_outputs(logits)
        top = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        names = tf.constant(self._labels, tf.string)
        all_names = tf.broadcast_to(names, tf.shape(probabilities))
        outputs = {
            "label": tf.gather(names, top),
            "score": tf.gather(probabilities, top, batch_dims=1),
            "labels": tf.where(predicted > 0, all_names, ""),
            "predicted": predicted,
            "probabilities": probabilities,
            "logits": logits,
        }
        abstain = abstain or self._abstain
        if abstain is None:
            return outputs
        threshold, label = abstain
        abstained = self.head.abstains_graph(probabilities, tf.cast(threshold, tf.float32))
        rows = abstained[:, None]
        outputs["label"] = tf.where(abstained, tf.cast(label, tf.string), outputs["label"])
        outputs["labels"] = tf.where(rows, tf.constant("", tf.string), outputs["labels"])
        outputs["predicted"] = tf.where(rows, tf.zeros_like(predicted), predicted)
        outputs[ABSTAINED] = abstained
        return outputs


def model_logits(model: keras.Model, packed: bool, freeze: bool) -> Callable[..., tf.Tensor]:
    """The model's inference forward pass, as the signatures call it.

    packed: (token_ids [T], segment_ids [T], row_lengths [B]) -> float32 logits [B, K], the
    padding-free path; otherwise (token_ids, segment_ids, padding_mask [B, L]) -> logits.

    ``freeze`` bakes the weights into the graph as constants. oneDNN keeps a matmul's weights
    in its blocked (AMX/AVX-512) layout only when they are constants; from variables it
    reorders every weight on every call. Measured on BERT-base packed batches of 8: 1.8x
    faster in bfloat16, 1.08x in float32. The price is memory while exporting and loading
    (BERT-base float32: a peak near 18 GiB, against a few GiB with variables), so it is
    opt-in. One forward pass serves every signature, so each weight is stored once.
    """
    if packed:
        flat = tf.TensorSpec([None], tf.int32)
        signature = [flat, flat, tf.TensorSpec([None], tf.int64)]

        def forward(token_ids, segment_ids, row_lengths):
            def ragged(values):  # the lengths come from the signature body: no checks
                return tf.RaggedTensor.from_row_lengths(values, row_lengths, validate=False)

            return tf.cast(model.packed_logits(ragged(token_ids), ragged(segment_ids)), tf.float32)

    else:
        signature = [tf.TensorSpec([None, None], tf.int32)] * 3

        def forward(token_ids, segment_ids, padding_mask):
            inputs = {"token_ids": token_ids, "segment_ids": segment_ids}
            inputs["padding_mask"] = padding_mask
            return tf.cast(model(inputs, training=False), tf.float32)

    if not freeze:
        return forward
    traced = tf.function(forward, input_signature=signature, autograph=False)
    frozen = convert_variables_to_constants_v2(traced.get_concrete_function())

    def logits(*args: tf.Tensor) -> tf.Tensor:
        out = frozen(*args)
        return out[0] if isinstance(out, (list, tuple)) else out

    return logits


def _bert_names(features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """The encoder's names as google-research/bert's exported models call them."""
    return {
        "input_ids": features["token_ids"],
        "input_mask": features["padding_mask"],
        "segment_ids": features["segment_ids"],
    }


def describe_signatures(signatures: dict[str, Any]) -> list[str]:
    """ "name(inputs) -> outputs" per signature, for the export log."""

    def spec_text(name: str, spec: tf.TensorSpec) -> str:
        return f"{name} {spec.dtype.name}{list(spec.shape)}"

    lines = []
    for name, function in signatures.items():
        args, kwargs = function.structured_input_signature
        specs = [(spec.name, spec) for spec in args] + sorted(kwargs.items())
        inputs = ", ".join(spec_text(key, spec) for key, spec in specs)
        outputs = ", ".join(
            spec_text(key, spec) for key, spec in sorted(function.structured_outputs.items())
        )
        lines.append(f"{name}({inputs}) -> {outputs}")
    return lines
