"""Each benchmark runs at tiny size and writes its figures: a check for breakage, not for time.

Real figures come from the BERT-base runs recorded in benchmarks/RESULTS.md; no assertion
here looks at a speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

ROOT = Path(__file__).resolve().parent.parent

SMOKE_RUNS = {
    "bench_inference.py": ["--num_texts=16", "--batch_sizes=1,8", "--rounds=1"],
    "bench_training.py": ["--kinds=full,lora", "--precisions=float32", "--steps=2", "--warmup=1"],
    "bench_serving.py": ["--requests=5", "--clients=2", "--per_client=2"],
    "bench_baseline.py": [],
    "bench_data_scale.py": [],
    "bench_precision.py": [],
    "bench_multilabel.py": ["--configs=prior,focal"],
    "bench_pretraining_speed.py": ["--rounds=1", "--steps=2"],
    "bench_pretraining.py": [],
    "bench_long_text.py": ["--modes=head_tail,sliding_window_mean"],
    "bench_recipes.py": ["--recipes=plain,fgm", "--tasks=sentiment"],
    "bench_latency_profile.py": ["--rounds=1", "--calls=2"],
    "bench_distill.py": [],
    "bench_reload_memory.py": ["--reloads=3"],
    "bench_onnx_accuracy.py": [],
    "bench_label_noise.py": ["--datasets=word_kind"],
    "bench_selection.py": ["--learners=tfidf", "--strategies=entropy,diverse"],
    "bench_augment.py": ["--sizes=40", "--epochs=1"],
    "bench_faithfulness.py": [],
}


@pytest.mark.parametrize("script", sorted(SMOKE_RUNS))
def test_benchmark_runs_at_tiny_size(script, tmp_path):
    output = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
            "--tiny",
            *SMOKE_RUNS[script],
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    figures = json.loads(output.read_text(encoding="utf-8"))
    assert figures["machine"]["cores"] >= 1
    if script == "bench_inference.py":
        # Same weights, same tokenization: the frameworks agree before anything is timed.
        for case in figures["cases"]:
            assert case["ours_seq_per_s"] > 0 and case["transformers_seq_per_s"] > 0
            tolerance = 1e-4 if case["dtype"] == "float32" else 5e-2
            assert case["max_abs_probability_difference_transformers"] < tolerance
            if case["dtype"] == "float32":  # ONNX Runtime has no bfloat16 CPU kernels
                assert case["max_abs_probability_difference_onnxruntime"] < tolerance
                # our ONNX export through serving.load_predictor, beside the SavedModel
                assert case["onnx_seq_per_s"] > 0
                assert case["max_abs_probability_difference_onnx_onnxruntime"] < tolerance
                assert case["max_abs_probability_difference_onnx_ours"] < tolerance
        assert {c["dtype"] for c in figures["cases"]} == {"float32", "bfloat16"}
        assert {c["texts"] for c in figures["cases"]} == {"short", "long128"}
    elif script == "bench_onnx_accuracy.py":
        cases = figures["cases"]
        assert set(cases) == {
            "saved_model_float32", "saved_model_bfloat16", "onnx_float32", "onnx_int8",
            "openvino_f32", "openvino_bf16",
        }  # fmt: skip
        assert cases["onnx_float32"]["max_abs_probability_difference"] < 1e-4
        assert cases["openvino_f32"]["max_abs_probability_difference"] < 1e-4
        assert all(0 < case["test_accuracy"] <= 1 for case in cases.values())
    elif script == "bench_training.py":
        assert [c["kind"] for c in figures["cases"]] == ["full", "lora"]
        lora = figures["cases"][1]
        assert lora["trainable_params"] < figures["cases"][0]["trainable_params"]
    elif script == "bench_serving.py":
        for key in (
            "in_process_sequential",
            "http_sequential",
            "onnx_in_process_sequential",
            "http_onnx_sequential",
        ):
            assert 0 < figures[key]["p50_ms"] <= figures[key]["p99_ms"]
        assert figures["http_2_clients"]["requests_per_s"] > 0
        assert figures["http_onnx_2_clients"]["requests_per_s"] > 0
    elif script == "bench_long_text.py":
        assert set(figures["summary"]) == {"clean_reviews", "head_tail", "sliding_window_mean"}
        assert figures["runs"]["sliding_window_mean"][0]["train_rows"] > 300  # windows
    elif script == "bench_latency_profile.py":
        short = figures["cases"]["short"]
        assert short["serving_default_ms"] > 0 and short["tokens"] > 2
        assert short["trace"]["serving_default"]["op_ms_by_owner"]["encoder layers"] > 0
    elif script == "bench_distill.py":
        assert figures["student_layers"] == [0, 2, 3] and figures["unlabelled_rows"] > 0
        assert 0 < figures["student_test_accuracy"] <= 1 and figures["speedup_short"] > 0
    elif script == "bench_reload_memory.py":
        assert len(figures["rss_mib_after_each_reload"]) == 4
        assert figures["ratio_last_to_second"] > 0
    elif script == "bench_recipes.py":
        assert set(figures["summary"]["sentiment"]) == {"plain", "fgm"}
    elif script == "bench_baseline.py":
        assert figures["dev_accuracy"] > figures["majority_class_accuracy"]
    elif script == "bench_data_scale.py":
        phases = [(r["rows"], r["phase"][:5]) for r in figures["runs"]]
        assert phases == [(2000, "first"), (2000, "secon"), (4000, "first"), (4000, "secon")]
        assert figures["runs"][0]["encode_seconds"] > 0 == figures["runs"][1]["encode_seconds"]
    elif script == "bench_precision.py":
        assert set(figures["cases"]) == {
            "train_float32",
            "train_bf16",
            "export_float32",
            "export_bfloat16",
        }
    elif script == "bench_label_noise.py":
        (run,) = figures["runs"]  # --tiny: one seed, one rate (0.2), 150 rows
        assert run["dataset"] == "word_kind" and run["rate"] == 0.2
        for detector in ("tfidf", "model"):
            found = run["detectors"][detector]
            assert found["flipped"] == 30 and found["found"] <= found["flagged"]
            assert 0 <= found["precision"] <= 1 and 0 <= found["recall"] <= 1
        assert set(run["accuracy"]["tfidf"]) == {"noisy", "cleaned_tfidf", "cleaned_model", "clean"}
        assert "recovered_model" in figures["summary"]["word_kind"]["0.2"]["accuracy"]["tfidf"]
    elif script == "bench_selection.py":
        (run,) = figures["runs"]
        assert set(run["picks"]) == {"random", "entropy", "diverse"}
        assert all(pick["rows"] == 40 for pick in run["picks"].values())
        accuracy = figures["summary"]["accuracy"]["tfidf"]
        assert {"start", "random", "entropy", "diverse"} <= set(accuracy)
        assert accuracy["best_strategy"] in ("entropy", "diverse")
    elif script == "bench_augment.py":
        assert [(r["size"], r["rows_in"]) for r in figures["runs"]] == [(40, 40)]
        assert all(r["rows_in"] < r["rows_out"] <= 3 * r["rows_in"] for r in figures["runs"])
        assert set(figures["summary"]["40"]["model"]) == {"plain", "augmented", "gain"}
    elif script == "bench_faithfulness.py":
        (run,) = figures["runs"]  # --tiny: one seed, 10 correctly classified dev texts
        assert run["seed"] == 1 and run["texts"] == 10 and 0 < run["dev_accuracy"] <= 1
        assert run["ig_completeness_gap_median"] < 0.05  # 50 steps: the scores add up
        assert set(run["fractions"]) == {"0.1", "0.2"}
        for entry in run["fractions"].values():
            for method in ("ig", "gxi", "random"):
                assert -1 <= entry[method]["drop"] <= 1 and 0 <= entry[method]["flipped"] <= 1
            low, high = entry["ig_minus_random"]["ci95"]
            assert low <= entry["ig_minus_random"]["mean"] <= high
        assert set(figures["summary"]["0.2"]) >= {"ig", "gxi", "random", "ig_minus_random"}
        for side in ("in_memory", "export"):
            cost = figures["cost"][side]
            assert cost["predict_ms"] > 0 and cost["explain_ig_ms"] > 0
