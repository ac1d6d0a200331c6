"""Distiller: trains a student on a frozen teacher's predictions (and, optionally, its layers).

Loss per batch, each term a mean over the rows it applies to:
  kd_loss_weight     * T^2 KL(teacher || student) at temperature T      (every row)
  hard_label_weight  * the head's plain loss on the gold labels          (labelled rows only)
  hidden_loss_weight * MSE between each student layer's output and that
                       of the teacher layer it was started from          (every real token)
Rows of unlabelled text carry label weight 0: they teach through the teacher alone, which is
what lets any in-domain text serve as distillation data.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from classifier.backbones.packing import packed_encoder
from classifier.distillation.student import base_backbone
from classifier.heads import Head
from classifier.trainable_tape import trainable_tape


def _ragged(x: dict) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    lengths = tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1)
    token_ids = tf.RaggedTensor.from_tensor(x["token_ids"], lengths=lengths)
    segment_ids = tf.RaggedTensor.from_tensor(x["segment_ids"], lengths=lengths)
    return token_ids, segment_ids


def logits_and_layers(model: keras.Model, x: dict, training: bool, layers: list[int] | None):
    """(float32 logits [B, K], the outputs [T, H] of the blocks at ``layers`` on the batch's
    real tokens) of a TextClassifier over a plain backbone, computed padding-free."""
    token_ids, segment_ids = _ragged(x)
    if layers is None:
        return model.packed_logits(token_ids, segment_ids, training=training), []
    backbone = base_backbone(model)
    kept: dict[int, tf.Tensor] = {}

    def on_layer(index: int, states: tf.Tensor) -> None:
        if index in layers:
            kept[index] = states  # ALBERT inner groups: the layer's last block wins

    states, plan = packed_encoder(backbone, token_ids, segment_ids, training, on_layer)
    pooled = backbone.pooler(tf.gather(states, plan.first_token), training=training)
    logits = ops.cast(model.head(pooled, training=training), "float32")
    return logits, [kept[i][: plan.num_tokens] for i in layers]


class Distiller(keras.Model):
    """Holds the student (trained) and the teacher (frozen, inference mode); ``fit`` trains
    the student. Batches are (features, labels, label_weights): label weight 0 marks a row
    without a gold label."""

    def __init__(
        self,
        student: keras.Model,
        teacher: keras.Model,
        head: Head,
        temperature: float = 2.0,
        kd_loss_weight: float = 1.0,
        hard_label_weight: float = 0.0,
        hidden_loss_weight: float = 0.0,
        teacher_layers: list[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.head_rules = head
        self.temperature = float(temperature)
        self.kd_loss_weight = float(kd_loss_weight)
        self.hard_label_weight = float(hard_label_weight)
        self.hidden_loss_weight = float(hidden_loss_weight)
        self.teacher_layers = list(teacher_layers or [])
        if self.hidden_loss_weight > 0:
            teacher_backbone = base_backbone(teacher)
            if teacher_backbone is not teacher.backbone:
                raise ValueError(
                    "--hidden_loss_weight needs a teacher without adapters (LoRA merges): its "
                    "layers' outputs are what the student matches"
                )
            student_layers = base_backbone(student).num_hidden_layers
            if len(self.teacher_layers) != student_layers:
                raise ValueError("one teacher layer per student layer is needed")
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "kd_loss", "hard_loss", "hidden_loss")
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    def train_step(self, data):
        x, labels, label_weights = data
        hidden = self.hidden_loss_weight > 0
        teacher_logits, teacher_states = logits_and_layers(
            self.teacher, x, False, self.teacher_layers if hidden else None
        )
        teacher_logits = tf.stop_gradient(teacher_logits)
        trainable = self.student.trainable_weights
        student_layers = list(range(len(self.teacher_layers))) if hidden else None
        with trainable_tape(trainable) as tape:
            logits, states = logits_and_layers(self.student, x, True, student_layers)
            kd = ops.mean(
                self.head_rules.soft_target_loss(logits, teacher_logits, self.temperature)
            )
            weights = ops.cast(label_weights, "float32")
            per_row = self.head_rules.hard_target_loss(labels, logits)
            hard = ops.sum(per_row * weights) / ops.maximum(ops.sum(weights), 1.0)
            mse = ops.convert_to_tensor(0.0)
            if hidden:
                mse = ops.mean(
                    ops.stack(
                        [
                            ops.mean(ops.square(ops.cast(s, "float32") - tf.stop_gradient(t)))
                            for s, t in zip(states, teacher_states, strict=True)
                        ]
                    )
                )
            loss = (
                self.kd_loss_weight * kd
                + self.hard_label_weight * hard
                + self.hidden_loss_weight * mse
            )
        gradients = tape.gradient(loss, trainable)
        self.optimizer.apply_gradients(zip(gradients, trainable, strict=True))
        for name, value in (
            ("loss", loss),
            ("kd_loss", kd),
            ("hard_loss", hard),
            ("hidden_loss", mse),
        ):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
