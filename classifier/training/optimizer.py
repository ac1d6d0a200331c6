"""AdamW with BERT's fine-tuning recipe: warmup then linear decay, no decay on LayerNorm/bias;
optionally a learning rate per layer and an exponential moving average of the weights."""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf
from keras import ops

# Variables matched by these name fragments get no weight decay (google-research/bert excludes
# "LayerNorm", "layer_norm" and "bias"; our LayerNorms are named *layer_norm*).
NO_DECAY_NAMES = ["layer_norm", "LayerNorm", "bias", "gamma", "beta"]


@keras.saving.register_keras_serializable(package="classifier")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then linear decay to 0.

    Steps are optimizer updates. With gradient accumulation Keras calls the schedule with the
    batch count, so ``batches_per_step`` turns batches into updates: every batch of an update
    sees that update's rate, as one N-times larger batch would."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, batches_per_step: int = 1):
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"warmup_steps must be in [0, {total_steps}], got {warmup_steps}")
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.batches_per_step = int(batches_per_step)

    def __call__(self, step):
        if self.batches_per_step > 1:
            step = ops.floor_divide(step, self.batches_per_step)
        step = ops.cast(step, "float32")
        warmup = ops.cast(max(self.warmup_steps, 1), "float32")
        decay_span = ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        rising = self.peak * step / warmup
        falling = self.peak * ops.maximum(0.0, (self.total_steps - step) / decay_span)
        return ops.where(step < self.warmup_steps, rising, falling)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "batches_per_step": self.batches_per_step,
        }


class AdamW(keras.optimizers.AdamW):
    """Keras's AdamW, but under a strategy of several replicas the global-norm clip applies to
    the global batch's gradient, as on one device. Keras clips each replica's gradient before
    summing them, so a clip that engages would change the run with the replica count; here the
    replicas' gradients are summed first, clipped, and handed on divided by the replica count
    (Keras's own sum then restores the clipped total)."""

    def _clip_gradients(self, grads):
        replica = tf.distribute.get_replica_context()
        count = replica.num_replicas_in_sync if replica is not None else 1
        if count == 1 or not self.global_clipnorm:
            return super()._clip_gradients(grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        summed = replica.all_reduce("SUM", [tf.convert_to_tensor(grads[i]) for i in present])
        clipped, _ = tf.clip_by_global_norm(summed, self.global_clipnorm)
        out = list(grads)
        for i, g in zip(present, clipped, strict=True):
            out[i] = g / count
        return out


class LayerwiseAdamW(AdamW):
    """AdamW whose step (and decoupled weight decay, as a PyTorch parameter group's) is scaled
    per variable by ``rate_multiplier(variable.path)`` (classifier.training.layer_rates).

    Keras optimizers have one learning rate; this subclass changes only the rate each
    variable's update receives, so clipping, EMA and the schedule stay Keras's own.
    """

    def __init__(self, rate_multiplier: Callable[[str], float], **kwargs):
        super().__init__(**kwargs)
        self._rate_multiplier = rate_multiplier
        self._multipliers: list[float] = []

    def build(self, variables):
        super().build(variables)
        self._multipliers = [float(self._rate_multiplier(v.path)) for v in variables]

    def multiplier_of(self, variable) -> float:
        return self._multipliers[self._get_variable_index(variable)]

    def update_step(self, gradient, variable, learning_rate):
        scaled = ops.multiply(learning_rate, self.multiplier_of(variable))
        super().update_step(gradient, variable, scaled)

    def _apply_weight_decay(self, variables):
        """Keras's TensorFlow AdamW decay (one update per variable, through the distribution
        strategy so mirrored copies stay equal), at each variable's own rate."""
        if self.weight_decay is None:
            return

        def decay_all(distribution, variables):
            def decay(variable):
                if self._use_weight_decay(variable):
                    rate = tf.cast(self.learning_rate, variable.dtype) * self.multiplier_of(
                        variable
                    )
                    variable.assign_sub(
                        variable * tf.cast(self.weight_decay, variable.dtype) * rate
                    )

            for variable in variables:
                raw = variable.value if isinstance(variable, keras.Variable) else variable
                distribution.extended.update(raw, decay, group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(
            decay_all, tf.distribute.get_strategy(), variables
        )


def create_optimizer(
    learning_rate: float,
    total_steps: int,
    warmup_proportion: float = 0.1,
    weight_decay: float = 0.01,
    clip_norm: float | None = 1.0,
    epsilon: float = 1e-6,
    warmup_steps: int | None = None,
    rate_multiplier: Callable[[str], float] | None = None,
    ema_decay: float | None = None,
    gradient_accumulation_steps: int = 1,
) -> keras.optimizers.Optimizer:
    """AdamW (beta1 0.9, beta2 0.999, eps 1e-6 as google-research/bert) with global-norm
    clipping at ``clip_norm``. ``rate_multiplier`` (variable path -> factor) gives each
    variable its own rate; ``ema_decay`` keeps Keras's moving average of the weights
    (``use_ema``), which replaces the weights when training ends.

    ``gradient_accumulation_steps`` N > 1 uses Keras's own option: gradients of N batches are
    averaged into one update (clipping and weight decay once per update); ``total_steps`` and
    ``warmup_steps`` still count batches.

    Unlike google-research/bert's AdamWeightDecayOptimizer, Keras' AdamW applies Adam's bias
    correction (as transformers' AdamW does); with warmup the two differ only in the first steps.
    """
    if warmup_steps is None:  # fine-tuning gives a proportion, pretraining a step count
        warmup_steps = int(round(total_steps * warmup_proportion))
    n = gradient_accumulation_steps
    updates = max(1, -(-total_steps // n))
    schedule = WarmupLinearDecay(learning_rate, updates, min(updates, warmup_steps // n), n)
    options = dict(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=epsilon,
        global_clipnorm=clip_norm,
    )
    if ema_decay is not None:
        options.update(use_ema=True, ema_momentum=ema_decay)
    if n > 1:
        options.update(gradient_accumulation_steps=n)
    if rate_multiplier is None:
        optimizer = AdamW(**options)
    else:
        optimizer = LayerwiseAdamW(rate_multiplier, **options)
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY_NAMES)
    return optimizer
