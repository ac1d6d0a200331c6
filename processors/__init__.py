"""Data processors: data files to InputExamples. Pure Python; never imports TensorFlow.

Importing the package registers the built-in processors "tsv", "pair", "multilabel" and
"hierarchical".
"""

from processors.builtin_processors import (
    HierarchicalProcessor,
    MultiLabelProcessor,
    PairProcessor,
    TsvProcessor,
)
from processors.data_error import DataError
from processors.data_processor import HEADER_WORDS, DataProcessor
from processors.input_example import InputExample
from processors.labels import read_labels, write_labels
from processors.registry import (
    get_processor,
    list_processors,
    load_processor_plugin,
    register_processor,
)
from processors.tsv_reader import TsvRow, read_tsv

__all__ = [
    "HEADER_WORDS",
    "DataError",
    "DataProcessor",
    "InputExample",
    "HierarchicalProcessor",
    "MultiLabelProcessor",
    "PairProcessor",
    "TsvProcessor",
    "TsvRow",
    "get_processor",
    "list_processors",
    "load_processor_plugin",
    "read_labels",
    "read_tsv",
    "register_processor",
    "write_labels",
]
