"""Abstention's coverage curve: how much a model answers, and how well, at each threshold.

A model that abstains below a probability P answers fewer texts and (when its probabilities
mean something) gets more of them right. The curve lists, for a grid of P, the share of texts
answered and the head's default metric on them, so that a user picks export.sh's
--abstain_threshold from dev data instead of guessing. The rule itself (which texts abstain)
is the head's (classifier.heads.base.Head.abstains); this module holds the grid and the figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classifier.files import atomic_write

# 0, 0.05, ..., 0.95: threshold 0 answers every text, so its figure is the plain one.
COVERAGE_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))


def write_coverage_png(path: str | Path, curve: list[dict[str, Any]], metric: str) -> None:
    """The metric of the answered texts against the share answered, each point labelled with
    its threshold (points that answer nothing are left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [row for row in curve if row["answered"] > 0]
    fig, ax = plt.subplots(figsize=(5, 5))
    xs = [row["coverage"] for row in shown]
    ys = [row[metric] for row in shown]
    ax.plot(xs, ys, marker="o")
    for row, x, y in zip(shown, xs, ys, strict=True):
        ax.annotate(
            f"{row['threshold']:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7
        )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.invert_xaxis()  # from answering everything (threshold 0) towards abstaining more
    ax.set_xlabel("coverage (share of texts answered)")
    ax.set_ylabel(f"{metric} of the answered texts")
    ax.set_title("abstention: coverage against quality")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
