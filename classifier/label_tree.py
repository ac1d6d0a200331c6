"""A label tree written in its labels' names: ``体育##足球`` is the child of ``体育``.

PaddleNLP's hierarchical convention: a label path joins its levels with ``##``, and every
prefix of a path is itself a label (a node). The tree is the labels, so it needs no file of
its own: a node's parent is its name up to the last separator. The rule that keeps decisions
consistent lives here once, in numpy (reports, in-memory predictions) and in TensorFlow (the
export), so both agree: a node is decided only where its parent is (a path is cut at the
first level the model is unsure of).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

LEVEL_SEPARATOR = "##"


def path_levels(path: str) -> list[str]:
    """The level names of ``path`` ("体育##足球" -> ["体育", "足球"])."""
    return path.split(LEVEL_SEPARATOR)


def check_path(path: str) -> str:
    """Refuses a path with an empty level ("体育##", "##足球", "体育####足球"); returns it."""
    if any(not level.strip() for level in path_levels(path)):
        raise ValueError(
            f"label path {path!r} has an empty level (levels are joined by {LEVEL_SEPARATOR!r}, "
            f"e.g. 体育{LEVEL_SEPARATOR}足球)"
        )
    return path


def ancestors_and_self(path: str) -> list[str]:
    """Every node on ``path``, root first ("a##b##c" -> ["a", "a##b", "a##b##c"])."""
    levels = path_levels(path)
    return [LEVEL_SEPARATOR.join(levels[: i + 1]) for i in range(len(levels))]


def close_paths(paths: Iterable[str]) -> list[str]:
    """``paths`` with every missing ancestor inserted just before its first descendant (so a
    parent always precedes its children); order otherwise kept, duplicates dropped."""
    nodes: dict[str, None] = {}
    for path in paths:
        for node in ancestors_and_self(check_path(path)):
            nodes.setdefault(node, None)
    return list(nodes)


def parent_of(node: str) -> str | None:
    """The parent node's name (None for a top-level node)."""
    head, separator, _ = node.rpartition(LEVEL_SEPARATOR)
    return head if separator else None


@dataclass(frozen=True)
class LabelTree:
    """The tree over ``labels`` (the model's output order); every node's parent must be one of
    them (close_paths makes any list so)."""

    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        known = set(self.labels)
        for node in self.labels:
            check_path(node)
            parent = parent_of(node)
            if parent is not None and parent not in known:
                raise ValueError(
                    f"label {node!r} has no parent {parent!r} among the labels (every prefix of "
                    f"a label path must be a label too)"
                )

    @cached_property
    def parents(self) -> np.ndarray:
        """Each node's parent index, -1 for a top-level node (int64 [K])."""
        index = {name: i for i, name in enumerate(self.labels)}
        return np.array(
            [-1 if parent_of(n) is None else index[parent_of(n)] for n in self.labels], np.int64
        )

    @cached_property
    def depths(self) -> np.ndarray:
        """Each node's level, 1 for a top-level node (int64 [K])."""
        return np.array([len(path_levels(n)) for n in self.labels], np.int64)

    @property
    def num_levels(self) -> int:
        return int(self.depths.max()) if len(self.labels) else 0

    def level_nodes(self, level: int) -> np.ndarray:
        """Indices of the nodes at ``level`` (1-based), in label order."""
        return np.flatnonzero(self.depths == level)

    @cached_property
    def is_leaf(self) -> np.ndarray:
        """bool [K]: True for nodes without children."""
        has_child = np.zeros(len(self.labels), bool)
        has_child[self.parents[self.parents >= 0]] = True
        return ~has_child

    def stop_share(self, targets: np.ndarray) -> np.ndarray:
        """float [K]: of the rows in ``targets`` (0/1 [N, K], every path's ancestors set) that
        hold a node, the share whose path stops there (none of its children held): 1 for a
        leaf, 0 for a parent only ever labelled through a child, 0 for a node never held."""
        held = np.asarray(targets) > 0
        child_held = np.zeros_like(held)
        for node in np.flatnonzero(self.parents >= 0):
            child_held[:, self.parents[node]] |= held[:, node]
        counts = held.sum(axis=0)
        stops = (held & ~child_held).sum(axis=0)
        return np.where(counts > 0, stops / np.maximum(counts, 1), 0.0)

    def closure(self, paths: Iterable[str]) -> tuple[str, ...]:
        """The nodes ``paths`` stand for: each path and its ancestors, in label order."""
        wanted = {node for path in paths for node in ancestors_and_self(path)}
        return tuple(name for name in self.labels if name in wanted)

    # === Probabilities ===
    def lifted(self, probabilities: np.ndarray) -> np.ndarray:
        """Each node's probability raised to the largest in its subtree (itself included), so
        a parent is never less probable than its child: a text of class 体育##足球 is of class
        体育, and the model's confidence in the child is evidence for the parent. The max
        constraint of C-HMCNN (Giunchiglia and Lukasiewicz, NeurIPS 2020) at inference."""
        lifted = np.array(probabilities, copy=True)
        for level in range(self.num_levels, 1, -1):  # deepest first: a grandchild reaches the top
            nodes = self.level_nodes(level)
            columns = lifted.T  # a view: the parents' columns are raised in place
            np.maximum.at(columns, self.parents[nodes], columns[nodes])
        return lifted

    def lifted_graph(self, probabilities: tf.Tensor) -> tf.Tensor:
        """``lifted`` in TensorFlow for [B, K]: each pass raises every node to the largest of
        itself and its children; num_levels - 1 passes reach the top."""
        import tensorflow as tf

        own_or_parent = np.where(self.parents >= 0, self.parents, np.arange(len(self.labels)))
        segments = tf.constant(own_or_parent.astype(np.int32))
        for _ in range(self.num_levels - 1):
            # Row n of the segment max: the max over n's children (and n itself at the top);
            # a node without children gets the dtype's lowest value, which max() ignores.
            children = tf.math.unsorted_segment_max(
                tf.transpose(probabilities), segments, len(self.labels)
            )
            probabilities = tf.maximum(probabilities, tf.transpose(children))
        return probabilities

    # === Decisions ===
    def consistent(self, decisions: np.ndarray) -> np.ndarray:
        """0/1 ``decisions`` [N, K] with every node whose parent is not decided cleared, top
        down (so a path is cut at its first undecided level); same dtype."""
        decisions = np.array(decisions, copy=True)
        for level in range(2, self.num_levels + 1):
            nodes = self.level_nodes(level)
            decisions[:, nodes] = decisions[:, nodes] * (decisions[:, self.parents[nodes]] > 0)
        return decisions

    def consistent_graph(self, predicted: tf.Tensor) -> tf.Tensor:
        """``consistent`` in TensorFlow for 0/1 int ``predicted`` [B, K]: each pass ANDs every
        node with its parent's current decision (a top-level node with itself), and
        num_levels - 1 passes reach the deepest level."""
        import tensorflow as tf

        own_or_parent = np.where(self.parents >= 0, self.parents, np.arange(len(self.labels)))
        parent_index = tf.constant(own_or_parent.astype(np.int32))
        for _ in range(self.num_levels - 1):
            predicted = predicted * tf.gather(predicted, parent_index, axis=1)
        return predicted

    def path_ends(self, decisions: np.ndarray) -> np.ndarray:
        """bool [N, K]: the decided nodes none of whose children is decided (each one ends a
        predicted path)."""
        decided = np.asarray(decisions) > 0
        child_decided = np.zeros_like(decided)
        children = np.flatnonzero(self.parents >= 0)
        for child in children:  # few nodes: a loop over columns, vectorised over rows
            child_decided[:, self.parents[child]] |= decided[:, child]
        return decided & ~child_decided

    def paths_of(self, names: Sequence[str]) -> list[str]:
        """The path ends among decided node ``names`` (for one text), in label order."""
        row = np.zeros((1, len(self.labels)), np.int32)
        index = {name: i for i, name in enumerate(self.labels)}
        row[0, [index[name] for name in names]] = 1
        return [self.labels[i] for i in np.flatnonzero(self.path_ends(row)[0])]

    # === What an export ships ===
    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON: the separator, the number of levels and the nested nodes
        ({"label": path, "name": its last level, "children": [...]}) in label order."""

        def node(i: int) -> dict[str, Any]:
            name = self.labels[i]
            children = [c for c in np.flatnonzero(self.parents == i)]
            return {
                "label": name,
                "name": path_levels(name)[-1],
                "children": [node(int(c)) for c in children],
            }

        return {
            "separator": LEVEL_SEPARATOR,
            "levels": self.num_levels,
            "nodes": [node(int(i)) for i in np.flatnonzero(self.parents < 0)],
        }
