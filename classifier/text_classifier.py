"""The fine-tuned model: a backbone's pooled feature through a classification head to logits."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops, tree

from classifier.heads import MULTICLASS, ClassificationHead, check_head_kind
from classifier.trainable_tape import trainable_tape


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

    def packed_logits(self, token_ids, segment_ids, training=False):
        """Float32 logits for ragged token/segment ids, computing no padding."""
        outputs = self.backbone.packed_outputs(token_ids, segment_ids, training=training)
        return ops.cast(self.head(outputs["pooled_output"], training=training), "float32")

    def training_logits(self, x):
        """The forward pass of a training step: padding-free when the backbone supports it.

        Why: batches drawn at random (so that each batch's labels represent the data set) mix
        short and long texts; padding them costs about twice the time of length-sorted batches,
        while the padding-free path computes every dense layer on the real tokens only. Rows
        must be padded at the end (``padding_mask`` a prefix of ones), as batching makes them.
        """
        if not self.supports_packed:
            return self(x, training=True)
        lengths = tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1)
        token_ids = tf.RaggedTensor.from_tensor(x["token_ids"], lengths=lengths)
        segment_ids = tf.RaggedTensor.from_tensor(x["segment_ids"], lengths=lengths)
        return self.packed_logits(token_ids, segment_ids, training=True)

    def train_step(self, data):
        """Keras's TensorFlow train_step, with a tape that watches only the trainable weights
        (see classifier.trainable_tape for why) and the padding-free forward pass."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        trainable = self.trainable_weights
        with trainable_tape(trainable) as tape:
            y_pred = self.training_logits(x)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            batch = tf.shape(next(i for i in tree.flatten(x) if i is not None))[0]
            self._loss_tracker.update_state(loss, sample_weight=batch)
            loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(loss, trainable)
        self.optimizer.apply_gradients(zip(gradients, trainable, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

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
