"""K augmented rows per original row: the plan, the edits, the masked-LM fills and the
duplicates dropped.

The K augmentations of the rows take the methods in turn (augmentation number i*K + j uses
methods[(i*K + j) % len(methods)]), so each method gets its share even when K is smaller than
the number of methods. Each augmentation draws from its own generator, seeded by (seed, row,
augmentation): the output depends on the input and --seed only, and rows added at the end of
a file leave the earlier rows' augmentations as they were. ``mlm`` edits are collected and filled
together, in batches, after the word edits.

Rows are written originals first, then each original's augmentations in order. The originals
are kept as they are (duplicates among them are the user's data); an augmented row that is an
exact copy of an earlier row, original or augmented (label and every field alike), is dropped
and counted under its method.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from curation.tsv_table import Row, Table
from curation.word_edits import WORD_EDITS, choose_masked_words

MLM = "mlm"
METHODS = (*WORD_EDITS, MLM)
DEFAULT_METHODS = ("swap", "delete", "insert")


class MaskFiller(Protocol):
    """What ``mlm`` needs from a masked LM (curation.mlm_fill.MaskedWordFiller)."""

    def maskable(self, words: Sequence[str]) -> list[int]:
        """The positions of the words the model can mask and see."""
        ...

    def fill(self, requests: Sequence[tuple[Sequence[str], Sequence[int]]]) -> list[list[str]]:
        """Each (words, positions) with the words at those positions replaced."""
        ...


@dataclass(frozen=True)
class AugmentSettings:
    methods: tuple[str, ...] = DEFAULT_METHODS
    num_aug: int = 4
    alpha: float = 0.1
    seed: int = 12345
    augment_both: bool = False  # pair tasks: edit text_b too
    keep_original: bool = True

    def __post_init__(self) -> None:
        unknown = [name for name in self.methods if name not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"unknown method {unknown[0]!r}" if unknown else "no method given")
        if self.num_aug < 1 or not 0 < self.alpha < 1:
            raise ValueError("num_aug must be at least 1 and alpha in (0, 1)")


@dataclass
class AugmentSummary:
    rows_in: int = 0
    originals_out: int = 0
    kept: Counter = field(default_factory=Counter)  # augmented rows written, per method
    dropped: Counter = field(default_factory=Counter)  # duplicates dropped, per method

    @property
    def rows_out(self) -> int:
        return self.originals_out + sum(self.kept.values())

    def line(self, methods: Sequence[str]) -> str:
        per_method = ", ".join(f"{m} {self.kept[m]}/{self.dropped[m]}" for m in methods)
        return (
            f"{self.rows_in} rows in, {self.rows_out} rows out ({self.originals_out} original, "
            f"{sum(self.kept.values())} augmented), {sum(self.dropped.values())} duplicates "
            f"dropped; per method (kept/dropped): {per_method}"
        )


@dataclass
class _Augmentation:
    original: int
    method: str
    texts: dict[int, str]  # column -> new text


def augment_table(
    table: Table,
    settings: AugmentSettings,
    segment: Callable[[str], list[str]],
    filler: MaskFiller | None = None,
) -> tuple[list[Row], AugmentSummary]:
    """The output rows and what was made and dropped; ``segment`` cuts a text into words
    (jieba), ``filler`` serves ``mlm`` (required when it is among the methods)."""
    if MLM in settings.methods and filler is None:
        raise ValueError("the mlm method needs a masked LM (--model_dir)")
    columns = table.text_columns if settings.augment_both else table.text_columns[:1]
    words_of = _WordCache(segment)
    augmentations: list[_Augmentation] = []
    requests: list[tuple[_Augmentation, int, list[str], list[int]]] = []
    count = settings.num_aug
    for i, row in enumerate(table.rows):
        for j in range(count):
            method = settings.methods[(i * count + j) % len(settings.methods)]
            rng = random.Random(f"{settings.seed}:{i}:{j}")
            augmentation = _Augmentation(i, method, {})
            for column in columns:
                words = words_of(row[column])
                if method == MLM:
                    assert filler is not None
                    masked = choose_masked_words(words, settings.alpha, rng, filler.maskable(words))
                    requests.append((augmentation, column, words, masked))
                else:
                    edited = WORD_EDITS[method](words, settings.alpha, rng)
                    augmentation.texts[column] = "".join(edited)
            augmentations.append(augmentation)
    if requests:
        assert filler is not None
        filled = filler.fill([(words, masked) for _, _, words, masked in requests])
        for (augmentation, column, _, _), words in zip(requests, filled, strict=True):
            augmentation.texts[column] = "".join(words)
    return _deduplicated(table.rows, augmentations, settings)


def _deduplicated(
    originals: list[Row], augmentations: list[_Augmentation], settings: AugmentSettings
) -> tuple[list[Row], AugmentSummary]:
    summary = AugmentSummary(rows_in=len(originals))
    seen = set(originals)
    out = list(originals) if settings.keep_original else []
    summary.originals_out = len(out)
    for augmentation in augmentations:
        row = list(originals[augmentation.original])
        for column, text in augmentation.texts.items():
            row[column] = text
        fields = tuple(row)
        if fields in seen:
            summary.dropped[augmentation.method] += 1
            continue
        seen.add(fields)
        out.append(fields)
        summary.kept[augmentation.method] += 1
    return out, summary


class _WordCache:
    """Each text segmented once, however many augmentations it gets (a copy per use)."""

    def __init__(self, segment: Callable[[str], list[str]]) -> None:
        self._segment = segment
        self._words: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        if text not in self._words:
            self._words[text] = list(self._segment(text))
        return list(self._words[text])
