"""Where adapters can act in a backbone: every call of a transformer block, in order.

BERT calls each block once; ALBERT calls one shared block at several layers (and, with
inner_group_num > 1, several blocks per layer). A *site* is one such call; its ``position`` is
its rank in execution order, so per-layer adapters stay distinct even on shared blocks. Sites
are read from the backbone's functional graph, so any backbone built from TransformerBlocks
that pass ``layer_index`` works without adapter-specific code in the backbone.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from classifier.backbones.transformer_block import TransformerBlock


@dataclass(frozen=True)
class Site:
    position: int
    layer_index: int
    block: TransformerBlock
    output: keras.KerasTensor  # the block's output at this call, in the backbone's graph


class BackboneSites:
    """The block calls of a functional backbone, with lookups the hooks need at run time."""

    def __init__(self, backbone: keras.Model):
        nodes_by_depth = getattr(backbone, "_nodes_by_depth", None)
        if nodes_by_depth is None:
            raise TypeError("adapters need a functional backbone (BertBackbone, AlbertBackbone)")
        calls = []
        for depth in sorted(nodes_by_depth, reverse=True):  # deepest first = earliest
            for node in nodes_by_depth[depth]:
                if isinstance(node.operation, TransformerBlock):
                    layer_index = node.arguments.kwargs.get("layer_index")
                    if layer_index is None:
                        raise TypeError(f"{node.operation.name} is called without layer_index")
                    calls.append((node.operation, int(layer_index), node.outputs[0]))
        if not calls:
            raise TypeError(f"{backbone.name} has no TransformerBlock to put adapters in")
        self.backbone = backbone
        self.sites = tuple(
            Site(position, layer_index, block, output)
            for position, (block, layer_index, output) in enumerate(calls)
        )
        self._position = {(id(s.block), s.layer_index): s.position for s in self.sites}
        blocks: dict[int, TransformerBlock] = {}
        for site in self.sites:
            blocks.setdefault(id(site.block), site.block)
        self.blocks = tuple(blocks.values())
        self.hidden_size = int(self.sites[0].block.hidden_size)
        self.num_layers = max(s.layer_index for s in self.sites) + 1

    def position(self, block: TransformerBlock, layer_index: int) -> int:
        return self._position[(id(block), layer_index)]

    def at_layers(self, layers: tuple[int, ...] | None) -> tuple[Site, ...]:
        """The sites of the given layers (all sites for None)."""
        if layers is None:
            return self.sites
        wanted = set(layers)
        return tuple(s for s in self.sites if s.layer_index in wanted)

    def layer_output(self, layer_index: int) -> keras.KerasTensor:
        """The hidden state after layer ``layer_index`` (the last block call of that layer)."""
        outputs = [s.output for s in self.sites if s.layer_index == layer_index]
        if not outputs:
            raise ValueError(f"the backbone has no layer {layer_index}")
        return outputs[-1]

    def positions_of_block(self, block: TransformerBlock) -> tuple[int, ...]:
        return tuple(s.position for s in self.sites if s.block is block)
