"""Padding-free execution: a batch of sequences as one [tokens, hidden] matrix.

Every dense layer of a transformer (Q/K/V, attention output, FFN: nearly all of its FLOPs)
acts on each token on its own, so it can run on the real tokens of the whole batch stacked
together, never on padding. Only attention needs the [batch, length] layout; a PackedPlan
holds the index tensors that move activations between the two layouts around it. With mixed
text lengths this removes most of the work a padded batch wastes.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class PackedPlan:
    """Index tensors for a batch of ``row_lengths`` sequences (all int32)."""

    row_lengths: tf.Tensor  # [B]
    padding_mask: tf.Tensor  # [B, S], 1 for real tokens
    positions: tf.Tensor  # [T], position of each token in its sequence
    first_token: tf.Tensor  # [B], flat index of each sequence's first token ([CLS])
    to_padded: tf.Tensor  # [B * S], flat index per padded slot (T for a padding slot)
    to_flat: tf.Tensor  # [T], padded slot (b * S + s) of each token

    @classmethod
    def from_row_lengths(cls, row_lengths: tf.Tensor) -> PackedPlan:
        row_lengths = tf.cast(row_lengths, tf.int32)
        length = tf.maximum(tf.reduce_max(tf.concat([row_lengths, [0]], 0)), 0)
        mask = tf.sequence_mask(row_lengths, length, dtype=tf.int32)
        starts = tf.cumsum(row_lengths, exclusive=True)
        total = tf.reduce_sum(row_lengths)
        columns = tf.range(length, dtype=tf.int32)
        slot_index = starts[:, None] + columns[None, :]
        to_padded = tf.reshape(tf.where(mask > 0, slot_index, total), [-1])
        to_flat = tf.cast(tf.where(tf.reshape(mask, [-1]) > 0)[:, 0], tf.int32)
        positions = tf.gather(tf.tile(columns, [tf.size(row_lengths)]), to_flat)
        return cls(row_lengths, mask, positions, starts, to_padded, to_flat)

    def pad(self, flat: tf.Tensor) -> tf.Tensor:
        """[T, ...] -> [B, S, ...], zeros in padding slots."""
        zero = tf.zeros_like(flat[:1])
        padded = tf.gather(tf.concat([flat, zero], 0), self.to_padded)
        shape = tf.concat([tf.shape(self.padding_mask), tf.shape(flat)[1:]], 0)
        return tf.reshape(padded, shape)

    def flatten(self, padded: tf.Tensor) -> tf.Tensor:
        """[B, S, ...] -> [T, ...], the real tokens only."""
        rows = tf.reshape(padded, tf.concat([[-1], tf.shape(padded)[2:]], 0))
        return tf.gather(rows, self.to_flat)


def packed_backbone_outputs(
    backbone, token_ids: tf.RaggedTensor, segment_ids: tf.RaggedTensor, training=False
) -> dict[str, tf.Tensor | tf.RaggedTensor]:
    """The backbone's outputs computed without padding.

    Works for any backbone that exposes ``embeddings`` (called with positions), ``pooler`` and
    ``block_sequence()`` (the blocks in the order they run, with their layer positions).
    Returns pooled_output [B, H] and sequence_output as a RaggedTensor [B, (n), H].
    """
    plan = PackedPlan.from_row_lengths(token_ids.row_lengths())
    x = backbone.embeddings(
        tf.cast(token_ids.flat_values, tf.int32),
        tf.cast(segment_ids.flat_values, tf.int32),
        positions=plan.positions,
        training=training,
    )
    for block, layer_index in backbone.block_sequence():
        x = block(x, None, training=training, layer_index=layer_index, packed=plan)
    pooled = backbone.pooler(tf.gather(x, plan.first_token))
    sequence = tf.RaggedTensor.from_row_lengths(x, tf.cast(plan.row_lengths, tf.int64))
    return {"sequence_output": sequence, "pooled_output": pooled}
