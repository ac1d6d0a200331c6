"""Hierarchical: label paths in a tree (``体育##足球``), one sigmoid per node, consistent
decisions and per-level reports.

Every node of the tree (``体育`` and ``体育##足球`` alike) is one output of the model, trained as
a multilabel target: a text labelled ``体育##足球`` is positive for both nodes, so the parent
level learns from every child's rows (what a flat classifier over the leaves cannot do); a
parent's loss terms weigh as much as its rows teach beyond its children (parent_loss_weights). A
node's probability is its calibrated sigmoid raised to the largest in its subtree (a child's
confidence is evidence for its parent: C-HMCNN's max constraint), so a parent is never less
probable than its child. The decisions are the multilabel head's (those probabilities against
per-node thresholds fitted on dev for the run's metric), then made consistent
(classifier.label_tree): a node is decided only where its parent is, so a child is never
predicted without its parent and a path is cut at its first unsure level. The reports add each level's accuracy and micro/macro-F1
(``levels``) and the leaves' (``leaves``); a prediction names the paths that end at decided
nodes. PaddleNLP's hierarchical application trains the same targets but decides each node on
its own at 0.5, so its predictions can hold a child without its parent.

--min_labels / --max_labels are not taken (a count of nodes is not a count of paths).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier import thresholds as T
from classifier.heads.base import Example, LossOptions
from classifier.heads.multilabel import MultilabelHead
from classifier.heads.registry import register_head
from classifier.label_tree import LabelTree
from classifier.metrics import AT_FIXED, decisions_text_report

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

logger = logging.getLogger(__name__)

HIERARCHICAL = "hierarchical"
# The least weight of a parent's loss term against the leaves' 1 (benchmarks/RESULTS.md,
# "Hierarchical labels"): a parent never labelled without a child holds nothing its children
# do not, and at full weight it takes the shared encoder from the leaves (a point of leaf
# micro-F1); at 0.1, fine-tuning a pretrained encoder, the leaves were level with a flat
# model's or ahead and the parents still ahead.
PARENT_LOSS_WEIGHT_FLOOR = 0.1


@register_head(HIERARCHICAL)
class HierarchicalHead(MultilabelHead):
    min_labels = 2
    predicted_column = "predicted_paths"
    gold_column = "gold_paths"
    takes_label_bounds = False
    takes_parent_loss_weight = True

    @cached_property
    def tree(self) -> LabelTree:
        return LabelTree(self.labels)

    def __init__(self, labels: Sequence[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(labels, *args, **kwargs)
        _ = self.tree  # a label whose parent is missing is refused here, naming both

    # === Labels ===
    def gold(self, example: Example) -> tuple[str, ...] | None:
        """The nodes the example's paths stand for: each path and its ancestors."""
        if example.labels is None:
            return None
        unknown = [path for path in example.labels if path not in self._index]
        return tuple(unknown) + self.tree.closure(
            path for path in example.labels if path in self._index
        )

    def encode_labels(self, examples: Sequence[Example]) -> np.ndarray:
        targets = np.zeros((len(examples), self.num_labels), np.float32)
        for row, example in enumerate(examples):
            targets[row, self._ids(self.gold(example) or ())] = 1.0
        return targets

    def gold_field(self, example: Example) -> str:
        return "|".join(example.labels or ())

    # === Training ===
    def loss(self, options: LossOptions, targets: np.ndarray) -> keras.losses.Loss:
        """The multilabel loss and options under the tree's max constraint (TreeSigmoidLoss):
        trained as it predicts; the parents' terms weighed by parent_loss_weights."""
        from classifier.losses import TreeSigmoidLoss

        return TreeSigmoidLoss(
            self.labels,
            parent_weight=self.parent_loss_weights(options, targets),
            **self.sigmoid_loss_settings(options, targets),
        )

    def parent_loss_weights(self, options: LossOptions, targets: np.ndarray) -> list[float]:
        """Each node's weight in the loss (leaves 1): --parent_loss_weight for every parent,
        or by default the share of a parent's training rows whose path stops at it, at least
        PARENT_LOSS_WEIGHT_FLOOR. Why: only those rows teach the parent something its children
        do not; where every path goes on to a child, the parent's term would only pull the
        shared encoder away from the leaves, and the max constraint lifts it from them anyway."""
        if options.parent_loss_weight is not None:
            chosen = np.full(self.num_labels, float(options.parent_loss_weight))
        else:
            chosen = np.maximum(PARENT_LOSS_WEIGHT_FLOOR, self.tree.stop_share(targets))
            logger.info(
                "parents' loss weights (the share of each one's rows whose path stops at it, "
                "at least %g; --parent_loss_weight sets one for all): %s",
                PARENT_LOSS_WEIGHT_FLOOR,
                self._weights_line(chosen),
            )
        return np.where(self.tree.is_leaf, 1.0, chosen).tolist()

    def _weights_line(self, weights: np.ndarray, shown: int = 8) -> str:
        """The parents' weights, the first ``shown`` by name (a big tree's line stays short)."""
        parents = np.flatnonzero(~self.tree.is_leaf)
        named = ", ".join(f"{self.labels[i]} {weights[i]:.2f}" for i in parents[:shown])
        if len(parents) <= shown:
            return named
        rest = weights[parents[shown:]]
        return f"{named} and {len(rest)} more ({rest.min():.2f} to {rest.max():.2f})"

    # === Probabilities ===
    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Each node's sigmoid, raised to the largest in its subtree (LabelTree.lifted)."""
        return self.tree.lifted(super()._probabilities(logits))

    def _probabilities_graph(self, logits: tf.Tensor) -> tf.Tensor:
        return self.tree.lifted_graph(super()._probabilities_graph(logits))

    # === Decisions ===
    def bounded(self, decisions: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Consistent: a node's decision is cleared where its parent's is (top down)."""
        return self.tree.consistent(np.asarray(decisions))

    def bounded_graph(self, predicted: tf.Tensor, probabilities: tf.Tensor) -> tf.Tensor:
        return self.tree.consistent_graph(predicted)

    def export_metadata(self) -> dict[str, Any]:
        return {**super().export_metadata(), "label_tree": self.tree.to_dict()}

    def prediction_fields(self, probabilities: np.ndarray) -> tuple[str, str]:
        """The predicted paths (those ending at a decided node whose children are not) and
        each path's probability (its last node's)."""
        row = np.asarray(probabilities)[None, :]
        ends = list(np.flatnonzero(self.tree.path_ends(self.decisions(row))[0]))
        return (
            "|".join(self.labels[i] for i in ends),
            "|".join(f"{probabilities[i]:.6f}" for i in ends),
        )

    # === Reports ===
    def _decision_structure_report(
        self, probabilities: np.ndarray, decisions: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        """``levels``: each level's figures ("1" the top); ``leaves``: the leaf nodes'; and
        the figures at 0.5 recomputed with consistent decisions."""
        gold = np.asarray(targets).astype(np.int32)
        decisions = np.asarray(decisions).astype(np.int32)
        at_fixed = self.tree.consistent((probabilities >= T.FIXED_THRESHOLD).astype(np.int32))
        report: dict[str, Any] = {
            f"{name}{AT_FIXED}": T.decision_metric(name, at_fixed, gold)
            for name in T.DECISION_METRICS
        }
        report["levels"] = {
            str(level): self._figures(decisions, gold, self.tree.level_nodes(level))
            for level in range(1, self.tree.num_levels + 1)
        }
        report["leaves"] = self._figures(decisions, gold, np.flatnonzero(self.tree.is_leaf))
        return report

    def _figures(self, decisions: np.ndarray, gold: np.ndarray, nodes: np.ndarray) -> dict:
        """Accuracy (the row's nodes among ``nodes`` exactly right), micro- and macro-F1 over
        ``nodes``, how many nodes and how many rows have one of them."""
        predicted, true = decisions[:, nodes], gold[:, nodes]
        return {
            "accuracy": float(np.mean(np.all(predicted == true, axis=1))) if len(gold) else 0.0,
            "micro_f1": T.decision_metric("micro_f1", predicted, true),
            "macro_f1": T.decision_metric("macro_f1", predicted, true),
            "num_labels": int(len(nodes)),
            "support": int(np.any(true > 0, axis=1).sum()),
        }

    def _decisions_text_report(self, decisions: np.ndarray, targets: np.ndarray) -> str:
        """One classification report per level, then the leaves' (every node is in its level's)."""
        sections = []
        groups = [
            (f"Level {level}", self.tree.level_nodes(level))
            for level in range(1, self.tree.num_levels + 1)
        ]
        groups.append(("Leaves (the nodes without children, at any level)", self.tree.is_leaf))
        for title, nodes in groups:
            nodes = np.flatnonzero(nodes) if nodes.dtype == bool else nodes
            body = decisions_text_report(
                np.asarray(decisions)[:, nodes],
                np.asarray(targets)[:, nodes],
                [self.labels[i] for i in nodes],
            )
            sections.append(f"{title}: {len(nodes)} labels\n\n{body}")
        return "\n".join(sections)
