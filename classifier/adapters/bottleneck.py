"""The bottleneck adapter (Houlsby et al. 2019): down-projection, nonlinearity, up-projection,
added to its input. The up-projection starts at zero, so a new adapter is the identity."""

from __future__ import annotations

import keras

from classifier.backbones.activations import get_activation


def down_initializer(init_scale: float | None) -> keras.initializers.Initializer:
    """Kaiming-uniform (PEFT/MAM default) or, given a scale, Houlsby's truncated normal."""
    if init_scale is None:
        return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")
    return keras.initializers.TruncatedNormal(stddev=init_scale)


@keras.saving.register_keras_serializable(package="classifier")
class BottleneckAdapter(keras.layers.Layer):
    """x + up(dropout(act(down(x)))), acting on the last axis of width ``hidden_size``."""

    def __init__(
        self,
        hidden_size: int,
        size: int,
        activation: str = "gelu_tanh",
        dropout: float = 0.0,
        init_scale: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.size = size
        self.activation_name = activation
        self.dropout_rate = dropout
        self.init_scale = init_scale
        self.activation = get_activation(activation)
        self.down = keras.layers.Dense(
            size,
            kernel_initializer=down_initializer(init_scale),
            name="down",
            dtype=self.dtype_policy,
        )
        self.up = keras.layers.Dense(
            hidden_size, kernel_initializer="zeros", name="up", dtype=self.dtype_policy
        )
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape=None):
        self.down.build((None, None, self.hidden_size))
        self.up.build((None, None, self.size))

    def delta(self, x, training=None):
        """What the adapter adds to its input."""
        return self.up(self.dropout(self.activation(self.down(x)), training=training))

    def call(self, x, training=None):
        return x + self.delta(x, training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            size=self.size,
            activation=self.activation_name,
            dropout=self.dropout_rate,
            init_scale=self.init_scale,
        )
        return config
