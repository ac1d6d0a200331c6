"""The prediction REPL and the TSV batch mode behind scripts/predict.sh.

Interactive (a terminal): a prompt, then one line per text with the predicted label(s) and
score(s), like the seed's test_serving.py; q, quit, exit or end of input leave. Batch (a file or
piped stdin): one text per line (pair models: text_a<TAB>text_b), a TSV of predictions out, in
the columns train.sh --do_predict writes: text(s), predicted label(s), probability, p(label)...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from serving.prediction import Prediction, TextPredictor
from serving.text_io import (
    InputTextError,
    PredictionWriter,
    TextRow,
    chunks,
    label_and_score,
    table_fields,
    table_header,
    utf8_lines,
)

__all__ = [
    "InputTextError",
    "banner",
    "label_and_score",
    "prediction_rows",
    "read_rows",
    "run_repl",
    "top_k_lines",
    "tsv_header",
    "utf8_lines",
    "write_predictions_tsv",
]

QUIT_WORDS = frozenset({"q", "quit", "exit", "quit()", "exit()"})
NO_LABEL = "(none)"


def banner(predictor: TextPredictor) -> str:
    info = predictor.info
    kind = f"{info.head_kind}{' pair' if info.is_pair else ''}"
    where = "in memory" if predictor.version is None else f"version {predictor.version}"
    return (
        f"model {predictor.path} ({where}, {kind}, "
        f"max_seq_length {info.max_seq_length}); labels: {' '.join(info.labels)}\n"
        "type a text and press Enter; q to quit"
    )


def run_repl(
    predictor: TextPredictor,
    stdin: TextIO,
    stdout: TextIO,
    prompt: str = "> ",
    top_k: int | None = None,
) -> int:
    """Reads texts at a prompt until q / EOF; prints "label<TAB>score" for each (an abstained
    text: the abstain label, its top probability and "(abstained)"), and with
    ``top_k`` the k most probable labels under it, one "  rank. label<TAB>probability" line
    each (indented, so the answer line stays the first and the same as without)."""
    info = predictor.info
    print(banner(predictor), file=stdout, flush=True)
    while True:
        text = _ask(stdin, stdout, "text_a> " if info.is_pair else prompt)
        if text is None or text.strip() in QUIT_WORDS:
            break
        if not text.strip():
            continue  # an empty line just prompts again
        text_b = None
        if info.is_pair:
            text_b = _ask(stdin, stdout, "text_b> ")
            if text_b is None:
                break
        prediction = predictor.predict_one(text, text_b)
        label, score = label_and_score(prediction, info.is_multilabel)
        mark = "\t(abstained)" if prediction.abstained else ""
        print(f"{label or NO_LABEL}\t{score}{mark}", file=stdout, flush=True)
        if top_k is not None:
            print(top_k_lines(prediction, top_k), file=stdout, flush=True)
    return 0


def top_k_lines(prediction: Prediction, k: int) -> str:
    """The REPL's top-k block: "  1. 体育<TAB>0.790746", one line per label, best first."""
    return "\n".join(
        f"  {rank}. {item.label}\t{item.probability:.6f}"
        for rank, item in enumerate(prediction.top_k(k), 1)
    )


def _ask(stdin: TextIO, stdout: TextIO, prompt: str) -> str | None:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        stdout.write("\n")
        return None
    return line.rstrip("\r\n")


def tsv_header(predictor: TextPredictor) -> list[str]:
    return table_header(predictor.info)


def read_rows(lines: Iterable[str], is_pair: bool) -> Iterator[tuple[str, str | None]]:
    """One text per line; pair models split each line at its first tab (text_b may be empty)."""
    for line in lines:
        text = line.rstrip("\r\n")
        if not is_pair:
            yield text, None
        else:
            text_a, _, text_b = text.partition("\t")
            yield text_a, text_b


def write_predictions_tsv(
    predictor: TextPredictor, lines: Iterable[str], out: TextIO, chunk_size: int = 256
) -> int:
    """Streams ``lines`` through the predictor in chunks; returns the number of rows written.

    Every line is a text, an empty one included (predicted from [CLS] [SEP]), so output row n
    always belongs to input line n."""
    rows = (
        TextRow(number, text, text_b)
        for number, (text, text_b) in enumerate(read_rows(lines, predictor.info.is_pair), 1)
    )
    return write_predictions(
        predictor, rows, PredictionWriter(out, "tsv", predictor.info), chunk_size
    )


def write_predictions(
    predictor: TextPredictor, rows: Iterable[TextRow], writer: PredictionWriter, chunk_size: int
) -> int:
    """Predicts ``rows`` in chunks of ``chunk_size`` into ``writer``; returns the rows written."""
    pair = predictor.info.is_pair
    for chunk in chunks(rows, chunk_size):
        texts_b = [row.text_b or "" for row in chunk] if pair else None
        writer.write(chunk, predictor.predict([row.text for row in chunk], texts_b))
    return writer.rows


def prediction_rows(
    predictor: TextPredictor, rows: list[tuple[str, str | None]]
) -> list[list[str]]:
    """The TSV fields of each (text_a, text_b) row: text(s), label(s), score, p(label)...
    (predict.sh's batch mode and scripts/predict_beam.py write the same rows)."""
    info = predictor.info
    texts_b = [b or "" for _, b in rows] if info.is_pair else None
    predictions = predictor.predict([a for a, _ in rows], texts_b)
    return [
        table_fields(info, text_a, text_b, prediction)
        for (text_a, text_b), prediction in zip(rows, predictions, strict=True)
    ]
