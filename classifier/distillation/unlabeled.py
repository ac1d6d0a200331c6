"""Unlabelled text for distillation: one text per line (pair tasks: text_a TAB text_b)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from classifier.text.chars import is_dropped, is_whitespace


class UnlabeledTextError(ValueError):
    """A file of unlabelled text that cannot be read; names the file and line."""


def read_unlabeled(
    paths: Iterable[str | Path], is_pair: bool
) -> tuple[list[str], list[str] | None]:
    """Texts (and second texts for pair tasks) of every non-empty line of ``paths``."""
    texts_a: list[str] = []
    texts_b: list[str] = []
    for path in map(Path, paths):
        if not path.is_file():
            kind = "is a directory" if path.is_dir() else "does not exist"
            raise UnlabeledTextError(f"--unlabeled_file {path} {kind}")
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as err:
                    raise UnlabeledTextError(
                        f"{path}:{number}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at "
                        f"column {err.start + 1}); save the file as UTF-8"
                    ) from None
                line = line.rstrip("\r\n")
                if not _has_content(line):
                    continue
                if is_pair:
                    text_a, tab, text_b = line.partition("\t")
                    if not tab:
                        raise UnlabeledTextError(
                            f"{path}:{number}: a pair task needs text_a<TAB>text_b on each line"
                        )
                    texts_a.append(text_a)
                    texts_b.append(text_b)
                else:
                    texts_a.append(line)
    return texts_a, (texts_b if is_pair else None)


def _has_content(text: str) -> bool:
    """Whether the tokenizer keeps anything of ``text`` (blank lines are skipped)."""
    return any(not (is_dropped(char) or is_whitespace(char)) for char in text)
