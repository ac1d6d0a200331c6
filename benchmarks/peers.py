"""The peers our exports are measured against, each deployed as its own users deploy it.

transformers: BertTokenizerFast + BertForSequenceClassification (PyTorch eager, sdpa attention).
ONNX Runtime: the same model exported by torch.onnx (TorchScript exporter, opset 17), fused by
onnxruntime.transformers' BERT optimizer (attention, skip-LayerNorm, bias-GELU, embedding
LayerNorm), run by the CPU execution provider with all graph optimisations, one thread per
core; tokenised by BertTokenizerFast. Both get our exact weights: the random checkpoint
converted to Hugging Face safetensors, the classification head copied from our trained model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Predict = Callable[[list[str]], tuple[list[str], np.ndarray]]


def hf_folder(work: Path, checkpoint: Path) -> Path:
    """Our checkpoint as a Hugging Face folder (convert_checkpoint --to hf), made once."""
    from classifier.checkpoints.convert import convert_checkpoint

    hf_dir = work / "hf"
    if not (hf_dir / "config.json").is_file():
        convert_checkpoint(checkpoint, hf_dir, to="hf")
    return hf_dir


def hf_classifier(hf_dir: Path, trained: Path, labels: tuple[str, ...], attention: str):
    """BertForSequenceClassification with our backbone weights and our trained head."""
    import torch
    import transformers

    from classifier.trained_model import load_trained_model

    model = transformers.BertForSequenceClassification.from_pretrained(
        hf_dir, num_labels=len(labels), attn_implementation=attention
    )
    ours, _ = load_trained_model(trained)
    kernel = np.asarray(ours.head.dense.kernel)
    bias = np.asarray(ours.head.dense.bias)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(kernel.T.copy()))
        model.classifier.bias.copy_(torch.from_numpy(bias))
    return model.eval()


def tokenizer_for(hf_dir: Path):
    import transformers

    return transformers.BertTokenizerFast.from_pretrained(hf_dir, do_lower_case=True)


def transformers_peer(
    work: Path, checkpoint: Path, trained: Path, labels: tuple[str, ...], dtype: str
) -> Predict:
    """transformers eager on torch, batches padded to their longest text."""
    import torch

    hf_dir = hf_folder(work, checkpoint)
    model = hf_classifier(hf_dir, trained, labels, "sdpa").to(getattr(torch, dtype))
    tokenizer = tokenizer_for(hf_dir)

    def predict(texts: list[str]):
        with torch.no_grad():
            batch = tokenizer(
                texts, padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            probs = model(**batch).logits.float().softmax(-1)
        return [labels[i] for i in probs.argmax(-1).tolist()], probs.numpy()

    return predict


def onnxruntime_peer(
    work: Path, checkpoint: Path, trained: Path, labels: tuple[str, ...], dtype: str
) -> Predict | None:
    """ONNX Runtime with its BERT fusions, or None where ``dtype`` has no CPU kernels
    (bfloat16: the CPU execution provider has no bfloat16 MatMul/attention kernels)."""
    if dtype != "float32":
        return None
    import onnxruntime as ort
    import torch
    from onnxruntime.transformers import optimizer

    hf_dir = hf_folder(work, checkpoint)
    fused = work / "model.opt.onnx"
    if not fused.is_file():
        model = hf_classifier(hf_dir, trained, labels, "eager")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        sample = tuple(torch.ones((1, 8), dtype=torch.int64) for _ in names)
        raw = work / "model.onnx"
        torch.onnx.export(
            model,
            sample,
            str(raw),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "length"} for n in names}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        config = model.config
        optimized = optimizer.optimize_model(
            str(raw),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        optimized.save_model_to_file(str(fused))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(str(fused), options, providers=["CPUExecutionProvider"])
    tokenizer = tokenizer_for(hf_dir)

    def predict(texts: list[str]):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="np")
        feed = {
            name: batch[name].astype(np.int64)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }
        logits = session.run(["logits"], feed)[0].astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return [labels[i] for i in probs.argmax(-1)], probs

    return predict


def fused_operators(path: Path) -> dict[str, int]:
    """Operator counts of an ONNX file (shows which fusions the optimizer made)."""
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
