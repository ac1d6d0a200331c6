"""The fine-tuned model: a backbone's pooled feature through a classification head to logits."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops, tree

from classifier.heads import MULTICLASS, ClassificationHead, check_head_kind
from classifier.replica_build import ReplicaBatchBuild
from classifier.step_regularizers import StepRegularizers
from classifier.trainable_tape import trainable_tape


@keras.saving.register_keras_serializable(package="classifier")
class TextClassifier(ReplicaBatchBuild, keras.Model):
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

    # Set by the training compile step (classifier.step_regularizers); not saved.
    step_regularizers: StepRegularizers | None = None

    def train_step(self, data):
        """Keras's TensorFlow train_step, with a tape that watches only the trainable weights
        (see classifier.trainable_tape for why) and the padding-free forward pass; plus FGM
        and R-Drop when ``step_regularizers`` asks for them."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        trainable = self.trainable_weights
        regularizers = self.step_regularizers or StepRegularizers()
        fgm = regularizers.fgm_epsilon > 0
        watched = list(trainable)
        if fgm and not any(v is regularizers.embedding for v in trainable):
            watched.append(regularizers.embedding)  # frozen embeddings still need a gradient
        loss, y_pred, gradients = self._loss_and_gradients(
            x, y, sample_weight, watched, regularizers
        )
        batch = tf.shape(next(i for i in tree.flatten(x) if i is not None))[0]
        # Keras losses come divided by the replica count (gradients are summed over
        # replicas); the tracked loss is the per-example mean, as Keras's own train_step.
        self._loss_tracker.update_state(loss * _replicas(), sample_weight=batch)
        if fgm:
            embedding = regularizers.embedding
            grad = tf.convert_to_tensor(gradients[_index_of(watched, embedding)])
            delta = regularizers.fgm_epsilon * grad / (tf.norm(grad) + 1e-12)
            embedding.assign_add(tf.cast(delta, embedding.dtype))
            _, _, adversarial = self._loss_and_gradients(
                x, y, sample_weight, trainable, regularizers
            )
            embedding.assign_sub(tf.cast(delta, embedding.dtype))
            gradients = [
                _add(g, a) for g, a in zip(gradients[: len(trainable)], adversarial, strict=True)
            ]
        self.optimizer.apply_gradients(zip(gradients[: len(trainable)], trainable, strict=True))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _loss_and_gradients(self, x, y, sample_weight, variables, regularizers):
        """(loss, logits of the first pass, gradients of ``variables``); R-Drop's two passes
        and consistency term when its alpha is set."""
        with trainable_tape(variables) as tape:
            y_pred = self.training_logits(x)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            if regularizers.rdrop_alpha > 0:
                second = self.training_logits(x)
                loss_b = self._compute_loss(
                    x=x, y=y, y_pred=second, sample_weight=sample_weight, training=True
                )
                consistency = regularizers.consistency(y_pred, second) / _replicas()
                loss = 0.5 * (loss + loss_b) + regularizers.rdrop_alpha * consistency
            scaled = self.optimizer.scale_loss(loss)
        return loss, y_pred, tape.gradient(scaled, variables)

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


def _replicas() -> float:
    return float(tf.distribute.get_strategy().num_replicas_in_sync)


def _index_of(variables, target) -> int:
    return next(i for i, v in enumerate(variables) if v is target)


def _add(a, b):
    """Sum of two gradients, either possibly None or IndexedSlices (embedding lookups)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, tf.IndexedSlices) and isinstance(b, tf.IndexedSlices):
        return tf.IndexedSlices(
            tf.concat([a.values, b.values], 0), tf.concat([a.indices, b.indices], 0), a.dense_shape
        )
    return tf.convert_to_tensor(a) + tf.convert_to_tensor(b)
