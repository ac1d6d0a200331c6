"""OnnxPredictor: one ONNX export version (export.sh --format=onnx) run with ONNX Runtime,
behind the Predictor's interface, so predict.sh, the REPL and serve.sh take either format.

The version folder holds model.onnx (token ids -> raw logits), vocab.txt and metadata.json
(export.export_metadata's keys). Everything the SavedModel does around its model is done here
with the project's own code, in Python and numpy, and no TensorFlow is imported:

    tokenization   classifier.text.row_encoder.RowEncoder: the Python tokenizer and packer
                   training uses, with the export's do_lower_case, max_chars_per_word,
                   max_seq_length and long-text policy (truncate, head_tail, sliding windows;
                   the tests hold its ids to the SavedModel's ``tokenize`` signature)
    windows        each window is a row; its logits are pooled per text (mean or max) by
                   LongTextPolicy.pool, the numpy twin of the graph's pooling
    decisions      classifier.heads (the head of the export's kind with its thresholds,
                   temperatures and label bounds): Head.served_outputs gives the keys and
                   dtypes of serving_default's outputs, abstaining at the export's setting

Rows are sorted by length and run ``batch_size`` at a time, each batch padded only to its own
longest row (the graph's axes are dynamic). One InferenceSession per loaded version, on the
CPU execution provider; ``InferenceSession.run`` may be called from any thread. With
``runtime="openvino"`` the same model.onnx is compiled by OpenVINO instead
(serving.openvino_session, ``precision`` f32, bf16 or auto); everything else is unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.heads import Head, make_head
from classifier.label_bounds import LabelBounds
from classifier.text.long_text import LongTextPolicy
from classifier.text.row_encoder import RowEncoder
from serving.abstention import Abstention
from serving.explaining import ExplainUnavailable
from serving.inputs import InputError, Text, empty_outputs, texts_b_for, utf8
from serving.model_info import ModelInfo
from serving.prediction import AnswersTexts
from serving.runtime_choice import choose_runtime
from serving.runtimes import (
    ONNX_RUNTIMES,
    OPENVINO_PRECISIONS,
    RuntimeMissing,
    import_onnxruntime,
)
from serving.versions import ONNX_MODEL_FILE, latest_version

logger = logging.getLogger(__name__)

FORMAT = "zh-textclf-onnx"  # metadata.json's "format" (export.model_card.ONNX_FORMAT)
METADATA_FILE = "metadata.json"
VOCAB_FILE = "vocab.txt"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "logits"
DEFAULT_BATCH_SIZE = 64

__all__ = ["InputError", "OnnxExportError", "OnnxPredictor"]


class OnnxExportError(OSError):
    """A version folder that is not a loadable ONNX export (the message names the path)."""


class OnnxPredictor(AnswersTexts):
    """Raw texts -> predictions with one loaded ONNX export version.

    The same public surface as serving.Predictor: ``run`` returns serving_default's outputs
    as numpy arrays (rows in input order), ``predict`` the same as ``Prediction`` objects,
    ``abstain`` re-decides outputs at a request's abstention, ``run_ids`` takes token ids
    (predict_ids), ``tokenize`` gives the ids the model is fed (the tokenize signature).
    """

    format = "onnx"

    can_explain = False

    def explain(self, *args: Any, **kwargs: Any) -> list:
        """ONNX Runtime computes no gradients: explanations need the SavedModel export."""
        raise ExplainUnavailable(
            f"{self.path} is an ONNX export, which carries no gradients: explain with a "
            "SavedModel export of the run (export.sh --format=saved_model) or its run folder"
        )

    def __init__(
        self,
        path: str | Path,
        version: int = 0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        runtime: str | None = None,
        precision: str | None = None,
        dtype: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        choose_runtime(dtype, runtime, precision)  # the flags checked before any file is read
        started = time.monotonic()
        self.path = Path(path)
        self.version = version
        self.batch_size = batch_size
        metadata = read_metadata(self.path)
        self.info = ModelInfo.from_metadata(metadata)
        self.head: Head = make_head(
            metadata["head_kind"],
            metadata["labels"],
            metadata.get("thresholds"),
            metadata.get("temperatures"),
            LabelBounds.from_dict(metadata.get("label_bounds")),
        )
        self.encoder = RowEncoder(
            self.path / VOCAB_FILE,
            do_lower_case=bool(metadata.get("do_lower_case", True)),
            max_seq_length=int(metadata["max_seq_length"]),
            max_chars_per_word=int(metadata.get("max_chars_per_word") or 200),
            long_text=LongTextPolicy.from_dict(metadata),
        )
        if dtype is None and precision is None:  # the export's ask (export.sh --dtype=auto)
            dtype = metadata.get("serve_dtype")
        choice = choose_runtime(
            dtype,
            runtime,
            precision,
            quantized=bool(metadata.get("quantize")),
        )
        runtime, precision = choice.runtime, choice.precision
        if runtime == "openvino" and metadata.get("quantize"):
            raise ValueError(
                f"{self.path} is a --quantize={metadata['quantize']} ONNX export: its "
                "quantized attention (com.microsoft QAttention) runs on onnxruntime only; serve "
                "the float32 export with --runtime=openvino (--precision=bf16 is its fast path)"
            )
        self.runtime = runtime
        self.runtime_reason = choice.reason
        self._session = open_session(self.path / ONNX_MODEL_FILE, runtime=runtime, precision=precision)  # fmt: skip
        self.precision = getattr(self._session, "inference_precision", "f32")
        self.run([""], [""] if self.info.is_pair else None)  # the first call plans the graph
        logger.info(
            "loaded %s (ONNX on %s, %s [%s], version %d) in %.1fs",
            self.path,
            runtime,
            self.precision,
            choice.reason,
            version,
            time.monotonic() - started,
        )

    @classmethod
    def from_export_dir(cls, export_dir: str | Path, **kwargs: Any) -> OnnxPredictor:
        """The highest complete version under ``export_dir`` (it must be an ONNX one)."""
        return cls.from_version(latest_version(export_dir), **kwargs)

    def run(
        self, texts: Sequence[Text], texts_b: Sequence[Text] | None = None
    ) -> dict[str, np.ndarray]:
        """serving_default's outputs for every text, in input order."""
        token_ids, segment_ids, documents = self._encode(texts, texts_b)
        if not len(texts):
            return empty_outputs(self.info)
        logits = self._row_logits(token_ids, segment_ids)
        if documents is not None:  # sliding windows: each text's windows pooled
            logits = self.encoder.long_text.pool(logits, documents, len(texts))
        return self._outputs(logits, self.info.abstention)

    def abstain(
        self, outputs: dict[str, np.ndarray], abstention: Abstention | None
    ) -> dict[str, np.ndarray]:
        """The outputs decided at ``abstention`` (a request's setting, see
        serving.abstention.resolve) instead of the export's, recomputed from ``logits`` with
        the head's rule (the SavedModel's ``decide``); None or the export's: unchanged."""
        if abstention is None or abstention == self.info.abstention:
            return outputs
        return {**outputs, **self._outputs(outputs["logits"], abstention)}

    def run_ids(
        self, input_ids: np.ndarray, input_mask: np.ndarray, segment_ids: np.ndarray
    ) -> dict[str, np.ndarray]:
        """predict_ids' outputs for already tokenized int32 [batch, length] inputs: as the
        SavedModel reads them, the tokens where input_mask is 1 (and the first token) are the
        sequence, wherever the padding is."""
        ids, mask, segments = (
            np.asarray(x, np.int32) for x in (input_ids, input_mask, segment_ids)
        )
        if not len(ids):
            return empty_outputs(self.info)
        keep = mask > 0
        keep[:, :1] = True
        rows = [np.flatnonzero(row) for row in keep]
        logits = self._row_logits(
            [ids[r][k] for r, k in enumerate(rows)], [segments[r][k] for r, k in enumerate(rows)]
        )
        return self._outputs(logits, self.info.abstention)

    def tokenize(
        self, texts: Sequence[Text], texts_b: Sequence[Text] | None = None
    ) -> dict[str, np.ndarray]:
        """input_ids, input_mask, segment_ids int32 [rows, longest] exactly as this runtime
        feeds the model (the SavedModel's ``tokenize`` signature; with sliding windows one row
        per window and ``document_index``, the text of each)."""
        token_ids, segment_ids, documents = self._encode(texts, texts_b)
        ids, segments, mask = pad_rows(token_ids, segment_ids, self.encoder.tokenizer.pad_id)
        features = {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
        if documents is not None:
            features["document_index"] = documents
        return features

    # === Internals ===
    def _encode(
        self, texts: Sequence[Text], texts_b: Sequence[Text] | None
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
        if isinstance(texts, (str, bytes)):
            raise InputError("texts must be a sequence of strings, not one string")
        encoded_a = [utf8(t, i, "text") for i, t in enumerate(texts)]
        encoded_b = texts_b_for(self.info, texts_b, len(encoded_a))
        return self.encoder.encode_documents(encoded_a, encoded_b)

    def _row_logits(
        self, token_ids: Sequence[np.ndarray], segment_ids: Sequence[np.ndarray]
    ) -> np.ndarray:
        """float32 [rows, K]: rows sorted by length, ``batch_size`` at a time, each batch
        padded to its own longest row; returned in the given order."""
        order = np.argsort([len(t) for t in token_ids], kind="stable")
        logits = np.empty((len(order), len(self.info.labels)), np.float32)
        pad_id = self.encoder.tokenizer.pad_id
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            ids, segments, mask = pad_rows(
                [token_ids[i] for i in rows], [segment_ids[i] for i in rows], pad_id
            )
            feeds = dict(zip(INPUT_NAMES, (ids, mask, segments), strict=True))
            (logits[rows],) = self._session.run([OUTPUT_NAME], feeds)
        return logits

    def _outputs(self, logits: np.ndarray, abstention: Abstention | None) -> dict[str, np.ndarray]:
        if abstention is None:
            return self.head.served_outputs(logits)
        return self.head.served_outputs(logits, abstention.threshold, abstention.label)


def pad_rows(
    token_ids: Sequence[np.ndarray], segment_ids: Sequence[np.ndarray], pad_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, segments, mask) int32 [rows, longest], padded at the end."""
    width = max((len(t) for t in token_ids), default=0)
    ids = np.full((len(token_ids), width), pad_id, np.int32)
    segments = np.zeros((len(token_ids), width), np.int32)
    mask = np.zeros((len(token_ids), width), np.int32)
    for row, (t, s) in enumerate(zip(token_ids, segment_ids, strict=True)):
        ids[row, : len(t)], segments[row, : len(t)], mask[row, : len(t)] = t, s, 1
    return ids, segments, mask


def read_metadata(path: Path) -> dict[str, Any]:
    """metadata.json of an ONNX export version, checked (OnnxExportError names the path)."""
    for name in (ONNX_MODEL_FILE, METADATA_FILE, VOCAB_FILE):
        if not (path / name).is_file():
            raise OnnxExportError(f"{path} is not a complete ONNX export: {name} is missing")
    try:
        metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise OnnxExportError(f"{path / METADATA_FILE}: not readable JSON ({err})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise OnnxExportError(
            f"{path / METADATA_FILE}: format {found!r}, expected {FORMAT!r} (export.sh "
            "--format=onnx writes it)"
        )
    missing = [
        key for key in ("labels", "head_kind", "is_pair", "max_seq_length") if key not in metadata
    ]
    if missing:
        raise OnnxExportError(f"{path / METADATA_FILE}: {', '.join(missing)} missing")
    return metadata


def session_options(threads: int | None = None):
    """The session settings latency wants, stated rather than left implicit: every graph
    optimisation (onnxruntime's own fusions over export.onnx.fusion's), operators run one
    after another (ORT_SEQUENTIAL: a BERT graph is a chain, the parallel executor only adds
    scheduling), and ``threads`` intra-op threads (None: onnxruntime's default, one per
    physical core, which is what the benchmarks' ONNX Runtime peer gets on a machine without
    hyper-threads). The Python path around a call (tokenizer, padding, decisions) costs
    ~0.25 ms per text, under 1% of a BERT-base call (benchmarks/RESULTS.md)."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        options.intra_op_num_threads = threads
    return options


def check_runtime(runtime: str, precision: str | None) -> None:
    """--runtime and --precision as given (ValueError naming them)."""
    if runtime not in ONNX_RUNTIMES:
        raise ValueError(f"--runtime must be one of {ONNX_RUNTIMES}, got {runtime!r}")
    if precision is not None and runtime != "openvino":
        raise ValueError(f"--precision={precision} applies to --runtime=openvino only")
    if precision is not None and precision not in OPENVINO_PRECISIONS:
        raise ValueError(f"--precision must be one of {OPENVINO_PRECISIONS}, got {precision!r}")


def open_session(
    model_file: Path,
    threads: int | None = None,
    runtime: str = "onnxruntime",
    precision: str | None = None,
):
    """An InferenceSession on the CPU execution provider (session_options), or with
    ``runtime="openvino"`` an OpenVinoSession at ``precision`` (None: f32); its inputs and
    output checked against the export's."""
    check_runtime(runtime, precision)
    if runtime == "openvino":
        session = open_openvino(model_file, precision or "f32")
        check_signature(model_file, session.input_names(), session.output_names())
        return session
    ort = import_onnxruntime()
    try:
        session = ort.InferenceSession(
            str(model_file), session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise OnnxExportError(f"{model_file}: ONNX Runtime cannot load it ({message})") from None
    inputs = tuple(i.name for i in session.get_inputs())
    outputs = tuple(o.name for o in session.get_outputs())
    check_signature(model_file, inputs, outputs)
    return session


def open_openvino(model_file: Path, precision: str):
    from serving.openvino_session import OpenVinoSession

    try:
        return OpenVinoSession(model_file, precision)
    except (RuntimeMissing, ValueError):
        raise
    except Exception as err:  # OpenVINO's own exception types: the last line says what failed
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        message = lines[-1] if lines else type(err).__name__
        raise OnnxExportError(f"{model_file}: OpenVINO cannot load it ({message})") from None


def check_signature(model_file: Path, inputs: Sequence[str], outputs: Sequence[str]) -> None:
    if sorted(inputs) != sorted(INPUT_NAMES) or OUTPUT_NAME not in outputs:
        raise OnnxExportError(
            f"{model_file}: takes {', '.join(inputs)} and gives {', '.join(outputs)}; expected "
            f"{', '.join(INPUT_NAMES)} -> {OUTPUT_NAME}"
        )
