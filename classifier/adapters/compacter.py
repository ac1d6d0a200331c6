"""Compacter (Karimi Mahabadi et al. 2021): bottleneck adapters whose projections are
parameterised hypercomplex multiplication (PHM) layers.

W = sum_i A_i kron B_i, with the n x n "rules" A_i shared by every adapter in the model and
each B_i = s_i t_i^T of low rank r. Compacter++ (the default placement) has one adapter per
layer after the FFN. Defaults follow adapter-hub's CompacterPlusPlusConfig: n = 4, rank 1,
reduction factor 32, GELU. The up-projection's t starts at zero, so the model is unchanged at
initialisation; the rules start near the identity scale (normal, std 1/n).
"""

from __future__ import annotations

from types import SimpleNamespace

import keras
from keras import ops

from classifier.adapter_config.base import register_adapter_module
from classifier.adapters.bottleneck_adapters import BottleneckModule
from classifier.backbones.activations import get_activation


class PHMRules(keras.layers.Layer):
    """The n rule matrices (n x n each) for down- and up-projections, shared model-wide."""

    def __init__(self, phm_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.phm_dim = phm_dim

    def build(self, input_shape=None):
        n = self.phm_dim
        init = keras.initializers.RandomNormal(stddev=1.0 / n)
        self.down_rule = self.add_weight(shape=(n, n, n), initializer=init, name="down_rule")
        self.up_rule = self.add_weight(shape=(n, n, n), initializer=init, name="up_rule")


class PHMDense(keras.layers.Layer):
    """x W + b with W = sum_i rule_i kron (left_i right_i): in*r + r*out + out parameters."""

    def __init__(self, in_size, out_size, rules: PHMRules, role: str, rank: int, **kwargs):
        super().__init__(**kwargs)
        self.in_size, self.out_size, self.role, self.rank = in_size, out_size, role, rank
        self._shared = SimpleNamespace(rules=rules)  # not tracked here: owned by the module

    def build(self, input_shape=None):
        n, r = self._shared.rules.phm_dim, self.rank
        p, q = self.in_size // n, self.out_size // n
        glorot = keras.initializers.GlorotUniform()
        self.left = self.add_weight(shape=(n, p, r), initializer=glorot, name="left")
        right_init = "zeros" if self.role == "up" else glorot
        self.right = self.add_weight(shape=(n, r, q), initializer=right_init, name="right")
        self.bias = self.add_weight(shape=(self.out_size,), initializer="zeros", name="bias")

    def kernel(self):
        rules = self._shared.rules
        rule = rules.down_rule if self.role == "down" else rules.up_rule
        factors = ops.matmul(self.left, self.right)  # [n, p, q]
        w = ops.einsum("iac,ibd->abcd", rule, factors)  # [n, p, n, q]
        return ops.reshape(w, (self.in_size, self.out_size))

    def call(self, x):
        return ops.matmul(x, self.kernel()) + self.bias


class PHMBottleneckAdapter(keras.layers.Layer):
    """x + up(dropout(act(down(x)))) with PHM projections (BottleneckAdapter's interface)."""

    def __init__(
        self,
        hidden_size: int,
        size: int,
        rules: PHMRules,
        phm_rank: int = 1,
        activation: str = "gelu_tanh",
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size, self.size = hidden_size, size
        self.activation = get_activation(activation)
        self.down = PHMDense(
            hidden_size, size, rules, "down", phm_rank, name="down", dtype=self.dtype_policy
        )
        self.up = PHMDense(
            size, hidden_size, rules, "up", phm_rank, name="up", dtype=self.dtype_policy
        )
        self.dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape=None):
        self.down.build()
        self.up.build()

    def delta(self, x, training=None):
        return self.up(self.dropout(self.activation(self.down(x)), training=training))

    def call(self, x, training=None):
        return x + self.delta(x, training)


@register_adapter_module("compacter")
class CompacterModule(BottleneckModule):
    """Bottleneck adapters of PHM layers that share one set of rules."""

    def make_shared(self, sites, dtype):
        rules = PHMRules(self.config.phm_dim, name="phm_rules", dtype=dtype)
        rules.build()
        return rules

    def make_adapter(self, hidden_size, size, name, shared, dtype):
        return PHMBottleneckAdapter(
            hidden_size,
            size,
            shared,
            phm_rank=self.config.phm_rank,
            activation=self.config.activation,
            dropout=self.config.dropout,
            name=name,
            dtype=dtype,
        )
