"""Trainable parameters and adapter file sizes per adapter kind, for the BERT-base config.

    .venv/bin/python benchmarks/adapter_sizes.py [--labels 4] [--output table.md]

Builds a randomly initialised Chinese BERT-base backbone (12 layers, hidden 768, 12 heads,
intermediate 3072, vocab 21128: chinese_L-12_H-768_A-12's shapes; no download, no training),
applies each kind with its default options, counts the trainable weights of the classifier
(adapter + head, + LayerNorms for Houlsby) and writes the adapter folder to measure its
safetensors file. Percentages are of the whole backbone (embeddings, 12 layers and pooler).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# (row label, kind, options, notes)
ROWS = [
    ("houlsby", "houlsby", {}, "size 64, 2 per layer, LayerNorms trained"),
    ("pfeiffer", "pfeiffer", {}, "reduction 16 (size 48), 1 per layer"),
    ("lora", "lora", {}, "r 8, alpha 16, query + value"),
    ("k_adapter", "k_adapter", {}, "size 192, 2 layers each, at layers 0, 5, 11"),
    ("fusion", "fusion", {}, "over 2 pfeiffer adapters (members frozen, saved with it)"),
    ("adapter_drop", "adapter_drop", {"drop_layers": 5}, "pfeiffer placement, layers 5-11"),
    ("compacter", "compacter", {}, "Compacter++: reduction 32, PHM n 4, rank 1"),
]


def count(variables) -> int:
    import numpy as np

    return int(sum(np.prod(v.shape) for v in variables))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=4, help="head size (data/demo has 4)")
    parser.add_argument("--output", help="also write the markdown table here")
    args = parser.parse_args(argv)

    import keras

    from classifier.adapters import (
        apply_adapters,
        base_fingerprint,
        make_adapter_config,
        save_adapter,
    )
    from classifier.backbones import build_backbone
    from classifier.classifier_spec import ClassifierSpec
    from classifier.config import ModelConfig
    from classifier.trained_model import build_classifier

    keras.utils.set_random_seed(0)
    config = ModelConfig(vocab_size=21128)  # defaults are BERT-base's
    backbone = build_backbone(config)
    fingerprint = base_fingerprint(backbone)
    backbone_params = count(backbone.weights)
    labels = tuple(f"label_{i}" for i in range(args.labels))
    base_spec = ClassifierSpec(model=config, labels=labels, head_kind="multiclass")
    head = 768 * args.labels + args.labels

    lines = [
        f"BERT-base backbone: {backbone_params:,} parameters (embeddings "
        f"{count(backbone.embeddings.weights):,}, 12 layers, pooler "
        f"{count(backbone.pooler.weights):,}); head: {head:,} ({args.labels} labels).",
        "",
        "| kind | options | trainable parameters | % of backbone | adapter file |",
        "|---|---|---:|---:|---:|",
        f"| full fine-tuning | all weights | {backbone_params + head:,} | "
        f"{100 * (backbone_params + head) / backbone_params:.2f}% | "
        f"{(backbone_params + head) * 4 / 2**20:.1f} MiB (float32 weights) |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        members = []
        for seed in (1, 2):  # fusion members: two Pfeiffer adapters saved on this base
            adapted = apply_adapters(
                backbone, make_adapter_config("pfeiffer"), base_fingerprint=fingerprint
            )
            spec = replace(base_spec, adapter=adapted.adapter_config.to_dict())
            members.append(Path(tmp) / f"member{seed}")
            save_adapter(members[-1], build_classifier(spec, adapted), spec)
        for label, kind, options, notes in ROWS:
            if kind == "fusion":
                options = {"adapter_dirs": tuple(str(m) for m in members)}
            adapted = apply_adapters(
                backbone,
                make_adapter_config(kind, **options),
                base_fingerprint=fingerprint,
                initialize=False,
            )
            spec = replace(base_spec, adapter=adapted.adapter_config.to_dict())
            model = build_classifier(spec, adapted)
            trainable = count(model.trainable_weights)
            summary = save_adapter(Path(tmp) / label, model, spec)
            size = summary["weights_bytes"]
            lines.append(
                f"| {label} | {notes} | {trainable:,} | {100 * trainable / backbone_params:.2f}% "
                f"| {size / 2**20:.2f} MiB ({size:,} bytes) |"
            )
            print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    print()
    print(table)
    if args.output:
        Path(args.output).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
