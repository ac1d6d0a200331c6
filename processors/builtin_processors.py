"""The processors every user gets by --task_name: tsv, pair, multilabel and hierarchical.

Each is only a column layout on top of DataProcessor; the same few lines are all a user's own
TSV task needs.
"""

from __future__ import annotations

from typing import ClassVar

from processors.data_error import DataError
from processors.data_processor import DataProcessor
from processors.registry import register_processor


@register_processor("tsv")
class TsvProcessor(DataProcessor):
    """Single-sentence classification: ``label<TAB>text``; unlabelled test rows: ``text``."""

    columns = ("label", "text")
    unlabelled_columns = ("text",)


@register_processor("pair")
class PairProcessor(DataProcessor):
    """Sentence-pair classification (similarity, NLI): ``label<TAB>text_a<TAB>text_b``;
    unlabelled test rows: ``text_a<TAB>text_b``."""

    is_pair = True
    columns = ("label", "text_a", "text_b")
    unlabelled_columns = ("text_a", "text_b")


@register_processor("multilabel")
class MultiLabelProcessor(DataProcessor):
    """Multilabel classification: ``label1|label2<TAB>text``, an empty label field meaning that no
    label applies; unlabelled test rows: ``text``."""

    is_multilabel = True
    columns = ("labels", "text")
    unlabelled_columns = ("text",)


@register_processor("hierarchical")
class HierarchicalProcessor(DataProcessor):
    """Hierarchical classification: ``path1|path2<TAB>text``, each path's levels joined by
    ``##`` (``体育##足球``: PaddleNLP's convention), an empty field meaning no label; unlabelled
    test rows: ``text``.

    The labels are the tree's nodes: every path and each of its prefixes (``体育`` and
    ``体育##足球``), parents before children. labels.txt may list the leaves only; the missing
    parents are added before their first child."""

    is_multilabel = True
    head_kind = "hierarchical"
    columns = ("labels", "text")
    unlabelled_columns = ("text",)
    level_separator: ClassVar[str] = "##"

    def parse_labels(self, field: str) -> tuple[str, ...]:
        paths = super().parse_labels(field)
        for path in paths:
            if any(not level.strip() for level in path.split(self.level_separator)):
                raise ValueError(
                    f"label path {path!r} has an empty level (levels are joined by "
                    f"{self.level_separator!r}, e.g. 体育{self.level_separator}足球)"
                )
        return paths

    def get_labels(self) -> list[str]:
        nodes: dict[str, None] = {}
        for path in super().get_labels():
            levels = path.split(self.level_separator)
            if not all(level.strip() for level in levels):
                raise DataError(
                    self.data_dir / self.labels_file,
                    None,
                    f"label path {path!r} has an empty level (levels are joined by "
                    f"{self.level_separator!r})",
                )
            for depth in range(1, len(levels) + 1):
                nodes.setdefault(self.level_separator.join(levels[:depth]), None)
        return list(nodes)
