"""Multilabel accuracy on real text: People's Daily sentences labelled with the kinds of entity
and word they contain (data/prepare_peoples_daily_multilabel.py).

    python benchmarks/bench_multilabel.py [--tiny] [--seeds 1,2,3] [--configs ...] [--output F]

A small BERT (2 layers, hidden 128, vocab built from the data's characters) is trained from
random weights (or --model_dir, e.g. one pretrained by bench_pretraining.py, at --learning_rate)
by the train.sh code path, once per configuration and seed, and compared on dev micro-F1 (the
run's cross-fitted figure, thresholds as train.sh fits them) with the two peers measured in the
same run: the label priors (a constant prediction, thresholds fitted the same way) and jieba +
TF-IDF + logistic regression (scripts/baseline.sh).

Thresholds: for every run, the trained model's calibrated dev and test probabilities are read
back and the test micro-F1 is computed at the thresholds of each strategy fitted on dev
(fixed 0.5, global, per_label) and at the ones this project shipped before
--threshold_strategy (each label's own best F1, "label_f1"): the held-out effect of each way of
fitting thresholds, on one model. Configurations:

  zeros_grouped  the recipe before the fix: head logits start at zero, length-grouped batches
  zeros          head logits start at zero, random batches
  prior          the default: head starts at the label priors, random batches
  pos_weight     prior + --pos_weight balanced
  focal          prior + --loss focal
  asymmetric     prior + --loss asymmetric

Each run's training-loss history is printed too: a flat loss from the second epoch is the
collapse this benchmark exists to catch.
"""

from __future__ import annotations

import argparse
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
    tfidf_report,
)

CONFIGS = {
    "zeros_grouped": ["--head_bias_init=zeros", "--group_by_length"],
    "zeros": ["--head_bias_init=zeros"],
    "prior": [],
    "pos_weight": ["--pos_weight=balanced"],
    "focal": ["--loss=focal"],
    "asymmetric": ["--loss=asymmetric"],
}


def label_rows(folder: Path, split: str, labels: list[str]):
    import numpy as np

    rows = (folder / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    targets = np.zeros((len(rows), len(labels)), np.float32)
    for i, row in enumerate(rows):
        for name in filter(None, row.split("\t", 1)[0].split("|")):
            targets[i, labels.index(name)] = 1.0
    return targets


def priors_micro_f1(folder: Path) -> float:
    """Dev micro-F1 of predicting every label's training frequency, thresholds tuned on dev."""
    import numpy as np

    from classifier import metrics as M
    from classifier.thresholds import ThresholdPolicy, choose_thresholds

    labels = (folder / "labels.txt").read_text(encoding="utf-8").split()
    train, dev = label_rows(folder, "train", labels), label_rows(folder, "dev", labels)
    p = np.clip(train.mean(axis=0), 1e-6, 1 - 1e-6)
    probs = np.tile(p, (len(dev), 1))
    thresholds = choose_thresholds(probs, dev, ThresholdPolicy()).thresholds
    return M.multilabel_report(np.log(probs / (1 - probs)), dev, labels, thresholds)["micro_f1"]


def label_own_f1_thresholds(probs, targets):
    """The thresholds shipped before --threshold_strategy: each label's own best F1 on dev,
    halfway to the next probability below (the old classifier.metrics.tune_thresholds)."""
    import numpy as np

    thresholds = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        truth = targets[:, j].astype(bool)
        if not truth.any():
            continue
        order = np.argsort(-probs[:, j], kind="stable")
        p, hits = probs[order, j], truth[order]
        f1 = 2 * np.cumsum(hits) / (np.arange(1, len(p) + 1) + truth.sum())
        f1 = np.where(np.append(p[:-1] > p[1:], True), f1, -1.0)
        cuts = (p + np.append(p[1:], 0.0)) / 2
        best = np.flatnonzero(np.isclose(f1, f1.max()))
        thresholds[j] = cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]]
    return thresholds


def threshold_comparison(run: Path, data: Path) -> dict:
    """Test micro-F1 of one trained run at each way of fitting thresholds on its dev set."""
    import numpy as np

    import processors
    from classifier.inference import predict_logits
    from classifier.thresholds import STRATEGIES, decision_metric, fit_thresholds
    from classifier.trained_model import VOCAB_FILE, load_trained_model
    from classifier.training.data import encode_examples

    model, spec = load_trained_model(run)
    head, encoder = spec.head, spec.text_encoder(run / VOCAB_FILE)
    task = processors.get_processor("multilabel")(str(data))
    split = {}
    for name in ("dev", "test"):
        examples = getattr(task, f"get_{name}_examples")()
        encoded = encode_examples(encoder, examples, spec)
        split[name] = (
            head.probabilities(predict_logits(model, encoded, 128)),
            head.encode_labels(examples),
        )
    (dev_p, dev_y), (test_p, test_y) = split["dev"], split["test"]
    fitted = {s: fit_thresholds(dev_p, dev_y, s, "micro_f1") for s in STRATEGIES}
    fitted["label_f1"] = label_own_f1_thresholds(dev_p, dev_y)
    fitted["shipped"] = np.asarray(spec.thresholds)
    return {
        name: round(decision_metric("micro_f1", test_p >= t[None, :], test_y), 4)
        for name, t in fitted.items()
    }


def tfidf_micro_f1(folder: Path) -> float:
    return tfidf_report(folder, "multilabel", split="dev")["micro_f1"]


def train(
    data: Path,
    model: Path,
    out: Path,
    flags: list[str],
    seed: int,
    epochs: float,
    learning_rate: float = 1e-3,
) -> dict:
    """One train.sh run in its own process; returns its dev results and loss history."""
    import json

    flags = [
        "--task_name=multilabel",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--overwrite",
        f"--learning_rate={learning_rate}",
        f"--num_train_epochs={epochs}",
        "--max_seq_length=128",
        f"--seed={seed}",
        *flags,
    ]
    started = time.perf_counter()
    run_script("train", *flags)
    summary = json.loads((out / "train_summary.json").read_text(encoding="utf-8"))
    results = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    tuning = results["threshold_tuning"]
    return {
        "micro_f1": results["micro_f1"],
        "macro_f1": results["macro_f1"],
        "dev_micro_f1_at_0.5": results["micro_f1_at_0.5"],
        "dev_cross_validated": tuning["cross_validated"],
        "shipped_strategy": tuning["strategy"],
        "test_micro_f1_by_thresholds": threshold_comparison(out, data),
        "train_loss_history": [round(x, 4) for x in summary["train_loss_history"]],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="1,000 rows, hidden 32: smoke run")
    parser.add_argument("--max_train", type=int, default=20000)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--hidden_size", type=int, default=128)
    parser.add_argument("--seeds", default="1", help="comma-separated training seeds")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="which configurations")
    parser.add_argument(
        "--model_dir", type=Path, help="checkpoint to fine-tune (default: a random small BERT)"
    )
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.epochs, args.hidden_size = 1000, 1.0, 32
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; known: {list(CONFIGS)}")
    seeds = [int(s) for s in args.seeds.split(",")]

    cache = Path(tempfile.gettempdir()) / "zh_textclf_bench"
    data = peoples_daily_multilabel(cache, args.max_train)
    model = args.model_dir or random_small_bert(
        cache / f"pd_bert_h{args.hidden_size}",
        [data / "train.tsv", data / "dev.tsv"],
        args.hidden_size,
    )
    priors, tfidf = priors_micro_f1(data), tfidf_micro_f1(data)
    print(f"label priors: dev micro-F1 {priors:.4f}; TF-IDF baseline: {tfidf:.4f}", flush=True)

    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:  # seeds outermost: every configuration sees the same load
            for name in configs:
                out = Path(tmp) / f"{name}_{seed}"
                run = train(data, model, out, CONFIGS[name], seed, args.epochs, args.learning_rate)
                runs.setdefault(name, []).append(run)
                print(
                    f"{name:>14} seed {seed}: micro-F1 {run['micro_f1']:.4f} macro-F1 "
                    f"{run['macro_f1']:.4f} train loss {run['train_loss_history']} "
                    f"({run['seconds']:.0f} s)\n{'':>14} dev cross-validated "
                    f"{run['dev_cross_validated']} (shipped {run['shipped_strategy']}); test "
                    f"micro-F1 by thresholds {run['test_micro_f1_by_thresholds']}",
                    flush=True,
                )

    summary = {}
    print(f"\n{'config':>14} {'micro-F1 mean':>14} {'spread':>8} {'x priors':>9} {'/ TF-IDF':>9}")
    for name, results in runs.items():
        values = [r["micro_f1"] for r in results]
        mean = statistics.fmean(values)
        spread = max(values) - min(values)
        summary[name] = {"micro_f1_mean": round(mean, 4), "micro_f1_spread": round(spread, 4)}
        print(f"{name:>14} {mean:14.4f} {spread:8.4f} {mean / priors:9.2f} {mean / tfidf:9.2f}")
    print("\ntest micro-F1 (mean over seeds) at thresholds fitted on dev by each way:")
    for name, results in runs.items():
        ways = results[0]["test_micro_f1_by_thresholds"]
        means = {
            w: statistics.fmean(r["test_micro_f1_by_thresholds"][w] for r in results) for w in ways
        }
        summary[name]["test_micro_f1_by_thresholds"] = {w: round(v, 4) for w, v in means.items()}
        print(f"{name:>14} " + "  ".join(f"{w} {v:.4f}" for w, v in means.items()))
    if args.output:
        save_json(
            args.output,
            {
                "machine": machine(),
                "data": str(data),
                "max_train": args.max_train,
                "epochs": args.epochs,
                "hidden_size": args.hidden_size,
                "priors_micro_f1": round(priors, 4),
                "tfidf_micro_f1": round(tfidf, 4),
                "runs": runs,
                "summary": summary,
            },
        )


if __name__ == "__main__":
    main()
