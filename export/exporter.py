"""Export a training output folder as a versioned SavedModel that takes raw text."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from classifier.backbones import build_backbone
from classifier.backbones.packing import bucket_sizes
from classifier.classifier_spec import ClassifierSpec
from classifier.trained_model import (
    LABELS_FILE,
    SPEC_FILE,
    VOCAB_FILE,
    WEIGHTS_FILE,
    build_classifier,
    inference_model,
    load_trained_model,
)
from export.dtype_choice import AUTO, export_dtype
from export.model_card import CARD_FILE, model_card
from export.serving_module import ABSTAINED, OUTPUT_KEYS, ServingModule, describe_signatures
from export.versioned_dir import write_version

logger = logging.getLogger(__name__)

FORMAT = "zh-textclf-savedmodel"
FORMAT_VERSION = 1
DTYPES = ("float32", "bfloat16", "float16")
QUANTIZE = ("int8",)
EXPORT_FORMATS = ("saved_model", "onnx")


@dataclass(frozen=True)
class ExportResult:
    version: int
    path: Path
    metadata: dict[str, Any]
    signatures: list[str]


def export_metadata(
    spec: ClassifierSpec,
    source_dir: str | Path,
    dtype: str = "float32",
    quantize: str | None = None,
    abstain_threshold: float | None = None,
    abstain_label: str = "",
) -> dict[str, Any]:
    """What a server reports about the model (GET /metadata); stored in the SavedModel.
    ``abstain_threshold`` (with its label) adds the abstention setting and output; without
    it the metadata is what it was before abstention existed."""
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "labels": list(spec.labels),
        "head_kind": spec.head_kind,
        "is_pair": spec.is_pair,
        "thresholds": spec.head.served_thresholds(),
        "temperatures": None if spec.temperatures is None else list(spec.temperatures),
        "max_seq_length": spec.max_seq_length,
        "do_lower_case": spec.do_lower_case,
        "max_chars_per_word": spec.max_chars_per_word,
        **spec.long_text_policy.to_dict(),
        "model_family": spec.model.family,
        "num_layers": spec.model.num_hidden_layers,
        "hidden_size": spec.model.hidden_size,
        "vocab_size": spec.model.vocab_size,
        "dtype": dtype,
        "quantize": quantize,
        "type_vocab_size": spec.model.type_vocab_size,
        "task_name": spec.task_name,
        "adapter": spec.adapter,
        "base_model": spec.base_model,
        "source": str(Path(source_dir).resolve()),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": ["text", "text_b"] if spec.is_pair else ["text"],
        "outputs": list(OUTPUT_KEYS),
        # Token counts of one text whose kernels serving builds at load (packing.bucket).
        "shape_buckets": bucket_sizes(spec.max_seq_length),
    }
    metadata.update(spec.head.export_metadata())  # the kind's own: a hierarchical label tree
    if spec.head.takes_label_bounds:  # what a request's "min_labels"/"max_labels" start from
        metadata["label_bounds"] = spec.head.label_bounds.to_dict()
    if abstain_threshold is not None:
        check_abstention(abstain_threshold, abstain_label)
        metadata["abstain_threshold"] = float(abstain_threshold)
        metadata["abstain_label"] = abstain_label
        metadata["outputs"].append(ABSTAINED)
    return metadata


def _adapter_kind(output_dir: str | Path) -> str | None:
    """The run's adapter kind (None: none, or no readable spec: loading reports that)."""
    spec_path = Path(output_dir) / SPEC_FILE
    if not spec_path.is_file():
        return None
    try:
        adapter = ClassifierSpec.load(spec_path).adapter
    except (OSError, ValueError, KeyError, TypeError):  # reported by name when it is loaded
        return None
    return None if adapter is None else adapter.get("kind")


def check_export_format(
    export_format: str, dtype: str = "float32", freeze_weights: bool = False, quantize=None
) -> None:
    """export.sh's --format with the settings that apply to it: an ONNX export is float32 and
    its weights are initializers (--freeze_weights is a SavedModel's); --quantize=int8 is
    onnxruntime's dynamic quantization there (export.onnx.quantize), keras' in a SavedModel."""
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"--format must be one of {EXPORT_FORMATS}, got {export_format!r}")
    if export_format != "onnx":
        return
    refused = [
        flag
        for flag, given in (
            (f"--dtype={dtype}", dtype != "float32"),
            ("--freeze_weights", freeze_weights),
        )
        if given
    ]
    if refused:
        raise ValueError(
            f"{', '.join(refused)} applies to --format=saved_model only; --format=onnx "
            "exports float32 weights as they were trained (or int8 with --quantize=int8)"
        )
    if quantize is not None and quantize not in QUANTIZE:
        raise ValueError(f"--quantize must be one of {QUANTIZE}, got {quantize!r}")


def check_abstention(threshold: float | None, label: str) -> None:
    """export.sh's abstention settings: a probability in (0, 1], and a label only with it."""
    if threshold is None:
        if label:
            raise ValueError("--abstain_label needs --abstain_threshold")
        return
    if isinstance(threshold, bool) or not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"--abstain_threshold must be a probability in (0, 1], got {threshold}")
    if not isinstance(label, str) or "\n" in label or "\t" in label:
        raise ValueError("--abstain_label must be one line of text without tabs")


def with_label_bounds(
    spec: ClassifierSpec, min_labels: int | None, max_labels: int | None
) -> ClassifierSpec:
    """The spec with export.sh's --min_labels / --max_labels over the run's (the head refuses
    them by name where it takes none: SpecError)."""
    if min_labels is None and max_labels is None:
        return spec
    bounds = spec.head.label_bounds.over(min_labels, max_labels)
    return replace(spec, label_bounds=bounds.to_dict() if bounds.is_set else None)


def load_for_export(
    output_dir: str | Path, dtype: str = "float32", quantize: str | None = None
) -> tuple[keras.Model, ClassifierSpec]:
    """The trained model, its backbone computing in ``dtype``, made ready for inference
    (inference_model: LoRA merged). Weights are read from the float32 training output.

    ``quantize="int8"``: keras' own Model.quantize on every dense layer (int8 kernels with
    per-channel scales, activations quantized per token at run time); the rest stays float32.
    """
    out = Path(output_dir)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if quantize is not None and (quantize not in QUANTIZE or dtype != "float32"):
        raise ValueError(f"--quantize must be one of {QUANTIZE}, with --dtype=float32")
    model, spec = load_trained_model(out)
    if dtype != "float32":  # rebuilt computing in dtype; the weights file is float32
        if spec.adapter is not None and spec.adapter.get("kind") != "lora":
            raise ValueError(
                f"{dtype} export supports plain and LoRA models, not {spec.adapter['kind']}"
            )
        model = build_classifier(spec, build_backbone(spec.model, dtype=dtype))
        model.load_weights(out / WEIGHTS_FILE)
    model = inference_model(model, spec)
    if quantize is not None:
        if spec.adapter is not None and spec.adapter.get("kind") != "lora":
            raise ValueError(
                f"--quantize supports plain and LoRA models, not {spec.adapter['kind']}"
            )
        with warnings.catch_warnings():  # "layer X does not have a quantize method": by design
            warnings.simplefilter("ignore", UserWarning)
            model.quantize(quantize)
    return model, spec


def build_serving_module(
    output_dir: str | Path,
    dtype: str = "float32",
    freeze_weights: bool = False,
    long_text: dict[str, Any] | None = None,
    quantize: str | None = None,
    abstain_threshold: float | None = None,
    abstain_label: str = "",
    min_labels: int | None = None,
    max_labels: int | None = None,
) -> tuple[ServingModule, ClassifierSpec]:
    """The trained model of ``output_dir`` made ready for export (adapters merged);
    ``long_text`` overrides the run's long-text settings (ClassifierSpec field names);
    ``abstain_threshold``: texts below it get ``abstain_label`` (ServingModule);
    ``min_labels`` / ``max_labels`` override the run's label bounds (None: the run's)."""
    check_abstention(abstain_threshold, abstain_label)
    out = Path(output_dir)
    model, spec = load_for_export(out, dtype, quantize)
    spec = with_label_bounds(spec, min_labels, max_labels)
    if long_text:
        spec = replace(spec, **long_text)
    encoder = spec.text_encoder(out / VOCAB_FILE)
    module = ServingModule(
        model,
        encoder,
        head=spec.head,
        is_pair=spec.is_pair,
        metadata=export_metadata(spec, out, dtype, quantize, abstain_threshold, abstain_label),
        assets={"vocab": out / VOCAB_FILE, "labels": out / LABELS_FILE},
        freeze_weights=freeze_weights,
        abstain_threshold=abstain_threshold,
        abstain_label=abstain_label,
    )
    return module, spec


def export_trained_model(
    output_dir: str | Path,
    export_dir: str | Path,
    version: int | None = None,
    dtype: str = "float32",
    freeze_weights: bool = False,
    long_text: dict[str, Any] | None = None,
    quantize: str | None = None,
    abstain_threshold: float | None = None,
    abstain_label: str = "",
    min_labels: int | None = None,
    max_labels: int | None = None,
    export_format: str = "saved_model",
) -> ExportResult:
    """Writes export_dir/<version>/ atomically and returns where; version None = next integer.

    ``dtype`` "bfloat16" or "float16" exports the backbone computing (and storing weights) in
    that type: faster where the hardware has it, probabilities within ~1e-2 of float32.
    ``freeze_weights`` stores the weights as graph constants: faster on CPU, far more memory
    while exporting and loading (see serving_module.model_logits). ``quantize`` "int8" stores
    the dense layers' kernels as int8 (load_for_export). ``abstain_threshold`` P in (0, 1]:
    a text whose largest calibrated probability is below P gets ``abstain_label`` and no
    decisions, and the outputs gain ``abstained`` (None: no abstention, outputs unchanged).
    ``min_labels`` / ``max_labels``: multilabel bounds over the run's, baked into the graph
    after the thresholds and recorded as the metadata's ``label_bounds``.

    ``export_format`` "onnx" writes model.onnx and the settings beside it instead
    (export.onnx.writer.export_onnx_model; float32, not frozen; ``quantize`` "int8":
    onnxruntime's dynamic quantization of its dense layers).

    ``dtype`` "auto": export.dtype_choice (an ONNX export in float32 whose serving picks the
    runtime and precision; a SavedModel in bfloat16 where this CPU has AMX)."""
    adapter = _adapter_kind(output_dir) if dtype == AUTO else None
    chosen_dtype = export_dtype(dtype, export_format, adapter, quantize)
    if dtype == AUTO:
        logger.info("--dtype=auto: %s (%s)", chosen_dtype.dtype, chosen_dtype.reason)
    dtype = chosen_dtype.dtype
    check_export_format(export_format, dtype, freeze_weights, quantize)
    if export_format == "onnx":
        try:
            from export.onnx.writer import export_onnx_model
        except ImportError as err:
            raise ImportError(
                f"--format=onnx needs the onnx and onnxruntime packages ({err}); "
                "pip install 'zh-textclf[onnx]' (or: pip install onnx onnxruntime)"
            ) from err
        check_abstention(abstain_threshold, abstain_label)
        model, spec = load_trained_model(output_dir)
        spec = with_label_bounds(spec, min_labels, max_labels)
        if long_text:
            spec = replace(spec, **long_text)
        metadata = export_metadata(spec, output_dir, "float32", quantize, abstain_threshold, abstain_label)  # fmt: skip
        if chosen_dtype.serve_dtype is not None:  # what predict.sh / serve.sh default to
            metadata["serve_dtype"] = chosen_dtype.serve_dtype
        chosen, path, metadata, lines = export_onnx_model(
            model, spec, metadata, output_dir, export_dir, version, quantize
        )
        return ExportResult(chosen, path, metadata, lines)
    module, spec = build_serving_module(
        output_dir,
        dtype,
        freeze_weights,
        long_text,
        quantize,
        abstain_threshold,
        abstain_label,
        min_labels,
        max_labels,
    )
    signatures = module.signatures()
    card = model_card(spec, Path(output_dir), module.export_metadata, Path(export_dir).name)

    def write(tmp: Path) -> None:
        # Serving never differentiates; not saving custom gradients also lets an int8 model
        # (keras' quantizers define one) be frozen.
        options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
        tf.saved_model.save(module, str(tmp), signatures=signatures, options=options)
        (Path(tmp) / CARD_FILE).write_text(card, encoding="utf-8")

    chosen, path = write_version(export_dir, write, version)
    logger.info("exported %s as version %d: %s", output_dir, chosen, path)
    return ExportResult(chosen, path, module.export_metadata, describe_signatures(signatures))
