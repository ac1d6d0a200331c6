"""Unlabelled text for pretraining, read as a stream of documents made of sentences.

The input format is google-research/bert's create_pretraining_data.py: plain UTF-8 text,
documents separated by blank lines. A file without any blank line is read as one document per
line, the usual shape of scraped Chinese text. Lines are cut into sentences after Chinese and
Western sentence-final punctuation, so that a one-paragraph-per-line file still packs sentence
by sentence. Nothing but the current document is held in memory.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from pathlib import Path

DOCUMENT_FORMATS = ("auto", "blank_lines", "lines")

# A sentence: text up to a run of sentence-final marks and any closing quotes or brackets after
# them, or up to the end of the line.
_SENTENCE = re.compile(r"[^。！？!?；;…]*(?:[。！？!?；;…]+[”’」』）)】》\"']*|$)")


class CorpusError(ValueError):
    """An input file that cannot be read as text: says which file and line."""


def expand_input_files(spec: str | list[str], flag: str = "--input_file") -> list[Path]:
    """Comma-separated paths or glob patterns, each expanded and sorted; order kept across them.

    A pattern that matches no file, or a path that is a directory, is an error naming ``flag``.
    """
    parts = spec if isinstance(spec, list) else [p.strip() for p in spec.split(",")]
    files: list[Path] = []
    for part in filter(None, parts):
        matches = sorted(glob.glob(os.path.expanduser(part))) if glob.has_magic(part) else [part]
        matches = [m for m in matches if Path(m).is_file()] if glob.has_magic(part) else matches
        if not matches:
            raise CorpusError(f"{flag}: {part!r} matches no file")
        for match in matches:
            path = Path(match)
            if not path.is_file():
                raise CorpusError(f"{flag}: {path} is not a file")
            files.append(path)
    if not files:
        raise CorpusError(f"{flag} names no file")
    return list(dict.fromkeys(files))


def split_sentences(text: str) -> list[str]:
    """Sentences of one line, each keeping its final punctuation; blanks dropped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) for every line, decoded one at a time."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CorpusError(
                    f"{path}:{number}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte "
                    f"{error.start + 1} of the line); convert the file to UTF-8"
                ) from None
            if number == 1:
                text = text.lstrip("\ufeff")
            yield number, text.rstrip("\r\n")


def has_blank_line(path: Path) -> bool:
    """Whether a non-empty line is followed later by a blank one (documents separated)."""
    seen_text = False
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                seen_text = True
            elif seen_text:
                return True
    return False


def iter_documents(path: Path, document_format: str = "auto") -> Iterator[list[str]]:
    """The documents of one file, each a list of sentences (never empty)."""
    if document_format not in DOCUMENT_FORMATS:
        raise CorpusError(f"document format must be one of {DOCUMENT_FORMATS}")
    if document_format == "auto":
        document_format = "blank_lines" if has_blank_line(path) else "lines"
    document: list[str] = []
    for _, line in _lines(path):
        if not line.strip():
            if document:
                yield document
                document = []
            continue
        sentences = split_sentences(line)
        if document_format == "lines":
            if sentences:
                yield sentences
        else:
            document.extend(sentences)
    if document:
        yield document


def iter_corpus(paths: list[Path], document_format: str = "auto") -> Iterator[list[str]]:
    for path in paths:
        yield from iter_documents(path, document_format)
