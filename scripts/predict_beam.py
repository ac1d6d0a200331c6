"""Bulk prediction with Apache Beam: text files in, TSV shards of predictions out.

    pip install -r requirements-beam.txt
    scripts/predict_beam.sh --export_dir exported/demo --input 'texts/*.txt' \
        --output out/predictions [--runner DirectRunner] [any Beam pipeline option]

Each input line is one text (pair models: text_a<TAB>text_b), as predict.sh reads it; every
output row is the row predict.sh writes for that line (text(s), label(s), probability,
p(label)...), under predict.sh's header, in files OUTPUT-00000-of-0000N.tsv. Rows are not in
input order (Beam processes lines in parallel); each carries its text. The model is loaded by
a subclass of Beam's TensorFlow model handler (RunInference batches the lines), so the same
pipeline runs on the DirectRunner here and unchanged on Flink, Spark or Dataflow runners
(inputs and outputs on any file system Beam reads; --export_dir a local path that the launching
machine and every worker can read). Only the DirectRunner is tested.
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import csv
import io
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from classifier.flag_types import positive_int

from .cli_flags import command_parser, setup_logging

logger = logging.getLogger("predict_beam")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Classify text files with an exported SavedModel through Apache Beam.",
        [
            "scripts/predict_beam.sh --export_dir=exported/my_task --input='texts/*.txt' --output=out/preds",
            "scripts/predict_beam.sh --export_dir=/models/my_task --input='gs://bucket/texts/*' --output=gs://bucket/preds --runner=FlinkRunner",
        ],
    )
    p.add_argument("--export_dir", required=True, help="export.sh --export_dir (versions <int>/)")
    p.add_argument("--version", type=positive_int, default=None, help="default: the highest")
    p.add_argument("--input", required=True, help="text file(s): a path or a glob pattern")
    p.add_argument("--output", required=True, help="output prefix: OUTPUT-00000-of-0000N.tsv")
    p.add_argument("--batch_size", type=positive_int, default=64, help="lines per model call")
    p.add_argument("--verbose", action="store_true", help="debug logging")
    return p


def tsv_line(fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="", quoting=csv.QUOTE_MINIMAL).writerow(
        fields
    )
    return buffer.getvalue()


def model_handler(export_dir: str, version: int | None, batch_size: int):
    """Beam's TensorFlow model handler, loading our export through serving.Predictor (its
    tokenizer, labels, thresholds and calibration inside) instead of Keras's load_model, and
    answering each line with predict.sh's TSV row."""
    from apache_beam.ml.inference.base import PredictionResult
    from apache_beam.ml.inference.tensorflow_inference import TFModelHandlerNumpy

    class ExportedModelHandler(TFModelHandlerNumpy):
        def load_model(self):
            from serving.predictor import Predictor
            from serving.versions import select_version

            return Predictor.from_version(
                select_version(self._model_uri, version), batch_size=batch_size
            )

        def run_inference(
            self, batch: Sequence[str], model, inference_args: dict[str, Any] | None = None
        ) -> Iterable[PredictionResult]:
            from serving.repl import prediction_rows, read_rows

            rows = prediction_rows(model, list(read_rows(batch, model.info.is_pair)))
            return [
                PredictionResult(line, tsv_line(row)) for line, row in zip(batch, rows, strict=True)
            ]

        def get_num_bytes(self, batch: Sequence[str]) -> int:
            return sum(len(line.encode("utf-8")) for line in batch)

    return ExportedModelHandler(export_dir, min_batch_size=1, max_batch_size=batch_size)


def main(argv: list[str] | None = None) -> int:
    args, beam_args = build_parser().parse_known_args(argv)
    setup_logging(args.verbose)
    try:
        import apache_beam as beam
        from apache_beam.ml.inference.base import RunInference
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError:
        logger.error("Apache Beam is not installed: pip install -r requirements-beam.txt")
        return 2
    import glob

    from classifier.files import refuse_writing_over_inputs
    from serving.predictor import Predictor
    from serving.repl import tsv_header
    from serving.versions import NoModelError, select_version

    try:
        # Beam writes OUTPUT-<shard>-of-<n>.tsv: none of them may be an input file.
        written = glob.glob(f"{glob.escape(args.output)}-*.tsv") + [f"{args.output}.tsv"]
        refuse_writing_over_inputs(
            [("--output", name) for name in written],
            [("--input", name) for name in glob.glob(args.input)],
        )
        chosen = select_version(args.export_dir, args.version)  # fail here, not in a worker
        header = tsv_line(tsv_header(Predictor.from_version(chosen, batch_size=1)))
    except (NoModelError, ValueError) as err:
        logger.error("%s", err)
        return 2
    options = PipelineOptions(beam_args or ["--runner=DirectRunner"])
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | "read" >> beam.io.ReadFromText(args.input)
            | "predict"
            >> RunInference(model_handler(args.export_dir, chosen.version, args.batch_size))
            | "rows" >> beam.Map(lambda result: result.inference)
            | "write" >> beam.io.WriteToText(args.output, file_name_suffix=".tsv", header=header)
        )
    logger.info("predictions written to %s-*.tsv", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
