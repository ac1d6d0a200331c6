"""The processors every user gets by --task_name: tsv, pair and multilabel.

Each is only a column layout on top of DataProcessor; the same few lines are all a user's own
TSV task needs.
"""

from __future__ import annotations

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
