"""int8 dense layers (export.sh --quantize int8) against the float32 export of a trained model:
accuracy on a labelled split and one-text latency.

    python benchmarks/bench_int8.py --run_dir output/my_task --data_dir DATA [--split test]

Both exports are frozen (--freeze_weights), so the comparison is with the fastest float32 path.
Accuracy: every text of the split through each export's serving_default (batches of 64).
Latency: bench_exports.py --processes 3 on short reviews and 128-token texts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, machine, read_split, save_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run_dir", type=Path, required=True, help="a train.sh output folder")
    parser.add_argument("--data_dir", type=Path, required=True, help="label<TAB>text files")
    parser.add_argument("--split", default="test")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    from export import export_trained_model
    from serving import Predictor

    work = Path(tempfile.mkdtemp(prefix="bench_int8_"))
    exports = {}
    for name, quantize in (("float32", None), ("int8", "int8")):
        exports[name] = export_trained_model(
            args.run_dir, work / name, freeze_weights=True, quantize=quantize
        ).path
    texts, gold = read_split(args.data_dir, args.split)
    results = {"machine": machine(), "run_dir": str(args.run_dir), "examples": len(texts)}
    predictions = {}
    for name, path in exports.items():
        outputs = Predictor(path).run(texts)
        predictions[name] = outputs
        results[f"{name}_accuracy"] = round(float(np.mean(outputs["label"] == np.array(gold))), 4)
    results["predictions_that_differ"] = int(
        np.sum(predictions["float32"]["label"] != predictions["int8"]["label"])
    )
    results["max_abs_probability_difference"] = float(
        np.abs(predictions["float32"]["probabilities"] - predictions["int8"]["probabilities"]).max()
    )
    speed = work / "speed.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_exports.py"),
            f"--processes={args.processes}",
            *(f"--export={name}={path}" for name, path in exports.items()),
            f"--output={speed}",
        ],
        check=True,
        capture_output=True,
    )
    results["latency"] = json.loads(speed.read_text(encoding="utf-8"))["cases"]
    print(
        f"{args.split} accuracy: float32 {results['float32_accuracy']:.4f}, int8 "
        f"{results['int8_accuracy']:.4f} ({results['predictions_that_differ']} of {len(texts)} "
        f"predictions differ, max |p diff| {results['max_abs_probability_difference']:.1e})"
    )
    for kind, cases in results["latency"].items():
        print(
            f"{kind}: float32 {cases['float32']['ms_per_text']:.2f} ms, int8 "
            f"{cases['int8']['ms_per_text']:.2f} ms ({cases['int8']['speedup_over_first']:.2f}x)"
        )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
