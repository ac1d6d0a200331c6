"""The prediction REPL and the TSV batch mode behind scripts/predict.sh.

Interactive (a terminal): a prompt, then one line per text with the predicted label(s) and
score(s), like the seed's test_serving.py; q, quit, exit or end of input leave. Batch (a file or
piped stdin): one text per line (pair models: text_a<TAB>text_b), a TSV of predictions out, in
the columns train.sh --do_predict writes: text(s), predicted label(s), probability, p(label)...
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TextIO

from classifier.iteration import chunks
from serving.explaining import ExplainSettings, ExplainUnavailable
from serving.prediction import Prediction, TextPredictor
from serving.text_io import (
    InputTextError,
    PredictionWriter,
    TextRow,
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
EXPLAIN_COMMAND = ":explain"
TOP_WORDS = 5  # the REPL's explanation names this many words after the coloured text
# ANSI 256-colour backgrounds, from faint to strong: green for words that speak for the
# label, red for words against it.
_FOR = (194, 157, 120, 83, 46)
_AGAINST = (224, 217, 210, 203, 196)


def banner(predictor: TextPredictor) -> str:
    info = predictor.info
    kind = f"{info.head_kind}{' pair' if info.is_pair else ''}"
    where = "in memory" if predictor.version is None else f"version {predictor.version}"
    return (
        f"model {predictor.path} ({where}, {kind}, "
        f"max_seq_length {info.max_seq_length}); labels: {' '.join(info.labels)}\n"
        "type a text and press Enter; q to quit"
        + (f"; {EXPLAIN_COMMAND} to toggle explanations" if _can_explain(predictor) else "")
    )


def _can_explain(predictor: TextPredictor) -> bool:
    """Whether the REPL should offer :explain (an ONNX export, say, cannot explain)."""
    return bool(getattr(predictor, "can_explain", False))


def run_repl(
    predictor: TextPredictor,
    stdin: TextIO,
    stdout: TextIO,
    prompt: str = "> ",
    top_k: int | None = None,
    explain: ExplainSettings | None = None,
) -> int:
    """Reads texts at a prompt until q / EOF; prints "label<TAB>score" for each (an abstained
    text: the abstain label, its top probability and "(abstained)"), and with
    ``top_k`` the k most probable labels under it, one "  rank. label<TAB>probability" line
    each (indented, so the answer line stays the first and the same as without).

    ``:explain`` toggles explanations (on from the start with ``explain``, predict.sh
    --explain, whose settings it keeps): under each answer, the text with each word's
    weight for the label as a background colour (NO_COLOR set: plain), then its strongest
    words with their scores."""
    info = predictor.info
    print(banner(predictor), file=stdout, flush=True)
    settings = explain or ExplainSettings()
    explaining = explain is not None
    while True:
        text = _ask(stdin, stdout, "text_a> " if info.is_pair else prompt)
        if text is None or text.strip() in QUIT_WORDS:
            break
        if not text.strip():
            continue  # an empty line just prompts again
        if text.strip() == EXPLAIN_COMMAND:
            explaining = not explaining
            state = "on" if explaining else "off"
            print(f"explanations {state} ({EXPLAIN_COMMAND} toggles)", file=stdout, flush=True)
            continue
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
        if explaining:
            print(
                _explained(predictor, text, text_b, prediction, settings), file=stdout, flush=True
            )
    return 0


def _explained(
    predictor: TextPredictor,
    text: str,
    text_b: str | None,
    prediction: Prediction,
    settings: ExplainSettings,
) -> str:
    try:
        attributions = predictor.explain(
            [text], None if text_b is None else [text_b], [prediction], settings
        )[0]
    except (ExplainUnavailable, ValueError) as err:
        return f"  (no explanation: {err})"
    colour = not os.environ.get("NO_COLOR")
    return "\n".join(explanation_lines(a, colour) for a in attributions)


def explanation_lines(attribution, colour: bool = True) -> str:
    """Two indented lines for one explained label: "  why <label>: " and the text's words,
    each on a background as strong as its weight (green for, red against; ``colour`` False:
    the words plain), then "  words: 难吃 +0.52, 差 +0.31, ..." (the strongest by size)."""
    texts = [attribution.words] + ([attribution.words_b] if attribution.words_b is not None else [])
    words = [w for part in texts for w in part]
    largest = max((abs(w.score) for w in words), default=0.0) or 1.0

    def paint(word) -> str:
        if not colour:
            return word.word
        shade = min(len(_FOR) - 1, int(abs(word.score) / largest * len(_FOR)))
        code = (_FOR if word.score >= 0 else _AGAINST)[shade]
        return f"\x1b[48;5;{code}m\x1b[30m{word.word}\x1b[0m"

    painted = " | ".join("".join(paint(w) for w in part) for part in texts)
    strongest = sorted(words, key=lambda w: -abs(w.score))[:TOP_WORDS]
    named = ", ".join(f"{w.word} {w.score:+.3f}" for w in strongest)
    return f"  why {attribution.label}: {painted}\n  words: {named}"


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
    predictor: TextPredictor,
    rows: Iterable[TextRow],
    writer: PredictionWriter,
    chunk_size: int,
    explain: ExplainSettings | None = None,
) -> int:
    """Predicts ``rows`` in chunks of ``chunk_size`` into ``writer`` (explained at ``explain``
    when given); returns the rows written."""
    pair = predictor.info.is_pair
    for chunk in chunks(rows, chunk_size):
        texts = [row.text for row in chunk]
        texts_b = [row.text_b or "" for row in chunk] if pair else None
        predictions = predictor.predict(texts, texts_b)
        explanations = None
        if explain is not None:
            explanations = predictor.explain(texts, texts_b, predictions, explain)
        writer.write(chunk, predictions, explanations)
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
