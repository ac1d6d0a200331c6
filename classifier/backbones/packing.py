"""Padding-free execution: a batch of sequences as one [tokens, hidden] matrix.

Every dense layer of a transformer (Q/K/V, attention output, FFN: nearly all of its FLOPs)
acts on each token on its own, so it can run on the real tokens of the whole batch stacked
together, never on padding (but for a few filler rows that round the count up, see below). Only attention needs the [batch, length] layout; a PackedPlan
holds the index tensors that move activations between the two layouts around it. With mixed
text lengths this removes most of the work a padded batch wastes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

# Token rows and sequence lengths are rounded up to a few sizes ("buckets"). oneDNN builds a
# kernel (a "primitive") per matrix shape and caches it; without rounding, nearly every request
# brings a new token count and pays that creation again (60-100 ms per new shape, profiled on
# BERT-base). The step is 16 rows. Multiples of 4 below 128 rows were tried (fewer filler rows
# for a short text) and measured 1.5x slower on BERT-base short reviews, most likely because
# their first shape (4 rows) fixed the frozen weights' layout (see Predictor._build_kernels);
# not re-measured with a better first shape (benchmarks/RESULTS.md, "Levers"). The Predictor
# builds the one-text buckets' kernels at load (``bucket_sizes``).
SHAPE_MULTIPLE = 16
# One text up to this many tokens has its kernels built at load (bucket_sizes).
WARM_LIMIT = 128


def _round_up(value, multiple: int):
    return (value + multiple - 1) // multiple * multiple


def bucket(value: tf.Tensor, multiple: int | None = None) -> tf.Tensor:
    """``value`` rounded up to its shape bucket: a multiple of ``multiple`` (default 16)."""
    return _round_up(value, multiple or SHAPE_MULTIPLE)


def bucket_sizes(max_seq_length: int = WARM_LIMIT) -> list[int]:
    """The row counts one text of up to ``max_seq_length`` tokens (at most WARM_LIMIT) can
    bring: what the Predictor builds kernels for at load."""
    top = _round_up(min(max_seq_length, WARM_LIMIT), SHAPE_MULTIPLE)
    return list(range(SHAPE_MULTIPLE, top + 1, SHAPE_MULTIPLE))


@dataclass(frozen=True)
class PackedPlan:
    """Index tensors for a batch of ``row_lengths`` sequences (all int32).

    The flat layout has R rows: the T real tokens, sequence after sequence, then R - T filler
    rows (R is T rounded up to its bucket, see ``bucket``). The padded layout is [B, S] with S
    the longest sequence rounded up the same way. Filler rows and padding slots hold copies of real
    activations: padding slots are masked as attention keys and their query outputs are
    dropped; filler rows are never read back as results.
    """

    row_lengths: tf.Tensor  # [B]
    padding_mask: tf.Tensor  # [B, S], 1 for real tokens
    positions: tf.Tensor  # [R], position of each token in its sequence (0 for filler rows)
    first_token: tf.Tensor  # [B], flat index of each sequence's first token ([CLS])
    to_padded: tf.Tensor  # [B * S], flat row of each padded slot (0 for padding slots)
    to_flat: tf.Tensor  # [R], padded slot (b * S + s) of each flat row (0 for filler rows)
    num_tokens: tf.Tensor  # T
    num_rows: tf.Tensor  # R

    @classmethod
    def from_row_lengths(cls, row_lengths: tf.Tensor, multiple: int | None = None) -> PackedPlan:
        row_lengths = tf.cast(row_lengths, tf.int32)
        longest = tf.reduce_max(tf.concat([row_lengths, [0]], 0))
        length = bucket(longest, multiple)
        mask = tf.sequence_mask(row_lengths, length, dtype=tf.int32)
        starts = tf.cumsum(row_lengths, exclusive=True)
        total = tf.reduce_sum(row_lengths)
        rows = bucket(total, multiple)
        columns = tf.range(length, dtype=tf.int32)
        slot_index = starts[:, None] + columns[None, :]
        to_padded = tf.reshape(tf.where(mask > 0, slot_index, 0), [-1])
        real_slots = tf.cast(tf.where(tf.reshape(mask, [-1]) > 0)[:, 0], tf.int32)
        filler = tf.zeros([rows - total], tf.int32)
        to_flat = tf.concat([real_slots, filler], 0)
        positions = tf.concat(
            [tf.gather(tf.tile(columns, [tf.size(row_lengths)]), real_slots), filler], 0
        )
        return cls(row_lengths, mask, positions, starts, to_padded, to_flat, total, rows)

    def pad_ids(self, flat_ids: tf.Tensor) -> tf.Tensor:
        """[T] ids -> [R] ids, filler rows get id 0."""
        return tf.concat([flat_ids, tf.zeros([self.num_rows - self.num_tokens], flat_ids.dtype)], 0)

    def pad(self, flat: tf.Tensor) -> tf.Tensor:
        """[R, ...] -> [B, S, ...]."""
        padded = tf.gather(flat, self.to_padded)
        shape = tf.concat([tf.shape(self.padding_mask), tf.shape(flat)[1:]], 0)
        return tf.reshape(padded, shape)

    def flatten(self, padded: tf.Tensor) -> tf.Tensor:
        """[B, S, ...] -> [R, ...]."""
        rows = tf.reshape(padded, tf.concat([[-1], tf.shape(padded)[2:]], 0))
        return tf.gather(rows, self.to_flat)


def packed_encoder(
    backbone,
    token_ids: tf.RaggedTensor,
    segment_ids: tf.RaggedTensor,
    training=False,
    on_layer: Callable[[int, tf.Tensor], None] | None = None,
) -> tuple[tf.Tensor, PackedPlan]:
    """Embeddings and every block without padding: the final [R, H] states and the plan.

    Works for any backbone that exposes ``embeddings`` (called with positions) and
    ``block_sequence()`` (the blocks in the order they run, with their layer positions).
    ``on_layer(layer_index, states)`` sees the states after every block call (K-Adapter taps
    them).
    """
    plan = PackedPlan.from_row_lengths(token_ids.row_lengths())
    x = backbone.embeddings(
        plan.pad_ids(tf.cast(token_ids.flat_values, tf.int32)),
        plan.pad_ids(tf.cast(segment_ids.flat_values, tf.int32)),
        positions=plan.positions,
        training=training,
    )
    for block, layer_index in backbone.block_sequence():
        x = block(x, None, training=training, layer_index=layer_index, packed=plan)
        if on_layer is not None:
            on_layer(layer_index, x)
    return x, plan


def ragged_tokens(flat: tf.Tensor, plan: PackedPlan) -> tf.RaggedTensor:
    """[R, ...] flat states -> [B, (n), ...], the real tokens of each sequence."""
    return tf.RaggedTensor.from_row_lengths(
        flat[: plan.num_tokens], tf.cast(plan.row_lengths, tf.int64)
    )


def packed_backbone_outputs(
    backbone, token_ids: tf.RaggedTensor, segment_ids: tf.RaggedTensor, training=False
) -> dict[str, tf.Tensor | tf.RaggedTensor]:
    """The backbone's outputs computed without padding (``pooler`` applied to [CLS]).

    Returns pooled_output [B, H] and sequence_output as a RaggedTensor [B, (n), H].
    """
    x, plan = packed_encoder(backbone, token_ids, segment_ids, training)
    pooled = backbone.pooler(tf.gather(x, plan.first_token))
    return {"sequence_output": ragged_tokens(x, plan), "pooled_output": pooled}
