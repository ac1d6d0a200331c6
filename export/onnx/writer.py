"""export.sh --format=onnx: a training output -> export_dir/<version>/ holding model.onnx.

The version folder, written atomically like a SavedModel version (export.versioned_dir):

    model.onnx      token ids -> logits, onnxruntime's transformer fusions applied (with
                    --quantize=int8: its dense layers dynamically quantized, export.onnx.quantize)
    vocab.txt       the run's vocabulary (the tokenizer settings are in metadata.json)
    labels.txt      one label per line, in the order of the logits
    metadata.json   export_metadata's keys (labels, head, thresholds, temperatures, long-text
                    policy, label bounds, abstention, ...) with format "zh-textclf-onnx" and
                    an "onnx" section: inputs, output, opset, the fused operators
    README.md       the model card

The serving side turns logits into probabilities and decisions with the settings stored here.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from classifier.classifier_spec import ClassifierSpec
from classifier.files import write_json
from classifier.trained_model import LABELS_FILE, VOCAB_FILE, inference_model
from export.model_card import CARD_FILE, ONNX_FORMAT, model_card
from export.onnx.encoder_graph import INPUT_NAMES, OPSET, OUTPUT_NAME, build_encoder_graph
from export.onnx.encoder_weights import read_encoder_weights
from export.onnx.fusion import fuse_transformer_ops
from export.onnx.quantize import quantize_int8
from export.versioned_dir import write_version

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"


def onnx_section(
    num_labels: int, fused: dict[str, int], quantization: dict[str, Any] | None = None
) -> dict[str, Any]:
    """metadata.json's "onnx": what the graph takes and gives, what was fused and (int8) how
    it was quantized."""
    import onnxruntime

    section = {
        "model_file": MODEL_FILE,
        "inputs": {
            name: {"dtype": "int32", "shape": ["batch", "sequence"]} for name in INPUT_NAMES
        },
        "outputs": {OUTPUT_NAME: {"dtype": "float32", "shape": ["batch", num_labels]}},
        "opset": OPSET,
        "attention_mask": "raw 0/1 [batch, sequence] mask; padding anywhere",
        "fused_operators": fused,
        "built_by": "export.onnx (graph written from the trained weights; no converter)",
        "onnxruntime_version": onnxruntime.__version__,
    }
    if quantization is not None:
        section["quantization"] = quantization
    return section


def export_onnx_model(
    model: Any,
    spec: ClassifierSpec,
    metadata: dict[str, Any],
    output_dir: str | Path,
    export_dir: str | Path,
    version: int | None = None,
    quantize: str | None = None,
) -> tuple[int, Path, dict[str, Any], list[str]]:
    """Writes export_dir/<version>/ (see the module docstring) atomically for the trained
    ``model`` of ``spec`` (its decision settings already applied by
    export.exporter.export_trained_model, which calls this), ``metadata`` being the export's;
    version None = the next integer; ``quantize`` "int8": the fused graph's dense layers
    quantized dynamically (export.onnx.quantize). Returns (version, path, the metadata written, the
    summary lines)."""
    out = Path(output_dir)
    weights = read_encoder_weights(inference_model(model, spec))
    graph, fused = fuse_transformer_ops(
        build_encoder_graph(weights), weights.num_heads, weights.hidden_size
    )
    quantization = None
    if quantize is not None:
        if quantize != "int8":
            raise ValueError(f"--quantize must be int8 with --format=onnx, got {quantize!r}")
        graph, quantization = quantize_int8(graph)
    metadata = {
        **metadata,
        "format": ONNX_FORMAT,
        "format_version": FORMAT_VERSION,
        "quantize": quantize,
        "onnx": onnx_section(weights.num_labels, fused, quantization),
    }
    card = model_card(spec, out, metadata, Path(export_dir).name)

    def write(tmp: Path) -> None:
        (tmp / MODEL_FILE).write_bytes(graph.SerializeToString())
        shutil.copyfile(out / VOCAB_FILE, tmp / VOCAB_FILE)
        (tmp / LABELS_FILE).write_text("".join(f"{x}\n" for x in spec.labels), encoding="utf-8")
        write_json(tmp / METADATA_FILE, metadata)
        (tmp / CARD_FILE).write_text(card, encoding="utf-8")

    chosen, path = write_version(export_dir, write, version)
    logger.info("exported %s as ONNX version %d: %s", output_dir, chosen, path)
    return chosen, path, metadata, describe_onnx(metadata)


def describe_onnx(metadata: dict[str, Any]) -> list[str]:
    """export.sh's summary lines of an ONNX export (what describe_signatures is for a
    SavedModel)."""
    section = metadata["onnx"]
    inputs = ", ".join(section["inputs"])
    (output, spec), *_ = section["outputs"].items()
    fused = ", ".join(f"{op} {n}" for op, n in section["fused_operators"].items()) or "nothing"
    lines = [
        f"{MODEL_FILE}: {inputs} (int32 [batch, sequence]) -> {output} "
        f"(float32 [batch, {spec['shape'][1]}])",
        f"fused: {fused}",
    ]
    quantization = section.get("quantization")
    if quantization:
        quantized = ", ".join(f"{op} {n}" for op, n in quantization["quantized_operators"].items())
        lines.append(f"int8 (dynamic; weights {quantization['weights']}): {quantized}")
    return lines
