"""WordPiece vocabulary files: one token per line, line number = id.

google-research/bert reads a vocab line by line and looks tokens up by ``line.strip()``; a token that
occurs twice silently keeps only its last id. We read the same way but refuse such duplicates, since
they make ``convert_tokens_to_ids`` and the ids the model was trained with disagree. A real Google
Chinese vocab.txt (21128 lines) has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
REQUIRED_SPECIAL_TOKENS = (PAD, UNK, CLS, SEP)

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SpecialIds:
    """Ids of the special tokens; ``mask_id`` is None for a vocab without [MASK]."""

    pad_id: int
    unk_id: int
    cls_id: int
    sep_id: int
    mask_id: int | None


def load_vocab(path: PathLike) -> list[str]:
    """Tokens in id order. Lines end at "\\n" only (a trailing "\\r" is removed); tokens are kept
    as written, so U+2028 or U+0085 inside a token cannot shift the ids that follow it.

    A Hugging Face ``tokenizer.json`` (WordPiece model) is read too: many Hub folders ship it
    without a vocab.txt."""
    if str(path).endswith(".json"):
        return load_tokenizer_json(path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: vocab is not valid UTF-8 ({e.reason})") from e
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last token
    tokens = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not tokens:
        raise ValueError(f"{path}: vocab file is empty")
    lookup_table(tokens, source=str(path))
    return tokens


def load_tokenizer_json(path: PathLike) -> list[str]:
    """The WordPiece vocab of a Hugging Face tokenizers file, in id order."""
    import json

    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable tokenizer.json ({e})") from e
    model = data.get("model") or {}
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise ValueError(
            f"{path}: a {model.get('type', 'unknown')} tokenizer; BERT-family models need a "
            "WordPiece vocab (vocab.txt)"
        )
    by_id = {int(i): token for token, i in model["vocab"].items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"{path}: the vocab's ids are not 0..{len(by_id) - 1} without gaps")
    tokens = [by_id[i] for i in range(len(by_id))]
    lookup_table(tokens, source=str(path))
    return tokens


def write_vocab(path: PathLike, tokens: Sequence[str]) -> None:
    """Writes ``tokens`` so that ``load_vocab`` returns exactly them."""
    for i, token in enumerate(tokens):
        if "\n" in token or token.endswith("\r"):
            raise ValueError(f"token {i} ({token!r}) contains a line break and cannot be written")
    lookup_table(tokens)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(token + "\n" for token in tokens))


def lookup_table(tokens: Sequence[str], source: str = "vocab") -> dict[str, int]:
    """token -> id with google-research/bert's ``strip()`` keys; raises on an ambiguous token.

    Keys that are empty after stripping can never be produced by the tokenizer, so repeats of them
    (blank lines) are tolerated and, as in Google's code, the last one wins.
    """
    if not tokens:
        raise ValueError(f"{source}: vocab is empty")
    table: dict[str, int] = {}
    for i, token in enumerate(tokens):
        key = token.strip()
        if key and key in table:
            raise ValueError(
                f"{source}: token {key!r} appears at lines {table[key] + 1} and {i + 1}; "
                "its id would be ambiguous"
            )
        table[key] = i
    return table


def special_ids(table: Mapping[str, int], source: str = "vocab") -> SpecialIds:
    """Looks up the special tokens; [PAD], [UNK], [CLS] and [SEP] are required."""
    missing = [t for t in REQUIRED_SPECIAL_TOKENS if t not in table]
    if missing:
        raise ValueError(f"{source}: required special tokens missing from the vocab: {missing}")
    return SpecialIds(
        pad_id=table[PAD],
        unk_id=table[UNK],
        cls_id=table[CLS],
        sep_id=table[SEP],
        mask_id=table.get(MASK),
    )


def resolve_vocab(vocab: Sequence[str] | PathLike) -> list[str]:
    """Accepts a token list or a vocab.txt path."""
    if isinstance(vocab, str | os.PathLike):
        return load_vocab(vocab)
    if isinstance(vocab, bytes):
        raise TypeError("vocab must be a path or a sequence of str tokens")
    return list(vocab)


def build_tiny_chinese_vocab(extra_texts: Iterable[str] = ()) -> list[str]:
    """A few-thousand-token vocab laid out like Google's Chinese vocab.txt, for tiny test models."""
    from classifier.text.tiny_vocab import tiny_chinese_vocab

    return tiny_chinese_vocab(extra_texts)
