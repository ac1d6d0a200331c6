"""A backbone with its masked-LM head: logits only at the masked positions.

google-research/bert's max_predictions_per_seq: the head gathers the [batch, P] masked positions
before the output layer, so the vocabulary-sized matmul runs on P rows per sequence instead of
every token (at small sizes that layer otherwise dominates the step). The loss is the mean
cross-entropy over real targets (sum of weighted losses / sum of weights, as Google computes
it); accuracy likewise.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras
import tensorflow as tf
from keras import ops

from classifier.pretraining.mlm_head import (
    MaskedLMHead,
    brightmart_projection,
    word_embedding_table,
)
from classifier.replica_build import ReplicaBatchBuild
from classifier.trainable_tape import trainable_tape

BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


class TokenPredictionModel(ReplicaBatchBuild, keras.Model):
    """A model that predicts some tokens' labels (masked-LM targets, tags): data are
    (inputs, targets [B, N], weights [B, N]) and ``call`` returns logits [B, N, classes]. The
    loss is the weighted mean cross-entropy; loss, accuracy and the tokens seen are tracked."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.token_counter = keras.metrics.Sum(name="tokens")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker, self.token_counter]

    def _step_figures(self, x, targets, weights, logits):
        targets = ops.cast(targets, "int32")
        weights = ops.cast(weights, "float32")
        per_target = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        total = ops.sum(weights)
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            # The global batch's mean: every replica divides by all replicas' targets, and the
            # optimizer sums the replicas' gradients (a mean of means would weigh them wrongly).
            total = replica.all_reduce("SUM", total)
        loss = ops.sum(per_target * weights) / ops.maximum(total, 1e-5)
        correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), targets), "float32")
        self.loss_tracker.update_state(per_target, sample_weight=weights)
        self.accuracy_tracker.update_state(correct, sample_weight=weights)
        self.token_counter.update_state(ops.sum(ops.cast(x["padding_mask"], "float32")))
        return loss

    def train_step(self, data):
        x, targets, weights = data
        trainable = self.trainable_weights
        with trainable_tape(trainable) as tape:
            logits = self(x, training=True)
            loss = self._step_figures(x, targets, weights, logits)
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, trainable)
        self.optimizer.apply_gradients(zip(gradients, trainable, strict=True))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, targets, weights = data
        self._step_figures(x, targets, weights, self(x, training=False))
        return {m.name: m.result() for m in self.metrics}


class MaskedLMModel(TokenPredictionModel):
    """``backbone`` (or an adapted backbone) + ``head``; inputs add masked_positions [B, P].

    ``fuse`` maps a wider sequence output (a K-Adapter backbone concatenates its knowledge
    adapters' states) back to the hidden width the head expects. ``table_of`` is the backbone
    whose embeddings the head is tied to (the base backbone under an adapter wrapper).
    """

    def __init__(
        self,
        backbone: keras.Model,
        head: MaskedLMHead,
        table_of: keras.Model | None = None,
        fuse: keras.layers.Layer | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # The pooler serves next-sentence prediction, which this pretraining leaves out
        # (RoBERTa-style): it keeps the values it came with.
        pooler = getattr(table_of or backbone, "pooler", None)
        if pooler is not None:
            for variable in pooler.weights:
                variable.trainable = False
        self.backbone = backbone
        self.head = head
        self.fuse = fuse
        base = table_of or backbone
        # Off Keras' tracking: these are the backbone's variables, not the head's.
        self._tied = SimpleNamespace(
            table=word_embedding_table(base), projection=brightmart_projection(base)
        )

    def call(self, inputs, training=None):
        outputs = self.backbone({k: inputs[k] for k in BACKBONE_INPUTS}, training=training)
        sequence = outputs["sequence_output"]
        if self.fuse is not None:
            sequence = self.fuse(sequence)
        positions = ops.cast(inputs["masked_positions"], "int32")
        gathered = tf.gather(sequence, positions, batch_dims=1)  # [B, P, H]
        batch, predictions = ops.shape(positions)[0], ops.shape(positions)[1]
        flat = ops.reshape(gathered, (-1, ops.shape(gathered)[-1]))
        logits = self.head(flat, self._tied.table, self._tied.projection)
        return ops.reshape(logits, (batch, predictions, -1))


class TokenTaggingModel(TokenPredictionModel):
    """A tag for every token from the backbone's sequence output (K-Adapter's linguistic
    knowledge task: each token predicts its word's part of speech and its place in the word)."""

    def __init__(
        self,
        backbone: keras.Model,
        num_labels: int,
        feature_size: int,
        dropout: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.dropout = keras.layers.Dropout(dropout)
        self.classifier = keras.layers.Dense(
            num_labels,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="tagger",
        )
        self.classifier.build((None, None, feature_size))  # before the optimizer is built

    def call(self, inputs, training=None):
        outputs = self.backbone({k: inputs[k] for k in BACKBONE_INPUTS}, training=training)
        features = self.dropout(outputs["sequence_output"], training=training)
        return ops.cast(self.classifier(features), "float32")


def load_masked_lm(model_dir, allow_pickle: bool = False, dtype=None) -> tuple[MaskedLMModel, bool]:
    """The backbone in ``model_dir`` with its masked-LM head; the flag says whether the head
    came from the checkpoint (False: none there, a new one was initialised)."""
    from classifier.checkpoints.loader import load_pretrained

    pretrained = load_pretrained(model_dir, allow_pickle=allow_pickle, dtype=dtype)
    return masked_lm_of(pretrained, allow_pickle)


def masked_lm_of(pretrained, allow_pickle: bool = False) -> tuple[MaskedLMModel, bool]:
    """load_masked_lm for a backbone already loaded (``load_pretrained``'s result), whose
    files (the vocab, the checkpoint) the caller keeps using."""
    from classifier.checkpoints.loader import open_checkpoint
    from classifier.pretraining.head_weights import load_head
    from classifier.pretraining.mlm_head import head_for

    tensors, _ = open_checkpoint(pretrained.files, allow_pickle)
    head = head_for(pretrained.backbone, pretrained.config)
    head.build()
    loaded = load_head(head, pretrained.scheme.name, tensors, str(pretrained.files.checkpoint))
    return MaskedLMModel(pretrained.backbone, head, name="masked_lm"), loaded
