"""The support index of a run: every training row's pooled representation, so that a text's
nearest training rows (cosine) can be listed as the examples its prediction rests on.

It lives in the run folder, ``RUN/support_index/``:

- ``vectors.npy``: float32 [N, H], one L2-normalised row per training example (a dot product
  is the cosine), read memory-mapped;
- ``rows.jsonl``: one object per vector: ``line`` (in train.tsv; null when the rows did not
  come from a file), ``guid``, ``text``, ``text_b`` (pairs), ``label`` (multilabel: a list);
- ``meta.json``: the fingerprint of the weights the vectors came from, where the rows came
  from, N and H.

Representations belong to one set of weights: an index whose fingerprint does not match the
run's weights (retrained since) is refused, with the command that rebuilds it. The folder is
written whole or not at all (built beside it, then renamed into place).

numpy and plain Python: the representations come from a function the caller passes
(classifier.explain.representations over a Keras model).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifier.files import write_json
from classifier.iteration import chunks
from classifier.run_folder import SPEC_FILE

if TYPE_CHECKING:
    from classifier.heads.base import Example

INDEX_DIR = "support_index"
VECTORS_FILE = "vectors.npy"
ROWS_FILE = "rows.jsonl"
META_FILE = "meta.json"
FORMAT = 1
WEIGHTS_FILE = "model.weights.h5"  # classifier.trained_model.WEIGHTS_FILE (which loads Keras)
DEFAULT_TOP_K = 3
# train.sh builds the index at the end of training up to this many training rows (one forward
# pass over them; float32 vectors: BERT-base, 50,000 rows ~ 150 MB); above it, explain.sh --index.
AUTO_INDEX_MAX_ROWS = 50_000
CHUNK_ROWS = 1024  # texts represented per call while building
QUERY_BLOCK = 32  # queries compared with every training row at once (N x 32 float32)
ROUNDING = 6

# (texts, texts_b or None) -> float32 [len(texts), H], L2-normalised rows.
Represent = Callable[[list[str], list[str] | None], np.ndarray]

_GUID_LINE = re.compile(r"^train-(\d+)$")


class SupportIndexError(ValueError):
    """An index that cannot be used (missing, stale, damaged); the message says how to rebuild."""


class SupportIndexMissing(SupportIndexError):
    """The run folder holds no support index."""


class StaleSupportIndex(SupportIndexError):
    """The index was built from other weights than the run's."""


def index_command(run_dir: str | Path) -> str:
    return f"scripts/explain.sh --output_dir={run_dir} --index"


def weights_fingerprint(run_dir: str | Path) -> str:
    """sha256 over the run's weights and spec: what the representations depend on (a copied
    run folder keeps it, unlike a modification time)."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, SPEC_FILE):
        digest.update(name.encode())
        with (Path(run_dir) / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def line_of(example: Example, from_file: bool) -> int | None:
    """The example's line in its file, from a processor's guid ("train-<line>")."""
    found = _GUID_LINE.match(str(example.guid)) if from_file else None
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class SupportingRow:
    """A training row near a text: its line in train.tsv, text(s), gold label(s) and cosine."""

    line: int | None
    guid: str
    text: str
    text_b: str | None
    label: str | list[str]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"line": self.line, "text": self.text}
        if self.text_b is not None:
            result["text_b"] = self.text_b
        result["label"] = self.label
        result["similarity"] = round(self.similarity, ROUNDING)
        return result

    @property
    def label_text(self) -> str:
        return self.label if isinstance(self.label, str) else "|".join(self.label)


def _row_record(example: Example, from_file: bool, is_pair: bool) -> dict[str, Any]:
    label: str | list[str] = (
        example.label if example.label is not None else list(example.labels or ())
    )
    record: dict[str, Any] = {
        "line": line_of(example, from_file),
        "guid": str(example.guid),
        "text": example.text_a,
        "label": label,
    }
    if is_pair:
        record["text_b"] = example.text_b or ""
    return record


def build_support_index(
    run_dir: str | Path,
    examples: Iterable[Example],
    represent: Represent,
    is_pair: bool,
    source: dict[str, Any] | None = None,
    from_file: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> SupportIndex:
    """Represents every example (streamed, ``chunk_rows`` at a time) and writes the index into
    ``run_dir/support_index`` (replacing an older one only once the new one is whole).

    ``source``: where the rows came from (data_dir, task_name...), kept in meta.json;
    ``from_file``: the examples' guids carry their train.tsv lines (a processor's)."""
    run = Path(run_dir)
    final = run / INDEX_DIR
    tmp = run / f".{INDEX_DIR}.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        fingerprint = weights_fingerprint(run)
        blocks = []
        with open(tmp / ROWS_FILE, "w", encoding="utf-8", newline="\n") as rows:
            for chunk in chunks(examples, chunk_rows):
                vectors = np.asarray(
                    represent(
                        [e.text_a for e in chunk],
                        [e.text_b or "" for e in chunk] if is_pair else None,
                    ),
                    np.float32,
                )
                if vectors.ndim != 2 or len(vectors) != len(chunk):
                    raise ValueError(
                        f"representations of {len(chunk)} texts came back as {vectors.shape}"
                    )
                blocks.append(vectors)
                for example in chunk:
                    record = _row_record(example, from_file, is_pair)
                    rows.write(json.dumps(record, ensure_ascii=False) + "\n")
        if not blocks:
            raise ValueError("no training rows to index (the training file is empty)")
        matrix = np.concatenate(blocks)
        np.save(tmp / VECTORS_FILE, matrix)
        meta = {
            "format": FORMAT,
            "weights_fingerprint": fingerprint,
            "rows": int(matrix.shape[0]),
            "dim": int(matrix.shape[1]),
            "is_pair": bool(is_pair),
            "source": source or {},
        }
        write_json(tmp / META_FILE, meta)
        _replace_folder(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_support_index(run)


def _replace_folder(new: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def has_support_index(run_dir: str | Path) -> bool:
    return (Path(run_dir) / INDEX_DIR / META_FILE).is_file()


def load_support_index(run_dir: str | Path, check_fresh: bool = True) -> SupportIndex:
    """The run's index; SupportIndexMissing, StaleSupportIndex (``check_fresh``: the weights
    changed since it was built) or SupportIndexError (damaged), each naming the command that
    rebuilds it."""
    run = Path(run_dir)
    folder = run / INDEX_DIR
    rebuild = f"build it with {index_command(run)}"
    if not (folder / META_FILE).is_file():
        raise SupportIndexMissing(
            f"{run} has no support index ({folder} missing): {rebuild} (train.sh builds it at "
            f"the end of training for up to {AUTO_INDEX_MAX_ROWS:,} training rows)"
        )
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r")
        with open(folder / ROWS_FILE, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
    except (OSError, ValueError) as err:
        raise SupportIndexError(f"{folder} cannot be read ({err}); re{rebuild}") from None
    if meta.get("format") != FORMAT or vectors.ndim != 2 or len(rows) != len(vectors):
        raise SupportIndexError(
            f"{folder} is damaged or of another version ({len(rows)} rows, vectors "
            f"{vectors.shape}, format {meta.get('format')!r}); re{rebuild}"
        )
    if check_fresh and meta.get("weights_fingerprint") != weights_fingerprint(run):
        raise StaleSupportIndex(
            f"{folder} was built from other weights ({run / WEIGHTS_FILE} has changed since: "
            f"retrained?); re{rebuild}"
        )
    return SupportIndex(folder, vectors, rows, meta)


@dataclass
class SupportIndex:
    folder: Path
    vectors: np.ndarray  # float32 [N, H], L2-normalised, memory-mapped
    rows: list[dict[str, Any]]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def nearest(self, queries: np.ndarray, top_k: int = DEFAULT_TOP_K) -> list[list[SupportingRow]]:
        """Per query (an L2-normalised representation), the ``top_k`` training rows of highest
        cosine similarity, best first; equal similarities keep train.tsv's order."""
        if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
        queries = np.asarray(queries, np.float32)
        if queries.ndim != 2 or (len(queries) and queries.shape[1] != self.dim):
            raise ValueError(
                f"representations of shape {queries.shape} do not fit the support index's "
                f"{self.dim} dimensions; rebuild it with "
                f"{index_command(self.folder.parent)}"
            )
        found = []
        for start in range(0, len(queries), QUERY_BLOCK):
            block = queries[start : start + QUERY_BLOCK]
            similarities = np.asarray(self.vectors @ block.T, np.float64)  # [N, Q]
            for column in similarities.T:
                found.append([self._row(i, column[i]) for i in top_indices(column, top_k)])
        return found

    def _row(self, index: int, similarity: float) -> SupportingRow:
        record = self.rows[index]
        return SupportingRow(
            record.get("line"),
            record.get("guid", ""),
            record["text"],
            record.get("text_b"),
            record["label"],
            float(similarity),
        )


def top_indices(scores: Sequence[float] | np.ndarray, k: int) -> list[int]:
    """The indices of the ``k`` highest scores, highest first; ties: the lower index first."""
    scores = np.asarray(scores)
    k = min(int(k), len(scores))
    if k <= 0:
        return []
    if k < len(scores):
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return [int(i) for i in candidates[order][:k]]
