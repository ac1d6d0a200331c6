"""A hierarchical model's label tree as its export ships it (metadata ``label_tree``), and the
paths a prediction names: the decided nodes none of whose children is decided.

The export's decisions are already consistent (a node is decided only where its parent is;
classifier.label_tree); a server only reads them, so this module needs no TensorFlow."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TREE_KEY = "label_tree"


@dataclass(frozen=True)
class ServedTree:
    """``parents``: node -> its parent node (None at the top); ``separator`` joins levels."""

    parents: Mapping[str, str | None]
    separator: str = "##"

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> ServedTree | None:
        """From an export's metadata (None for a model without a tree)."""
        tree = metadata.get(TREE_KEY)
        if not tree:
            return None
        parents: dict[str, str | None] = {}

        def walk(nodes: Iterable[Mapping[str, Any]], parent: str | None) -> None:
            for node in nodes:
                parents[node["label"]] = parent
                walk(node.get("children", ()), node["label"])

        walk(tree.get("nodes", ()), None)
        return cls(parents, tree.get("separator", "##"))

    def path_ends(self, decided: Sequence[str]) -> list[str]:
        """The nodes of ``decided`` that no other decided node has as its parent, in the
        given order."""
        inner = {self.parents.get(name) for name in decided}
        return [name for name in decided if name not in inner]

    def levels(self, path: str) -> list[str]:
        """The level names of ``path`` ("体育##足球" -> ["体育", "足球"])."""
        return path.split(self.separator)
