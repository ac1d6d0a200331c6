"""Writing evaluation reports: JSON figures, scikit-learn's text report, confusion matrix."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np

from classifier.files import atomic_write, atomic_write_text

logger = logging.getLogger(__name__)

_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)


def write_confusion_csv(path: str | Path, matrix: np.ndarray, label_names: list[str]) -> None:
    """Rows: true label; columns: predicted label; first row and column carry the names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true\\predicted", *label_names])
    for name, row in zip(label_names, matrix, strict=True):
        writer.writerow([name, *(int(v) for v in row)])
    atomic_write_text(path, buffer.getvalue())


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in available), None)


def write_confusion_png(path: str | Path, matrix: np.ndarray, label_names: list[str]) -> None:
    """A heat map of the confusion matrix with counts in the cells.

    Label names are drawn when a CJK font is installed; otherwise the axes show label indices
    (in labels.txt order) so that no glyph turns into an empty box.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _cjk_font()
    names_ok = font is not None or all(name.isascii() for name in label_names)
    ticks = label_names if names_ok else [str(i) for i in range(len(label_names))]
    size = max(4.0, 0.6 * len(label_names) + 2)
    rc = {"font.family": [font, "sans-serif"]} if font else {}
    with plt.rc_context(rc):
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(ticks)), ticks, rotation=45, ha="right")
        ax.set_yticks(range(len(ticks)), ticks)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if not names_ok:
            ax.set_title("labels by index (see labels.txt)")
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            color = "white" if value > threshold else "black"
            ax.text(j, i, str(int(value)), ha="center", va="center", color=color)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
        plt.close(fig)
