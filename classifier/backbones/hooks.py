"""Named hook points inside a transformer block, filled from outside by adapters.

A Keras layer locks its state once built, and the backbone must not know about adapters, so a
block only *calls* whatever callables sit at its hook points. The adapters themselves are Keras
layers owned (and tracked, trained and saved) by the model that applies them. This table is a
plain object on purpose: Keras does not track it, so it never drags adapter weights into the
backbone's own weights or config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Where an adapter may act, in the order a block reaches them. Each hook is called as
# hook(inputs, outputs, training=..., layer_index=...) and returns the new outputs;
# layer_index is the position of the block in the stack (ALBERT calls one shared block at
# several positions, so per-layer adapters key on it rather than on the block):
#   attention_query / attention_value: inputs = the block input, outputs = the projection;
#   attention_output: after the attention output projection and dropout, before residual + LN;
#   ffn_output: after the FFN output projection and dropout, before residual + LN.
HOOK_POINTS = ("attention_query", "attention_value", "attention_output", "ffn_output")

Hook = Callable[..., Any]


class HookTable:
    """The callables registered at each hook point of one transformer block."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = {name: [] for name in HOOK_POINTS}

    def add(self, point: str, hook: Hook) -> None:
        self._check(point)
        self._hooks[point].append(hook)

    def remove(self, point: str, hook: Hook) -> None:
        self._check(point)
        self._hooks[point] = [h for h in self._hooks[point] if h is not hook]

    def clear(self) -> None:
        for hooks in self._hooks.values():
            hooks.clear()

    def get(self, point: str) -> tuple[Hook, ...]:
        self._check(point)
        return tuple(self._hooks[point])

    def __bool__(self) -> bool:
        return any(self._hooks.values())

    def apply(
        self,
        point: str,
        inputs: Any,
        outputs: Any,
        training: Any = None,
        layer_index: int | None = None,
    ) -> Any:
        for hook in self._hooks[point]:
            outputs = hook(inputs, outputs, training=training, layer_index=layer_index)
        return outputs

    @staticmethod
    def _check(point: str) -> None:
        if point not in HOOK_POINTS:
            raise ValueError(f"unknown hook point {point!r}; known: {', '.join(HOOK_POINTS)}")
