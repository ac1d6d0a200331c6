"""The model card written beside every export (<version>/README.md): what the model is, what it
was trained on and how well it did, its limits, and how to call it.

Built from what the run folder holds (classifier_config.json, train_summary.json,
eval_results.json); fields a run did not write are left out rather than guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from classifier.classifier_spec import ClassifierSpec

CARD_FILE = "README.md"
ONNX_FORMAT = "zh-textclf-onnx"  # export.onnx's metadata["format"]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _figures(results: dict[str, Any]) -> list[str]:
    keys = ("accuracy", "micro_f1", "macro_f1", "weighted_f1", "samples_f1", "loss")
    rows = [f"| {k} | {results[k]:.4f} |" for k in keys if isinstance(results.get(k), int | float)]
    levels = {f"level {n}": figures for n, figures in (results.get("levels") or {}).items()}
    if results.get("leaves"):
        levels["leaves"] = results["leaves"]
    for where, figures in levels.items():  # a hierarchical run's per-level figures
        rows += [
            f"| {where} {k} | {figures[k]:.4f} |"
            for k in ("accuracy", "micro_f1", "macro_f1")
            if isinstance(figures.get(k), int | float)
        ]
    return ["| metric | value |", "|---|---:|", *rows] if rows else []


def model_card(spec: ClassifierSpec, source_dir: Path, metadata: dict[str, Any], name: str) -> str:
    summary = _read(source_dir / "train_summary.json") or {}
    dev = _read(source_dir / "eval_results.json")
    test = _read(source_dir / "test_results.json")
    model = spec.model
    base = spec.base_model or {}
    lines = [
        f"# {name}",
        "",
        f"A Chinese text classifier ({spec.head_kind}{', text pairs' if spec.is_pair else ''}) "
        f"exported by zh-textclf: {_what_it_is(metadata)}",
        "",
        "## Model",
        "",
        f"- Architecture: {model.family.upper()}, {model.num_hidden_layers} layers, hidden "
        f"{model.hidden_size}, {model.num_attention_heads} heads, vocab {model.vocab_size}",
        f"- Base checkpoint: {_checkpoint_name(base.get('checkpoint'))} "
        f"({base.get('scheme', 'unknown')})",
        f"- Adapter: {spec.adapter['kind'] if spec.adapter else 'none (fully fine-tuned)'}",
        f"- Precision served: {metadata.get('dtype', 'float32')}",
        f"- Task: {spec.task_name}; head: {spec.head_kind}",
        "",
        "## Labels",
        "",
    ]
    thresholds = spec.head.served_thresholds()
    for i, label in enumerate(spec.labels):
        extra = f" (threshold {thresholds[i]:.3f})" if thresholds else ""
        lines.append(f"- `{label}`{extra}")
    lines += ["", "## Training data and results", ""]
    if summary:
        config = summary.get("training_config", {})
        lines += [
            f"- Training examples: {summary.get('train_examples')}; dev examples: "
            f"{summary.get('dev_examples')}",
            f"- Steps: {summary.get('total_steps')} ({summary.get('epochs_run')} epochs), "
            f"learning rate {config.get('learning_rate')}, batch {config.get('train_batch_size')}",
            f"- Best epoch by dev {summary.get('selection_metric')}: {summary.get('best_epoch')}",
        ]
    else:
        lines.append("- No training summary was found in the run folder.")
    for title, results in (("Dev", dev), ("Test", test)):
        if results:
            lines += [
                "",
                f"{title} ({results.get('num_examples')} examples):",
                "",
                *_figures(results),
            ]
    lines += [
        "",
        "## Limits",
        "",
        f"- {_long_text_limit(spec)}",
        "- Trained for Chinese text; other languages are tokenized (WordPiece) but were not "
        "what the model learnt from.",
        f"- {_calibration_note(spec)}",
        "- The metrics above come from the run's own dev/test files; other data will differ.",
        "",
        *_how_to_call(spec, metadata),
    ]
    return "\n".join(lines)


def _what_it_is(metadata: dict[str, Any]) -> str:
    if metadata.get("format") == ONNX_FORMAT:
        return (
            "an ONNX model (model.onnx: token ids in, logits out) with the vocabulary, labels "
            "and the settings that turn logits into decisions (metadata.json)."
        )
    return (
        "a TensorFlow SavedModel that takes raw text (the tokenizer is inside) and returns "
        "labels and probabilities."
    )


def _how_to_call(spec: ClassifierSpec, metadata: dict[str, Any]) -> list[str]:
    if metadata.get("format") == ONNX_FORMAT:
        return _how_to_call_onnx(spec)
    return [
        "## How to call it",
        "",
        "Installed with `pip install` (console commands), `EXPORT` being the folder that holds "
        "this version:",
        "",
        "```bash",
        "zh-textclf-serve --export_dir EXPORT   # HTTP on :8501",
        "curl -s -X POST http://127.0.0.1:8501/predict -H 'Content-Type: application/json' \\",
        '  -d \'{"texts": ["物流很快，好评"]}\'',
        "printf '物流很快，好评\\n' | zh-textclf-predict --export_dir EXPORT",
        "```",
        "",
        "From a clone of the repository the same commands are `scripts/serve.sh` and "
        "`scripts/predict.sh`.",
        "",
        "```python",
        "from zh_textclf.serving import Predictor  # from a clone: from serving import Predictor",
        "predictor = Predictor('<this version folder>')",
        "print(predictor.predict(['物流很快，好评'])[0].label)",
        "```",
        "",
        "TensorFlow Serving loads the same folder (signature `serving_default`: a string tensor "
        f"`text`{' and `text_b`' if spec.is_pair else ''} in; `label`, `score`, `labels`, "
        "`probabilities` out).",
        "",
    ]


def _how_to_call_onnx(spec: ClassifierSpec) -> list[str]:
    read = (
        "sigmoid(logits / T) per label, against its threshold"
        if spec.head.multiple_labels
        else "softmax(logits / T)"
    )
    return [
        "## How to call it",
        "",
        "The commands and the Predictor of this project serve it as they serve a SavedModel "
        "(the format is told from the folder; ONNX Runtime runs it, TensorFlow is not loaded; "
        "`pip install 'zh-textclf[onnx]'`), `EXPORT` being the folder that holds this version:",
        "",
        "```bash",
        "zh-textclf-serve --export_dir EXPORT   # HTTP on :8501",
        "printf '物流很快，好评\\n' | zh-textclf-predict --export_dir EXPORT",
        "```",
        "",
        "```python",
        "from zh_textclf.serving import load_predictor  # from a clone: from serving import ...",
        "predictor = load_predictor('<this version folder>')",
        "print(predictor.predict(['物流很快，好评'])[0].label)",
        "```",
        "",
        "Or ONNX Runtime alone (the graph holds onnxruntime's fused transformer operators, so it "
        "needs onnxruntime, any execution provider). Token ids come from vocab.txt with the "
        "settings in metadata.json (`do_lower_case`, `max_seq_length`, the long-text policy) "
        "and the project's Python tokenizer (`classifier.text.row_encoder.RowEncoder`, what the "
        "commands use):",
        "",
        "```python",
        "import onnxruntime as ort",
        "session = ort.InferenceSession('<this version folder>/model.onnx')",
        "logits = session.run(['logits'], {'input_ids': ids, 'attention_mask': mask,",
        "                                  'token_type_ids': segments})[0]  # int32 [batch, seq]",
        "```",
        "",
        f"`logits` are raw; probabilities are {read} (T: `temperatures` in metadata.json, 1 "
        "when null), and `thresholds`, `label_bounds` and `abstain_threshold` there give the "
        "decisions the SavedModel export would make.",
        "",
    ]


def _checkpoint_name(path: str | None) -> str:
    """The base checkpoint as its folder and file name: the card travels with the export, and
    the machine it was trained on is nobody's business."""
    if not path:
        return "unknown"
    checkpoint = Path(path)
    return f"{checkpoint.parent.name}/{checkpoint.name}" if checkpoint.parent.name else path


def _long_text_limit(spec: ClassifierSpec) -> str:
    budget = spec.max_seq_length - 2
    policy = spec.long_text_policy
    if policy.mode == "head_tail":
        head = policy.head_count(budget)
        return (
            f"A text over {budget} tokens is read from its first {head} and its last "
            f"{budget - head} tokens (--long_text=head_tail); the middle is not seen."
        )
    if policy.mode == "sliding_window":
        return (
            f"A text over {budget} tokens is read in windows of {budget} tokens, "
            f"{policy.stride(budget)} apart (--long_text=sliding_window); the window logits are "
            f"pooled by their {policy.pooling}. Time grows with the text's length."
        )
    return (
        f"Texts are cut to {spec.max_seq_length} tokens ([CLS] and [SEP] included); what "
        "comes later in a longer text is not seen (--long_text=head_tail or sliding_window "
        "at training time reads the end too)."
    )


def _calibration_note(spec: ClassifierSpec) -> str:
    if spec.temperatures is None:
        return (
            "Scores are the model's uncalibrated probabilities (trained with "
            "--calibration=none or without dev data); check them on data like yours before "
            "relying on a threshold."
        )
    shown = ", ".join(f"{t:.3f}" for t in spec.temperatures[:8])
    more = " ..." if len(spec.temperatures) > 8 else ""
    return (
        f"Scores are calibrated on dev by temperature scaling (T = {shown}{more}; the served "
        "`logits` are the model's raw ones, `probabilities` read them divided by T). "
        "Calibrated on the run's dev data: on other data, check before relying on a threshold."
    )
