"""Writing evaluation reports: JSON figures, scikit-learn's text report, confusion matrix."""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.files import atomic_write, atomic_write_text

logger = logging.getLogger(__name__)

# The environment variable naming a font file to draw label names with (checked first).
CJK_FONT_ENV = "ZH_TEXTCLF_CJK_FONT"

# Well-known CJK families, tried by name before scanning every installed font.
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

NO_FONT_HINT = (
    "no installed font has glyphs for the label names, so the confusion matrix PNG shows label "
    "indices (see labels.txt); to draw the names install a CJK font (apt-get install "
    f"fonts-noto-cjk or fonts-wqy-microhei) or set {CJK_FONT_ENV} to a font file"
)
_warned_no_font = False
_charmaps: dict[str, frozenset[int]] = {}  # font file -> code points, read once per process


def write_confusion_csv(path: str | Path, matrix: np.ndarray, label_names: list[str]) -> None:
    """Rows: true label; columns: predicted label; first row and column carry the names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["true\\predicted", *label_names])
    for name, row in zip(label_names, matrix, strict=True):
        writer.writerow([name, *(int(v) for v in row)])
    atomic_write_text(path, buffer.getvalue())


def _charmap(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (empty when it cannot be read)."""
    from matplotlib.ft2font import FT2Font

    if path not in _charmaps:
        try:
            _charmaps[path] = frozenset(FT2Font(path).get_charmap())
        except (OSError, RuntimeError, ValueError):
            _charmaps[path] = frozenset()
    return _charmaps[path]


def _candidate_fonts() -> list[str]:
    """Font files in the order they are tried: $ZH_TEXTCLF_CJK_FONT, matplotlib's default font,
    the known CJK families, then every installed font (the system folders are scanned too, since
    matplotlib's font cache misses fonts installed after it was built)."""
    from matplotlib import font_manager

    paths = []
    if os.environ.get(CJK_FONT_ENV):
        paths.append(os.environ[CJK_FONT_ENV])
    paths.append(font_manager.findfont(font_manager.FontProperties()))
    entries = font_manager.fontManager.ttflist
    for name in _CJK_FONTS:
        paths += sorted(f.fname for f in entries if f.name == name)
    paths += sorted(f.fname for f in entries)
    paths += sorted(font_manager.findSystemFonts())
    # Last-resort fonts (matplotlib ships one) map every code point to a placeholder glyph.
    return [p for p in dict.fromkeys(paths) if "lastresort" not in Path(p).name.lower()]


def font_for(texts: Sequence[str]) -> str | None:
    """The path of the first candidate font whose character map covers every non-space character
    of ``texts`` (None when no installed font does), so that no glyph turns into an empty box.

    A font named by $ZH_TEXTCLF_CJK_FONT that is missing or does not cover the names is reported
    and skipped."""
    needed = {ord(c) for text in texts for c in text if not c.isspace()}
    env = os.environ.get(CJK_FONT_ENV)
    for path in _candidate_fonts():
        if needed <= _charmap(path):
            return path
        if path == env:
            logger.warning(
                "%s=%s is not a readable font with glyphs for every label name; looking for "
                "another font",
                CJK_FONT_ENV,
                env,
            )
    return None


def write_confusion_png(path: str | Path, matrix: np.ndarray, label_names: list[str]) -> bool:
    """A heat map of the confusion matrix with counts in the cells; True when it shows the names.

    Label names are drawn with a font that has all their glyphs (font_for); when no installed
    font has, the axes show label indices (in labels.txt order) so that no glyph turns into an
    empty box, and one warning says how to get the names.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    global _warned_no_font
    font = font_for(label_names)
    if font is None and not _warned_no_font:
        logger.warning(NO_FONT_HINT)
        _warned_no_font = True
    ticks = label_names if font else [str(i) for i in range(len(label_names))]
    names_font = FontProperties(fname=font) if font else None
    size = max(4.0, 0.6 * len(label_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    try:
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(ticks)), ticks, rotation=45, ha="right", fontproperties=names_font)
        ax.set_yticks(range(len(ticks)), ticks, fontproperties=names_font)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if font is None:
            ax.set_title("labels by index (see labels.txt)")
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            color = "white" if value > threshold else "black"
            ax.text(j, i, str(int(value)), ha="center", va="center", color=color)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(fig)
    return font is not None
