"""The fine-tuned model: a backbone's pooled feature through a classification head to logits."""

from __future__ import annotations

import keras
from keras import ops

from classifier.heads import MULTICLASS, ClassificationHead, check_head_kind


@keras.saving.register_keras_serializable(package="classifier")
class TextClassifier(keras.Model):
    """Backbone (or an adapted backbone) -> pooled_output -> dropout -> dense logits.

    Takes the backbone's dict inputs (token_ids, segment_ids, padding_mask) and returns
    logits [batch, num_labels]; ``head_kind`` records whether they are read through a softmax
    (multiclass) or per-label sigmoids (multilabel). Any model with the backbone's inputs and
    a ``pooled_output`` output can serve as the backbone (adapter wrappers do).
    """

    def __init__(
        self,
        backbone: keras.Model,
        num_labels: int,
        head_kind: str = MULTICLASS,
        dropout: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        # === Layers ===
        self.backbone = backbone
        self.head = ClassificationHead(
            num_labels,
            dropout=dropout,
            initializer_range=initializer_range,
            dtype=backbone.dtype_policy,
            name="classification_head",
        )

        # === Functional Model ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask")
        }
        features = backbone(inputs)["pooled_output"]
        logits = self.head(features)
        # Logits leave the model in float32 even when the backbone computes in bfloat16.
        logits = keras.layers.Activation("linear", dtype="float32", name="logits")(logits)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.num_labels = num_labels
        self.head_kind = check_head_kind(head_kind)
        self.dropout = dropout
        self.initializer_range = initializer_range

    @property
    def supports_packed(self) -> bool:
        """Whether the backbone can run padding-free (see classifier.backbones.packing)."""
        return hasattr(self.backbone, "packed_outputs")

    def packed_logits(self, token_ids, segment_ids):
        """Float32 logits for ragged token/segment ids, computing no padding (inference)."""
        pooled = self.backbone.packed_outputs(token_ids, segment_ids)["pooled_output"]
        return ops.cast(self.head(pooled, training=False), "float32")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_labels": self.num_labels,
            "head_kind": self.head_kind,
            "dropout": self.dropout,
            "initializer_range": self.initializer_range,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
