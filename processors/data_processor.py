"""DataProcessor: google-research/bert's processor contract, reading TSV files by default.

A task is described by a few class attributes (which columns, pair or not, multilabel or not);
the reading, header detection, validation and bad-row reporting live here once, so a user's
processor is a small subclass: set ``columns``, or override ``parse_row`` for an unusual row,
or override the ``get_*_examples`` methods for a different file format altogether.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar, Literal

from processors.data_error import DataError
from processors.input_example import InputExample
from processors.labels import numerically_equal, read_labels
from processors.text_content import has_content
from processors.tsv_reader import TsvRow, read_tsv

logger = logging.getLogger(__name__)

HeaderOption = Literal["auto"] | bool

# A first line is a header when every field is one of these (case-insensitive, stripped).
HEADER_WORDS: frozenset[str] = frozenset(
    {
        "label",
        "labels",
        "text",
        "text_a",
        "text_b",
        "sentence",
        "sentence1",
        "sentence2",
        "content",
        "query",
        "类别",
        "标签",
        "文本",
        "句子",
        "内容",
    }
)

_MAX_LABELS_SHOWN = 20


def normalise_header_option(header: HeaderOption | str) -> HeaderOption:
    """Accept "auto", True, False, and the CLI spellings "true"/"false" (any case)."""
    if isinstance(header, bool):
        return header
    if isinstance(header, str):
        value = header.strip().lower()
        if value == "auto":
            return "auto"
        if value in ("true", "yes", "1"):
            return True
        if value in ("false", "no", "0"):
            return False
    raise ValueError(f"header must be 'auto', True or False, not {header!r}")


class DataProcessor:
    """Reads ``train.tsv``, ``dev.tsv``, ``test.tsv`` and ``labels.txt`` from ``data_dir``.

    The rest of the framework reads ``is_pair`` and ``head_kind`` to build the model (one or
    two segments; the head registered under that name) and calls the four ``get_*`` methods.
    ``head_kind`` None means "multilabel" when ``is_multilabel`` is set, else "multiclass".

    Args:
        data_dir: folder holding the files.
        skip_bad_rows: False (default): the first bad row raises a DataError. True: bad rows are
            skipped and recorded in ``skipped_rows`` for the caller to report.
        header: "auto" (default): the first non-blank line of each file is dropped when every field
            is a header word (``header_words`` or a name in ``columns``); True: always drop it;
            False: never.
    """

    is_pair: ClassVar[bool] = False
    is_multilabel: ClassVar[bool] = False
    head_kind: ClassVar[str | None] = None  # a registered head (classifier.heads.register_head)
    # Column layout of a labelled row, and of a test row without labels (None: test files must
    # be labelled). Names the default parse_row understands: "label" (or "labels"), "text" (or
    # "text_a"), "text_b"; any other name is a column that is read and ignored (e.g. "id").
    columns: ClassVar[tuple[str, ...]] = ("label", "text")
    unlabelled_columns: ClassVar[tuple[str, ...] | None] = ("text",)
    label_separator: ClassVar[str] = "|"
    header_words: ClassVar[frozenset[str]] = HEADER_WORDS
    train_file: ClassVar[str] = "train.tsv"
    dev_file: ClassVar[str] = "dev.tsv"
    test_file: ClassVar[str] = "test.tsv"
    labels_file: ClassVar[str] = "labels.txt"

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        skip_bad_rows: bool = False,
        header: HeaderOption | str = "auto",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.skip_bad_rows = skip_bad_rows
        self.header = normalise_header_option(header)
        self._skipped: dict[str, dict[int | None, DataError]] = {}
        self._labels: list[str] | None = None
        self._label_source = ""

    # === The contract (google-research/bert) ===

    def get_train_examples(self) -> list[InputExample]:
        """Training examples; labelled. Labels are checked against labels.txt when it exists."""
        label_set = self._labels_from_file
        return self.read_examples(self.train_file, "train", labelled=True, label_set=label_set)

    def iter_train_examples(self) -> Iterator[InputExample]:
        """get_train_examples one at a time, streaming the file: train.sh encodes a training set
        larger than memory through this (a processor without it is read whole). A subclass
        that overrides get_train_examples is read through it."""
        if not self._reads_train_file():
            return iter(self.get_train_examples())
        label_set = self._labels_from_file
        return self.iter_examples(self.train_file, "train", labelled=True, label_set=label_set)

    def train_fingerprint(self) -> str | None:
        """What identifies the training examples without reading them: the train file's bytes
        and the reading settings (a cache of encoded examples is keyed by it); None for a
        subclass that reads its examples its own way."""
        if not self._reads_train_file():
            return None
        digest = hashlib.sha256()
        with self.file_path(self.train_file).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        labels = self.data_dir / self.labels_file
        if labels.is_file():
            digest.update(labels.read_bytes())
        digest.update(repr((type(self).__qualname__, self.header, self.skip_bad_rows)).encode())
        return digest.hexdigest()

    def _reads_train_file(self) -> bool:
        return type(self).get_train_examples is DataProcessor.get_train_examples

    def get_dev_examples(self) -> list[InputExample]:
        """Evaluation examples; labelled, each label must be in get_labels()."""
        return self.read_examples(self.dev_file, "dev", labelled=True, label_set=self.get_labels)

    def get_test_examples(self) -> list[InputExample]:
        """Test examples; labelled or not, decided from the file's rows (see read_examples)."""
        return self.read_examples(self.test_file, "test", labelled=None, label_set=self.get_labels)

    def get_labels(self) -> list[str]:
        """The label order of the model's outputs: labels.txt when present (order kept), otherwise
        the sorted set of labels in the training examples (for multilabel, their union)."""
        if self._labels is None:
            from_file = self._labels_from_file()
            if from_file is not None:
                self._labels = from_file
                self._label_source = self.labels_file
            else:
                seen: set[str] = set()
                for example in self.iter_train_examples():
                    if example.label is not None:
                        seen.add(example.label)
                    seen.update(example.labels or ())
                if not seen:
                    raise DataError(
                        self.data_dir / self.train_file,
                        None,
                        f"no labels found; add a {self.labels_file} with one label per line",
                    )
                self._labels = sorted(seen)
                self._label_source = f"labels seen in {self.train_file}"
            for group in numerically_equal(self._labels):
                logger.warning(
                    "labels %s (%s) are the same number written differently: they are "
                    "separate classes; write each class one way if they are one",
                    " and ".join(repr(label) for label in group),
                    self._label_source,
                )
        return list(self._labels)

    # === Bad rows ===

    @property
    def skipped_rows(self) -> list[DataError]:
        """Rows skipped (skip_bad_rows=True) in the files read so far, by file then line.

        Each is a DataError with ``path``, ``line`` and ``message`` (the reason). Reading a file
        again replaces its entries rather than adding to them (one entry per path and line).
        """
        return [
            errors[line]
            for errors in self._skipped.values()
            for line in sorted(errors, key=lambda line: line or 0)
        ]

    def skipped_summary(self, limit: int = 10) -> str:
        """One line for a log: "skipped 2 bad rows: train.tsv:12 (reason), ..."; "" when none."""
        skipped = self.skipped_rows
        if not skipped:
            return ""
        shown = ", ".join(
            f"{os.path.basename(e.path)}:{e.line} ({e.message})" for e in skipped[:limit]
        )
        more = f", and {len(skipped) - limit} more" if len(skipped) > limit else ""
        noun = "row" if len(skipped) == 1 else "rows"
        return f"skipped {len(skipped)} bad {noun}: {shown}{more}"

    def report_bad_row(self, error: DataError) -> None:
        """Raise ``error``, or record it when skip_bad_rows is set. For custom readers too."""
        if not self.skip_bad_rows:
            raise error
        self._skipped.setdefault(error.path, {})[error.line] = error

    # === Hooks a subclass may override ===

    def parse_row(self, fields: Sequence[str], guid: str, labelled: bool) -> InputExample:
        """Turn one row's fields into an InputExample; raise ValueError("reason") for a bad row.

        Called only with ``len(fields) == len(columns)`` (or ``len(unlabelled_columns)`` when
        ``labelled`` is False); the caller adds file and line to the reason. Emptiness of texts
        and membership of labels are checked afterwards by check_example.
        """
        layout = self.columns if labelled else self.unlabelled_columns
        assert layout is not None
        row = dict(zip(layout, fields, strict=True))
        text_a = row.get("text_a", row.get("text"))
        if text_a is None:
            raise TypeError(f"{type(self).__name__}.columns names no 'text' or 'text_a' column")
        text_b = row.get("text_b")
        if not labelled:
            return InputExample(guid=guid, text_a=text_a, text_b=text_b)
        raw = row.get("label", row.get("labels"))
        if raw is None:
            raise TypeError(f"{type(self).__name__}.columns names no 'label' column")
        if self.is_multilabel:
            return InputExample(
                guid=guid, text_a=text_a, text_b=text_b, labels=self.parse_labels(raw)
            )
        label = raw.strip()
        if not label:
            raise ValueError("empty label")
        return InputExample(guid=guid, text_a=text_a, text_b=text_b, label=label)

    def parse_labels(self, field: str) -> tuple[str, ...]:
        """Split a multilabel field "a|b"; an empty (or blank) field means no label: ()."""
        if not field.strip():
            return ()
        labels = tuple(part.strip() for part in field.split(self.label_separator))
        if not all(labels):
            raise ValueError(
                f"empty label in {field!r} (labels are separated by {self.label_separator!r})"
            )
        for index, label in enumerate(labels):
            if label in labels[:index]:
                raise ValueError(f"label {label!r} appears twice in {field!r}")
        return labels

    def check_example(self, example: InputExample, label_set: Sequence[str] | None) -> None:
        """Raise ValueError when a text is empty or a label is not in ``label_set``."""
        for name, text in self._texts(example):
            if text is None or not has_content(text):
                raise ValueError(
                    f"{name} is empty (nothing but whitespace, NUL or control characters, which "
                    "the tokenizer removes)"
                )
        if label_set is None:
            return
        given = [example.label] if example.label is not None else list(example.labels or ())
        for label in given:
            if label not in label_set:
                raise ValueError(f"label {label!r} is not in {self._describe_labels(label_set)}")

    def is_header(self, fields: Sequence[str]) -> bool:
        """Whether a first line is a header: every field is one of ``header_words`` or one of
        this processor's column names (case-insensitive)."""
        names = {*self.columns, *(self.unlabelled_columns or ())}
        words = self.header_words | {name.lower() for name in names}
        return bool(fields) and all(f.strip().lower() in words for f in fields)

    # === Machinery ===

    def file_path(self, filename: str) -> Path:
        """``data_dir / filename``, or an error that says what is there instead of a file: a
        FileNotFoundError naming the expected path when nothing is, a DataError for a folder,
        a link that loops or dangles, a named pipe or another non-file, or a data_dir that is
        itself a file."""
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise DataError(
                self.data_dir,
                None,
                "is a file, not a folder: --data_dir names the folder that "
                f"holds {self.train_file}, {self.dev_file}, {self.test_file}",
            )
        path = self.data_dir / filename
        try:
            mode = path.stat().st_mode
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise DataError(
                    path,
                    None,
                    "is a symbolic link that loops (it leads back to itself); point it at a file",
                ) from None
            if path.is_symlink():
                target = os.readlink(path)
                raise DataError(
                    path, None, f"is a symbolic link to {target}, which does not exist"
                ) from None
            if err.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise DataError(path, None, f"cannot be read ({err.strerror})") from None
            where = (
                f"data_dir {self.data_dir} does not exist"
                if not self.data_dir.is_dir()
                else f"{type(self).__name__} reads it from data_dir {self.data_dir}"
            )
            raise FileNotFoundError(
                errno.ENOENT, f"{filename} not found ({where})", str(path)
            ) from None
        if stat.S_ISDIR(mode):
            raise DataError(path, None, f"is a directory; {filename} must be a file")
        if not stat.S_ISREG(mode):
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
            if stat.S_ISSOCK(mode):
                kind = "a socket"
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                kind = "a device"
            raise DataError(
                path,
                None,
                f"is {kind}; {filename} must be a regular file (it is read more "
                "than once: to fingerprint it, then to stream it)",
            )
        return path

    def read_examples(
        self,
        filename: str,
        split: str,
        *,
        labelled: bool | None,
        label_set: Callable[[], Sequence[str] | None] | None = None,
    ) -> list[InputExample]:
        """Read ``data_dir/filename`` into examples with guids "<split>-<line>".

        ``labelled=None`` decides per file: the layout (``columns`` or ``unlabelled_columns``)
        that more rows match wins, a tie counts as labelled; rows of the other width are then
        bad rows. ``label_set`` is called, once, only if the file turns out to be labelled.
        """
        return list(self.iter_examples(filename, split, labelled=labelled, label_set=label_set))

    def iter_examples(
        self,
        filename: str,
        split: str,
        *,
        labelled: bool | None,
        label_set: Callable[[], Sequence[str] | None] | None = None,
    ) -> Iterator[InputExample]:
        """``read_examples`` one example at a time: with ``labelled`` given, the file is
        streamed (a data set larger than memory); None reads it whole to decide."""
        path = self.file_path(filename)
        self._skipped[str(path)] = {}
        first, rows = _peek(read_tsv(path))
        if first is not None and self._is_header_row(first):
            first, rows = _peek(itertools.islice(rows, 1, None))
            had_rows = True
        else:
            had_rows = first is not None
        decided = labelled is None
        if labelled is None:
            rows = list(rows)
            labelled = self._looks_labelled(rows)
        layout = self.columns if labelled else self.unlabelled_columns
        assert layout is not None
        why = ""
        if decided and self.unlabelled_columns is not None:
            kind = "labelled" if labelled else "unlabelled"
            why = f"; the file is read as {kind}, as most of its rows have {len(layout)}"
        allowed = label_set() if (labelled and label_set is not None) else None

        count = 0
        for row in rows:
            if isinstance(row, DataError):
                self.report_bad_row(row)
                continue
            reason = None
            if len(row.fields) != len(layout):
                reason = self._column_count_message(layout, row, why)
            else:
                try:
                    example = self.parse_row(row.fields, f"{split}-{row.line}", labelled)
                    self.check_example(example, allowed)
                except ValueError as error:
                    reason = str(error)
            if reason is not None:
                self.report_bad_row(DataError(path, row.line, reason))
                continue
            count += 1
            yield example
        if not count:
            if not had_rows:
                reason = "is empty"
            elif first is None:
                reason = "holds only a header"
            else:
                reason = "holds no usable example (every row was skipped as bad)"
            raise DataError(path, None, f"{reason}: the {split} split needs at least one example")

    def _labels_from_file(self) -> list[str] | None:
        path = self.data_dir / self.labels_file
        if not path.is_file():
            return None
        return read_labels(path, self.label_separator if self.is_multilabel else None)

    def _is_header_row(self, first: TsvRow | DataError) -> bool:
        if self.header is False:
            return False
        return self.header is True or (isinstance(first, TsvRow) and self.is_header(first.fields))

    def _looks_labelled(self, rows: list[TsvRow | DataError]) -> bool:
        if self.unlabelled_columns is None:
            return True
        widths = [len(row.fields) for row in rows if isinstance(row, TsvRow)]
        with_labels = widths.count(len(self.columns))
        without = widths.count(len(self.unlabelled_columns))
        return with_labels >= without

    def _texts(self, example: InputExample) -> list[tuple[str, str | None]]:
        if self.is_pair:
            return [("text_a", example.text_a), ("text_b", example.text_b)]
        return [("text", example.text_a)]

    def _column_count_message(self, layout: Sequence[str], row: TsvRow, why: str) -> str:
        found = len(row.fields)
        message = (
            f"wrong column count: expected {len(layout)} ({'<TAB>'.join(layout)}), found {found}"
        )
        if found > len(layout):
            message += " (a tab inside a text?)"
        return message + why

    def _describe_labels(self, label_set: Sequence[str]) -> str:
        source = self._label_source or self.labels_file
        shown = ", ".join(label_set[:_MAX_LABELS_SHOWN])
        if len(label_set) > _MAX_LABELS_SHOWN:
            shown += f", ... ({len(label_set)} in all)"
        return f"the label set ({source}: {shown})"


def _peek(rows: Iterable) -> tuple[object | None, Iterator]:
    """(the first item or None, an iterator over all items, the first included)."""
    iterator = iter(rows)
    first = next(iterator, None)
    return first, (iterator if first is None else itertools.chain([first], iterator))
