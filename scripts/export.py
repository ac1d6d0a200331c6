"""Command line of scripts/export.sh: a training output -> export_dir/<version>/ SavedModel
(or model.onnx with --format=onnx)."""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys

from classifier.flag_types import non_negative_int, number, positive_int

from .cli_flags import (
    add_bool,
    add_long_text_arguments,
    add_verbosity,
    command_parser,
    long_text_overrides,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("export")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Export a trained classifier as a SavedModel that takes raw text, or as ONNX "
        "(written to a temporary folder, then renamed to export_dir/<version>/).",
        [
            "scripts/export.sh --output_dir=output/my_task --export_dir=exported/my_task",
            "scripts/export.sh --output_dir=output/my_task --export_dir=exported/my_task --freeze_weights",
            "scripts/export.sh --output_dir=output/my_task --export_dir=exported/my_task_onnx --format=onnx",
        ],
    )
    p.add_argument("--output_dir", required=True, help="training output (train.sh --output_dir)")
    p.add_argument("--export_dir", required=True, help="versions go to export_dir/<int>/")
    p.add_argument(
        "--version",
        type=positive_int,
        default=None,
        help="version number (default: the next integer)",
    )
    p.add_argument(
        "--format",
        choices=("saved_model", "onnx"),
        default="saved_model",
        help="saved_model: a TensorFlow SavedModel that takes raw text; onnx: model.onnx (token "
        "ids -> logits, onnxruntime's fused transformer operators) with the vocabulary, labels "
        "and decision settings in metadata.json (float32: no --dtype or --freeze_weights; "
        "--quantize=int8 quantizes it with ONNX Runtime)",
    )
    p.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "float16", "auto"),
        default="float32",
        help="what the backbone computes (and stores weights) in; auto: the fastest (with "
        "--format=onnx a float32 graph whose predict.sh / serve.sh pick the runtime and "
        "precision on the serving CPU: OpenVINO bfloat16 where it has AMX, else ONNX Runtime "
        "float32; a SavedModel in bfloat16 where this CPU has AMX, else float32)",
    )
    p.add_argument(
        "--quantize",
        choices=("int8",),
        default=None,
        help="int8: the dense layers' weights as int8, activations quantized at run time "
        "(--format=onnx: ONNX Runtime's dynamic quantization, per-channel weights; "
        "saved_model: keras' per-token quantization); see benchmarks/RESULTS.md for what "
        "each does to speed and accuracy",
    )
    add_bool(
        p,
        "freeze_weights",
        False,
        "store the weights as graph constants: oneDNN then keeps them in its fast CPU layout "
        "(BERT-base bfloat16 about 1.8x faster), but exporting and loading need far more "
        "memory (BERT-base float32: about 18 GiB)",
    )
    p.add_argument(
        "--abstain_threshold",
        type=number(float, 0.0, 1.0, low_open=True),
        default=None,
        metavar="P",
        help="abstain below P: a text whose calibrated top probability (multilabel: every "
        "label's) is under P gets --abstain_label and no decisions, and the outputs gain "
        "abstained; pick P from the coverage curve in the run's eval_results.json "
        "(default: never abstain; servers and predict.sh can override it per request)",
    )
    p.add_argument(
        "--abstain_label",
        default="",
        metavar="LABEL",
        help="the label an abstained text gets (default: empty); needs --abstain_threshold",
    )
    p.add_argument(
        "--min_labels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="multilabel: at least N labels per text, the most probable added after the "
        "thresholds (default: the run's train.sh --min_labels, else 0); servers and "
        "predict.sh can override it per request",
    )
    p.add_argument(
        "--max_labels",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="multilabel: at most N labels per text, the least probable dropped (default: the "
        "run's train.sh --max_labels, else no bound)",
    )
    add_long_text_arguments(
        p, "Default: what the run folder was trained with; given here, they override it."
    )
    add_verbosity(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    from classifier.classifier_spec import SpecError
    from classifier.files import refuse_writing_over_inputs
    from export import export_trained_model

    try:
        refuse_writing_over_inputs(
            [("--export_dir", args.export_dir)], [("--output_dir", args.output_dir)]
        )
        result = export_trained_model(
            args.output_dir,
            args.export_dir,
            args.version,
            dtype=args.dtype,
            freeze_weights=args.freeze_weights,
            long_text=long_text_overrides(args),
            quantize=args.quantize,
            abstain_threshold=args.abstain_threshold,
            abstain_label=args.abstain_label,
            min_labels=args.min_labels,
            max_labels=args.max_labels,
            export_format=args.format,
        )
    except (SpecError, FileNotFoundError, FileExistsError, ValueError, ImportError) as err:
        logger.error("%s", err)
        return 2
    meta = result.metadata
    print(f"exported {args.output_dir} -> {result.path} (version {result.version})")
    print(
        f"  {meta['model_family']} {meta['head_kind']}{' pair' if meta['is_pair'] else ''} "
        f"({meta['dtype']}{', int8 dense layers' if meta.get('quantize') else ''}"
        f"{', served at --dtype=auto' if meta.get('serve_dtype') == 'auto' else ''}), "
        f"max_seq_length {meta['max_seq_length']} ({meta['long_text']}), "
        f"labels: {' '.join(meta['labels'])}"
    )
    if meta.get("abstain_threshold") is not None:
        print(
            f"  abstains below {meta['abstain_threshold']:g} "
            f"(label {meta['abstain_label']!r}, output abstained)"
        )
    bounds = meta.get("label_bounds") or {}
    if bounds.get("min_labels") or bounds.get("max_labels") is not None:
        print(
            f"  label bounds: min_labels {bounds['min_labels']}, max_labels {bounds['max_labels']}"
        )
    for line in result.signatures:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
