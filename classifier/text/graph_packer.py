"""``pack`` (classifier.text.packer) in the graph: a batch of ragged ids -> padded int32 rows,
with the same closed-form truncation, so the two cannot differ."""

from __future__ import annotations

import tensorflow as tf

from classifier.text.packer import _check_length


def _kept(rt: tf.RaggedTensor, keep: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(values, row, position) of the first keep[i] items of each row, on flat tensors
    (ragged broadcasting would cost seconds of tracing for the same result)."""
    rows = rt.value_rowids()
    positions = tf.range(tf.size(rows, out_type=tf.int64)) - tf.gather(rt.row_starts(), rows)
    mask = positions < tf.gather(keep, rows)
    return (
        tf.boolean_mask(rt.values, mask),
        tf.boolean_mask(rows, mask),
        tf.boolean_mask(positions, mask),
    )


@tf.autograph.experimental.do_not_convert
def pack_ragged(
    ids_a: tf.RaggedTensor,
    ids_b: tf.RaggedTensor | None,
    max_seq_length: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    pad_to_max: bool = False,
) -> dict[str, tf.Tensor]:
    """Graph ``pack`` of a batch: token_ids, segment_ids, padding_mask as int32 [batch, L].

    L is the longest packed row of the batch (dynamic padding), or ``max_seq_length`` with
    ``pad_to_max``. padding_mask is 1 on real tokens (including [CLS]/[SEP]).
    """
    _check_length(max_seq_length, pair=ids_b is not None)
    ids_a = tf.cast(ids_a, tf.int32).with_row_splits_dtype(tf.int64)
    la = ids_a.row_lengths()
    if ids_b is None:
        new_la = tf.minimum(la, max_seq_length - 2)
        new_lb = has_b = tf.zeros_like(la)
    else:
        ids_b = tf.cast(ids_b, tf.int32).with_row_splits_dtype(tf.int64)
        lb = ids_b.row_lengths()
        tf.debugging.assert_equal(tf.size(la), tf.size(lb), "text_a and text_b batch sizes differ")
        has_b = tf.cast(lb > 0, la.dtype)
        budget = tf.where(lb > 0, tf.cast(max_seq_length - 3, la.dtype), max_seq_length - 2)
        kept_b = tf.minimum(lb, tf.maximum(budget - la, budget // 2))
        over = la + lb > budget
        new_lb = tf.where(over, kept_b, lb)
        new_la = tf.where(over, budget - kept_b, la)
    lengths = 2 + new_la + new_lb + has_b
    batch = tf.size(la, out_type=tf.int64)
    width = (
        tf.constant(max_seq_length, tf.int64)
        if pad_to_max
        else tf.reduce_max(tf.concat([lengths, [0]], 0))
    )
    rows = tf.range(batch)

    # Scatter every token to its (row, column): [CLS] a [SEP] b [SEP].
    a_values, a_rows, a_pos = _kept(ids_a, new_la)
    values = [tf.fill([batch], cls_id), a_values, tf.fill([batch], sep_id)]
    indices = [tf.stack([rows, tf.zeros_like(rows)], 1), tf.stack([a_rows, a_pos + 1], 1)]
    indices.append(tf.stack([rows, new_la + 1], 1))
    if ids_b is not None:
        b_values, b_rows, b_pos = _kept(ids_b, new_lb)
        b_start = tf.gather(new_la, b_rows) + 2
        with_b = tf.boolean_mask(rows, has_b > 0)
        values += [b_values, tf.fill(tf.shape(with_b), sep_id)]
        indices += [tf.stack([b_rows, b_start + b_pos], 1)]
        indices += [tf.stack([with_b, tf.gather(lengths, with_b) - 1], 1)]
    token_ids = tf.tensor_scatter_nd_update(
        tf.fill(tf.stack([batch, width]), tf.constant(pad_id, tf.int32)),
        tf.concat(indices, 0),
        tf.cast(tf.concat(values, 0), tf.int32),
    )
    columns = tf.range(width)[tf.newaxis, :]
    real = columns < lengths[:, tf.newaxis]
    second = (columns >= (new_la + 2)[:, tf.newaxis]) & real
    return {
        "token_ids": token_ids,
        "segment_ids": tf.cast(second, tf.int32),
        "padding_mask": tf.cast(real, tf.int32),
    }
