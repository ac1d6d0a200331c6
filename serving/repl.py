"""The prediction REPL and the TSV batch mode behind scripts/predict.sh.

Interactive (a terminal): a prompt, then one line per text with the predicted label(s) and
score(s), like the seed's test_serving.py; q, quit, exit or end of input leave. Batch (a file or
piped stdin): one text per line (pair models: text_a<TAB>text_b), a TSV of predictions out, in
the columns train.sh --do_predict writes: text(s), predicted label(s), probability, p(label)...
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from serving.prediction import Prediction
from serving.predictor import Predictor

QUIT_WORDS = frozenset({"q", "quit", "exit", "quit()", "exit()"})
NO_LABEL = "(none)"


def label_and_score(prediction: Prediction, multilabel: bool) -> tuple[str, str]:
    """Multiclass: the label and its probability; multilabel: the labels over their
    thresholds and their probabilities, joined by "|" (both empty when none passes)."""
    if not multilabel:
        return prediction.label, f"{prediction.score:.6f}"
    return (
        "|".join(item.label for item in prediction.labels),
        "|".join(f"{item.score:.6f}" for item in prediction.labels),
    )


def banner(predictor: Predictor) -> str:
    info = predictor.info
    kind = f"{info.head_kind}{' pair' if info.is_pair else ''}"
    return (
        f"model {predictor.path} (version {predictor.version}, {kind}, "
        f"max_seq_length {info.max_seq_length}); labels: {' '.join(info.labels)}\n"
        "type a text and press Enter; q to quit"
    )


def run_repl(predictor: Predictor, stdin: TextIO, stdout: TextIO, prompt: str = "> ") -> int:
    """Reads texts at a prompt until q / EOF; prints "label<TAB>score" for each."""
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
        label, score = label_and_score(predictor.predict_one(text, text_b), info.is_multilabel)
        print(f"{label or NO_LABEL}\t{score}", file=stdout, flush=True)
    return 0


def _ask(stdin: TextIO, stdout: TextIO, prompt: str) -> str | None:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        stdout.write("\n")
        return None
    return line.rstrip("\r\n")


def tsv_header(predictor: Predictor) -> list[str]:
    info = predictor.info
    header = ["text_a", "text_b"] if info.is_pair else ["text"]
    header.append("predicted_labels" if info.is_multilabel else "predicted_label")
    return header + ["probability"] + [f"p({name})" for name in info.labels]


class InputTextError(ValueError):
    """A line of the input that is not text (invalid UTF-8): names the file and line."""


def utf8_lines(stream: BinaryIO, name: str) -> Iterator[str]:
    """The lines of a byte stream, decoded one by one so a bad byte is reported with its line."""
    for number, raw in enumerate(stream, 1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            raise InputTextError(
                f"{name}:{number}: not valid UTF-8 (byte 0x{raw[err.start]:02x} at column "
                f"{err.start + 1}); save the file as UTF-8"
            ) from None


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
    predictor: Predictor, lines: Iterable[str], out: TextIO, chunk_size: int = 256
) -> int:
    """Streams ``lines`` through the predictor in chunks; returns the number of rows written.

    Every line is a text, an empty one included (predicted from [CLS] [SEP]), so output row n
    always belongs to input line n."""
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(tsv_header(predictor))
    rows = read_rows(lines, predictor.info.is_pair)
    count = 0
    while chunk := list(itertools.islice(rows, chunk_size)):
        writer.writerows(prediction_rows(predictor, chunk))
        count += len(chunk)
        out.flush()
    return count


def prediction_rows(predictor: Predictor, rows: list[tuple[str, str | None]]) -> list[list[str]]:
    """The TSV fields of each (text_a, text_b) row: text(s), label(s), score, p(label)...
    (predict.sh's batch mode and scripts/predict_beam.py write the same rows)."""
    info = predictor.info
    texts = [a for a, _ in rows]
    texts_b = [b or "" for _, b in rows] if info.is_pair else None
    out = []
    for (text_a, text_b), prediction in zip(rows, predictor.predict(texts, texts_b), strict=True):
        label, score = label_and_score(prediction, info.is_multilabel)
        fields = [text_a, text_b or ""] if info.is_pair else [text_a]
        probabilities = (f"{p:.6f}" for p in prediction.probabilities.values())
        out.append([*fields, label, score, *probabilities])
    return out
