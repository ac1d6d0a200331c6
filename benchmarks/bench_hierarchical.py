"""Hierarchical labels against a flat classifier over the leaves, on real text.

    python benchmarks/bench_hierarchical.py [--tiny] [--seeds 1,2] [--output F] [--parent_loss_weight W]
        [--model_dir DIR] [--max_train N] [--stop_at_parent S]
        [--models hierarchical --reuse EARLIER.json]   # re-run one side only

Data: People's Daily sentences labelled with the kinds of word they contain, as label paths
under four parents, the families of the PKU tag set (data/prepare_peoples_daily_multilabel.py
--tree): 专名 (person, place, organisation, other proper noun), 时空 (time, place words), 熟语
(idiom, set phrase, abbreviation), 其他 (modal particle, status word, foreign word). A row has
any number of paths (none included), so both models are multilabel:

  hierarchical  --task_name=hierarchical: one sigmoid per node (4 parents + 12 leaves),
                consistent decisions (a leaf only under a decided parent)
  flat          --task_name=multilabel over the 12 leaves; its parents are those of the
                leaves it decides (what a user of a flat classifier gets)

--stop_at_parent S cuts a share S of the paths to their parent (annotators who named only the
family): the parents then hold labels no leaf does, and the flat model is given the paths as
written (12 leaves and 4 bare parents as 16 unrelated labels).

The same small BERT from random weights (2 layers, hidden 128, vocab of the data's characters)
or --model_dir's checkpoint (a pretrained one: what users fine-tune), the same train.sh flags
and seeds, thresholds fitted on dev by train.sh's default. Scored on
test (never fitted on), from each run's test_predictions.tsv by one function: per level,
micro-F1, macro-F1 and accuracy (the row's set of nodes at that level exactly right).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import peoples_daily_multilabel, random_small_bert, run_script, save_figures

SEPARATOR = "##"


def prepare(cache: Path, max_train: int, stop_at_parent: float = 0.0) -> tuple[Path, Path]:
    """(the tree data set, the same rows with flat labels). With ``stop_at_parent`` s, a share
    s of the paths (the same ones in every run: chosen by a hash of row and path) are cut to
    their parent in every split, as when annotators name only the family; the flat labels are
    then the paths as written (the 12 leaves and the 4 bare parents, 16 unrelated labels),
    since a flat model over the leaves could not answer those rows at all."""
    tree = peoples_daily_multilabel(cache, max_train, tree=True)
    if stop_at_parent:
        tree = cut_paths(tree, cache / f"{tree.name}_stop{stop_at_parent:g}", stop_at_parent)
    flat = cache / f"{tree.name}_flat"
    flat.mkdir(exist_ok=True)
    for split in ("train", "dev", "test"):
        (flat / f"{split}.tsv").write_bytes((tree / f"{split}.tsv").read_bytes())
    nodes = (tree / "labels.txt").read_text(encoding="utf-8").split()
    flat_labels = nodes if stop_at_parent else [n for n in nodes if SEPARATOR in n]
    (flat / "labels.txt").write_text("".join(f"{n}\n" for n in flat_labels), encoding="utf-8")
    return tree, flat


def cut_paths(source: Path, target: Path, share: float) -> Path:
    """``source``'s rows with a ``share`` of their paths cut to the parent (a bare parent
    dropped where another path of the row goes through it)."""
    import zlib

    target.mkdir(exist_ok=True)
    (target / "labels.txt").write_bytes((source / "labels.txt").read_bytes())
    for split in ("train", "dev", "test"):
        rows = []
        for number, row in enumerate((source / f"{split}.tsv").read_text("utf-8").splitlines()):
            field, text = row.split("\t", 1)
            paths = []
            for path in split_field(field):
                draw = zlib.crc32(f"{split}:{number}:{path}".encode()) / 2**32
                kept = path.split(SEPARATOR)[0] if draw < share else path
                if kept not in paths:
                    paths.append(kept)
            # a bare parent that another path of the row goes through says nothing more
            paths = [a for a in paths if not any(b.startswith(a + SEPARATOR) for b in paths)]
            rows.append("|".join(paths) + "\t" + text + "\n")
        (target / f"{split}.tsv").write_text("".join(rows), encoding="utf-8")
    return target


def nodes_of(paths: list[str]) -> set[str]:
    """Each path and its ancestors."""
    nodes = set()
    for path in paths:
        levels = path.split(SEPARATOR)
        nodes.update(SEPARATOR.join(levels[: i + 1]) for i in range(len(levels)))
    return nodes


def split_field(field: str) -> list[str]:
    return [part for part in field.split("|") if part]


def level_figures(gold: list[set[str]], predicted: list[set[str]], names: list[str]) -> dict:
    """micro-F1, macro-F1 over ``names`` and accuracy (each row's set among them exact)."""
    import numpy as np

    from classifier.thresholds import decision_metric

    def hot(rows: list[set[str]]):
        return np.array([[name in row for name in names] for row in rows], np.int32)

    y, p = hot(gold), hot(predicted)
    return {
        "micro_f1": round(decision_metric("micro_f1", p, y), 4),
        "macro_f1": round(decision_metric("macro_f1", p, y), 4),
        "accuracy": round(float(np.mean(np.all(p == y, axis=1))), 4),
    }


def score(data: Path, run: Path) -> dict:
    """Parent-level, leaf-level and all-node figures of a run's test predictions."""
    gold_rows = (data / "test.tsv").read_text(encoding="utf-8").splitlines()
    gold = [nodes_of(split_field(row.split("\t", 1)[0])) for row in gold_rows]
    lines = (run / "test_predictions.tsv").read_text(encoding="utf-8").splitlines()
    column = (
        lines[0]
        .split("\t")
        .index(next(c for c in lines[0].split("\t") if c.startswith("predicted_")))
    )
    predicted = [nodes_of(split_field(line.split("\t")[column])) for line in lines[1:]]
    assert len(predicted) == len(gold), (len(predicted), len(gold))
    nodes = (data.parent / data.name.removesuffix("_flat") / "labels.txt").read_text("utf-8")
    names = nodes.split()
    parents = [n for n in names if SEPARATOR not in n]
    leaves = [n for n in names if SEPARATOR in n]
    return {
        "parents": level_figures(gold, predicted, parents),
        "leaves": level_figures(gold, predicted, leaves),
        "all_nodes": level_figures(gold, predicted, names),
    }


def train(data: Path, task: str, model: Path, out: Path, seed: int, args) -> dict:
    started = time.perf_counter()
    run_script(
        "train",
        f"--task_name={task}",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--overwrite",
        f"--learning_rate={args.learning_rate}",
        f"--num_train_epochs={args.epochs}",
        "--max_seq_length=128",
        f"--seed={seed}",
        *(
            [f"--parent_loss_weight={args.parent_loss_weight}"]
            if task == "hierarchical" and args.parent_loss_weight is not None
            else []
        ),
    )
    figures = score(data, out)
    results = json.loads((out / "test_results.json").read_text(encoding="utf-8"))
    figures["test_results_micro_f1"] = round(results["micro_f1"], 4)
    if "levels" in results:
        figures["test_results_levels"] = results["levels"]
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="1,000 rows, hidden 32: smoke run")
    parser.add_argument("--max_train", type=int, default=20000)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--hidden_size", type=int, default=128)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--seeds", default="1,2", help="comma-separated training seeds")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zh_bench")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    parser.add_argument(
        "--stop_at_parent",
        type=float,
        default=0.0,
        help="share of the paths cut to their parent in every split (default 0: none)",
    )
    parser.add_argument(
        "--model_dir", type=Path, help="a checkpoint to fine-tune (default: a random small BERT)"
    )
    parser.add_argument(
        "--parent_loss_weight",
        type=float,
        help="train.sh's flag for the hierarchical side (unset: its default)",
    )
    parser.add_argument(
        "--models", default="hierarchical,flat", help="which of hierarchical,flat to train"
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        help="an earlier --output whose runs of the models not trained now are reused (same "
        "seeds and data; for re-running one side after a change to the other's code only)",
    )
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.epochs, args.hidden_size = 1000, 1.0, 32
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.cache.mkdir(parents=True, exist_ok=True)
    tree, flat = prepare(args.cache, args.max_train, args.stop_at_parent)
    texts = [tree / f"{split}.tsv" for split in ("train", "dev", "test")]
    model = args.model_dir or random_small_bert(
        args.cache / f"bert_h{args.hidden_size}_tree", texts, args.hidden_size
    )

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    runs: dict[str, list[dict]] = {"hierarchical": [], "flat": []}
    if args.reuse:
        earlier = json.loads(args.reuse.read_text(encoding="utf-8"))
        for name in set(runs) - set(models):
            runs[name] = earlier["runs"][name]
            assert len(runs[name]) == len(seeds), f"{args.reuse} has other seeds for {name}"
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            for name, data, task in (
                ("hierarchical", tree, "hierarchical"),
                ("flat", flat, "multilabel"),
            ):
                if name not in models:
                    continue
                result = train(data, task, model, Path(scratch) / f"{name}_{seed}", seed, args)
                runs[name].append(result)
                print(f"{name} seed {seed}: {json.dumps(result, ensure_ascii=False)}", flush=True)

    def mean(name: str, level: str, metric: str) -> float:
        values = [r[level][metric] for r in runs[name]]
        return round(statistics.mean(values), 4) if values else float("nan")

    print(f"\ntest figures, mean of {len(seeds)} seed(s) ({args.max_train} training rows):")
    print("| level | metric | hierarchical | flat over leaves | difference |")
    print("|---|---|---:|---:|---:|")
    table = {}
    for level in ("parents", "leaves", "all_nodes"):
        for metric in ("micro_f1", "macro_f1", "accuracy"):
            h, f = mean("hierarchical", level, metric), mean("flat", level, metric)
            table[f"{level}.{metric}"] = {"hierarchical": h, "flat": f}
            print(f"| {level} | {metric} | {h:.4f} | {f:.4f} | {h - f:+.4f} |")
    save_figures(args.output, args, runs, mean=table)


if __name__ == "__main__":
    main()
