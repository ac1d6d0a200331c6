"""Masked-language-model targets, drawn anew every time a sequence is seen (dynamic masking).

Whole-word masking as Chinese-BERT-wwm: a share ``masked_lm_prob`` (15%) of the words of a
sequence is chosen, in random order and as long as their tokens fit ``max_predictions``, and
every token of a chosen word is a target. Each target token is then replaced by [MASK] with
probability 0.8, by a random token with 0.1, and left as it is with 0.1, decided per token as
google-research/bert does. Token masking (``--masking=token``) is the same with every token a
word of its own. [CLS], [SEP] and padding (word -1) are never chosen.

Pure TensorFlow with stateless random ops keyed by (seed, the sequence's running index): the
same run masks the same way, and a resumed run continues with exactly the masks it would have
drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

MASK_PROB = 0.8
RANDOM_PROB = 0.1


@dataclass(frozen=True)
class MaskingConfig:
    mask_id: int
    random_ids: tuple[int, ...]  # the tokens a "random token" replacement draws from
    masked_lm_prob: float = 0.15
    max_predictions: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.masked_lm_prob < 1:
            raise ValueError("masked_lm_prob must be in (0, 1)")
        if self.max_predictions < 1:
            raise ValueError("max_predictions_per_seq must be at least 1")
        if not self.random_ids:
            raise ValueError("no token to draw random replacements from")


def random_replacement_ids(vocab: list[str]) -> tuple[int, ...]:
    """Every id but the special and reserved tokens ([PAD], [unusedN], [CLS], <S>, ...)."""
    return tuple(
        i
        for i, token in enumerate(vocab)
        if not (token.startswith("[") and token.endswith("]"))
        and not (token.startswith("<") and token.endswith(">"))
    )


def mask_sequence(
    token_ids: tf.Tensor, word_ids: tf.Tensor, seed: tf.Tensor, config: MaskingConfig
) -> dict[str, tf.Tensor]:
    """One sequence's masked input ids and its targets.

    token_ids, word_ids: int32 [n]; seed: int32/int64 [2]. Returns input_ids [n] (masked),
    masked_positions, masked_ids (int32 [max_predictions], zero-padded) and masked_weights
    (float32 [max_predictions], 1 for real targets).
    """
    token_ids = tf.cast(token_ids, tf.int32)
    word_ids = tf.cast(word_ids, tf.int32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
    num_words = tf.reduce_max(tf.concat([word_ids, [-1]], 0)) + 1
    in_word = word_ids >= 0
    wanted = tf.cast(tf.round(tf.cast(num_words, tf.float32) * config.masked_lm_prob), tf.int32)
    wanted = tf.minimum(tf.maximum(wanted, 1), num_words)

    order = tf.argsort(tf.random.stateless_uniform([num_words], seeds[0]))
    sizes = tf.math.bincount(
        tf.boolean_mask(word_ids, in_word), minlength=num_words, maxlength=num_words
    )
    fits = tf.cumsum(tf.gather(sizes, order)) <= config.max_predictions
    take = tf.logical_and(tf.range(num_words) < wanted, fits)
    chosen_word = tf.scatter_nd(order[:, None], take, [num_words])
    chosen = tf.logical_and(in_word, tf.gather(chosen_word, tf.maximum(word_ids, 0)))

    n = tf.shape(token_ids)[0]
    draw = tf.random.stateless_uniform([n], seeds[1])
    candidates = tf.constant(config.random_ids, tf.int32)
    picks = tf.random.stateless_uniform(
        [n], seeds[2], minval=0, maxval=len(config.random_ids), dtype=tf.int32
    )
    replacement = tf.where(
        draw < MASK_PROB,
        tf.fill([n], config.mask_id),
        tf.where(draw < MASK_PROB + RANDOM_PROB, tf.gather(candidates, picks), token_ids),
    )
    input_ids = tf.where(chosen, replacement, token_ids)

    positions = tf.cast(tf.where(chosen)[:, 0], tf.int32)
    count = tf.shape(positions)[0]
    pad = [[0, config.max_predictions - count]]
    return {
        "input_ids": input_ids,
        "masked_positions": tf.pad(positions, pad),
        "masked_ids": tf.pad(tf.gather(token_ids, positions), pad),
        "masked_weights": tf.pad(tf.ones([count], tf.float32), pad),
    }
