"""XLA (jit_compile) against the export's packed oneDNN forward pass, one text, one shape.

    python benchmarks/bench_xla.py --run_dir output/my_task [--tokens 22] [--rounds 7]

The trained model of ``--run_dir`` three ways, same weights, batch 1: the packed forward pass
with frozen weights that export.sh --freeze_weights serves (rows rounded to 16); the padded
forward pass over ``--tokens`` real tokens padded to a multiple of 4, compiled by XLA; the same
padded pass without XLA. Interleaved rounds of 10 calls, medians, and the compile time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from common import machine, save_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run_dir", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=22)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    import tensorflow as tf

    from classifier.trained_model import load_trained_model
    from export.serving_module import model_logits

    model, _ = load_trained_model(args.run_dir)
    length = -(-args.tokens // 4) * 4
    rng = np.random.default_rng(0)
    ids = rng.integers(100, model.backbone.vocab_size, args.tokens).astype("int32")
    padded = np.zeros((1, length), "int32")
    padded[0, : args.tokens] = ids
    mask = (np.arange(length) < args.tokens).astype("int32")[None, :]
    segments = np.zeros_like(padded)

    def padded_pass(token_ids, segment_ids, padding_mask):
        features = {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        }
        return model(features, training=False)

    signature = [tf.TensorSpec([1, length], tf.int32)] * 3
    xla = tf.function(padded_pass, input_signature=signature, jit_compile=True)
    plain = tf.function(padded_pass, input_signature=signature)
    packed = model_logits(model, packed=True, freeze=True)
    flat, flat_segments = tf.constant(ids), tf.zeros([args.tokens], tf.int32)
    lengths = tf.constant([args.tokens], tf.int64)
    started = time.perf_counter()
    xla_logits = xla(padded, segments, mask).numpy()
    compile_seconds = time.perf_counter() - started
    packed_logits = packed(flat, flat_segments, lengths).numpy()
    calls = {
        "packed_frozen_onednn": lambda: packed(flat, flat_segments, lengths).numpy(),
        "padded_xla": lambda: xla(padded, segments, mask).numpy(),
        "padded_no_xla": lambda: plain(padded, segments, mask).numpy(),
    }
    for call in calls.values():
        for _ in range(3):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(10):
                call()
            times[name].append((time.perf_counter() - started) * 100)
    results = {
        "machine": machine(),
        "tokens": args.tokens,
        "padded_length": length,
        "xla_compile_seconds": round(compile_seconds, 2),
        "max_abs_logit_difference_xla_vs_packed": float(np.abs(xla_logits - packed_logits).max()),
        "median_ms": {name: round(statistics.median(v), 2) for name, v in times.items()},
    }
    print(results["median_ms"], f"compile {compile_seconds:.1f} s")
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
