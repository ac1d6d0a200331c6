"""serving.text_io: the input and output formats predict.sh and the web upload share, and the
one-line errors (file, line, column) a file that does not fit gets."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from serving.model_info import ModelInfo
from serving.prediction import LabelScore, Prediction
from serving.text_io import (
    Columns,
    InputTextError,
    PredictionWriter,
    TextRow,
    input_format_for,
    output_format_for,
    read_text_rows,
)

SINGLE = ModelInfo(("体育", "财经"), "multiclass", False, None, 32, "bert", {})
PAIRS = ModelInfo(("物流", "服务"), "multilabel", True, (0.5, 0.5), 32, "bert", {})


def rows(data: str | bytes, fmt: str, is_pair: bool = False, **columns) -> list[TextRow]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(read_text_rows(io.BytesIO(raw), "in.x", fmt, is_pair, Columns(**columns)))


def error(data: str | bytes, fmt: str, is_pair: bool = False, **columns) -> str:
    with pytest.raises(InputTextError) as raised:
        rows(data, fmt, is_pair, **columns)
    return str(raised.value)


def test_formats_follow_the_extension():
    assert [input_format_for(n) for n in ("a.tsv", "a.CSV", "a.jsonl", "a.json", "a.txt")] == [
        "tsv",
        "csv",
        "jsonl",
        "jsonl",
        "lines",
    ]
    assert input_format_for(None) == "lines" and input_format_for("a.tsv", "csv") == "csv"
    assert [output_format_for(n) for n in (None, "o.csv", "o.jsonl", "o.tsv", "o.txt")] == [
        "tsv",
        "csv",
        "jsonl",
        "tsv",
        "tsv",
    ]


def test_plain_lines_are_every_line_as_before():
    got = rows("\ufeff很好\n\n  \n差\r\n", "lines")
    assert [(r.line, r.text) for r in got] == [(1, "很好"), (2, ""), (3, "  "), (4, "差")]
    pairs = rows("物流快\t服务差\n只有一段\n", "lines", is_pair=True)
    assert [(r.text, r.text_b) for r in pairs] == [("物流快", "服务差"), ("只有一段", "")]


def test_tsv_with_a_header_reads_named_columns_and_ids():
    data = 'id\tlabel\ttext\n7\t体育\t中超开赛\n\n8\t财经\t股市"大涨"\n'
    got = rows(data, "tsv", id="id")
    assert [(r.line, r.id, r.text) for r in got] == [(2, "7", "中超开赛"), (4, "8", '股市"大涨"')]
    pairs = rows("text_a\ttext_b\n物流快\t服务差\n", "tsv", is_pair=True)
    assert (pairs[0].text, pairs[0].text_b) == ("物流快", "服务差")
    assert rows("review\nx\n", "tsv", text="review")[0].text == "x"


def test_csv_holds_commas_quotes_and_newlines_and_reports_where_a_row_starts():
    data = 'id,text\n1,"第一行\n第二行, 还有逗号"\n2,"他说""好"""\n'
    got = rows(data, "csv", id="id")
    assert [(r.line, r.id, r.text) for r in got] == [
        (2, "1", "第一行\n第二行, 还有逗号"),
        (4, "2", '他说"好"'),
    ]
    assert error('text\n"ok"\n"bad"x\n', "csv").startswith("in.x:3: not valid CSV")
    assert error('text\n"never closed\nmore\n', "csv").startswith("in.x:2: not valid CSV")


def test_jsonl_keeps_id_values_and_reads_pairs():
    data = '{"id": 3, "text": "很好"}\n\n{"id": "b", "text": "差", "extra": [1]}\n'
    got = rows(data, "jsonl", id="id")
    assert [(r.line, r.id, r.text) for r in got] == [(1, 3, "很好"), (3, "b", "差")]
    pairs = rows('{"text_a": "快", "text_b": "慢"}\n', "jsonl", is_pair=True)
    assert (pairs[0].text, pairs[0].text_b) == ("快", "慢")


@pytest.mark.parametrize(
    ("data", "fmt", "columns", "is_pair", "message"),
    [
        ("id\tcontent\nx\ty\n", "tsv", {}, False, "in.x:1: no column 'text' or 'text_a'"),
        ("text\nx\n", "tsv", {"id": "id"}, False, "in.x:1: no column 'id' (columns: 'text')"),
        ("text\ta\nx\n", "tsv", {}, False, "in.x:2: 1 fields where the header (line 1) has 2"),
        ("text\nx\ty\n", "tsv", {}, False, "in.x:2: 2 fields where the header"),
        ("text\nx\n", "tsv", {}, True, "in.x:1: no column 'text_b'"),
        ("text\ttext\nx\ty\n", "tsv", {}, False, "in.x:1: the header names column 'text' twice"),
        ("", "csv", {}, False, "in.x: no header line: the file is empty"),
        ("text,id\nx\n", "csv", {}, False, "in.x:2: 1 fields where the header (line 1) has 2"),
        ('{"text": "a"}\n{"txt": "b"}\n', "jsonl", {}, False, "in.x:2: no key 'text'"),
        ('{"text": "a"}\n{"text": 5}\n', "jsonl", {}, False, "in.x:2: 'text' is a number"),
        ('{"text": "a"}\n{"text": "a",\n', "jsonl", {}, False, "in.x:2: not valid JSON"),
        ('["a", "b"]\n', "jsonl", {}, False, "in.x:1: expected a JSON object, got an array"),
        ('{"text": "a", "id": {}}\n', "jsonl", {"id": "id"}, False, "'id' is an object"),
        ("x\n", "lines", {"id": "id"}, False, "in.x: id_column: plain lines have no columns"),
        ("text\nx\n", "tsv", {"text_b": "b"}, False, "text_b_column: this model takes single"),
    ],
)
def test_a_file_that_does_not_fit_names_its_line_and_column(data, fmt, columns, is_pair, message):
    assert message in error(data, fmt, is_pair, **columns)


def test_invalid_utf8_names_the_line_in_every_format():
    for fmt, head in (("lines", b""), ("tsv", b"text\n"), ("csv", b"text\n"), ("jsonl", b"")):
        bad = head + b"ok\n" + b'"\xff"\n' if fmt != "jsonl" else b'{"text": "\xff"}\n'
        line = 3 if head else (2 if fmt == "lines" else 1)
        assert error(bad, fmt).startswith(f"in.x:{line}: not valid UTF-8 (byte 0xff"), fmt


def prediction(probabilities: dict[str, float], chosen: list[str]) -> Prediction:
    top = max(probabilities, key=probabilities.get)
    return Prediction(
        top,
        probabilities[top],
        tuple(LabelScore(name, probabilities[name]) for name in chosen),
        probabilities,
    )


def written(fmt: str, info: ModelInfo, id_column: str | None, rows_, predictions) -> str:
    out = io.StringIO()
    writer = PredictionWriter(out, fmt, info, id_column)
    writer.write(rows_, predictions)
    assert writer.rows == len(rows_)
    return out.getvalue()


def test_tables_put_the_id_first_then_the_columns_of_train_sh():
    got = [TextRow(2, '他说\t"好"', None, "a7"), TextRow(3, "股市", None, "a8")]
    preds = [
        prediction({"体育": 0.9, "财经": 0.1}, ["体育"]),
        prediction({"体育": 0.2, "财经": 0.8}, ["财经"]),
    ]
    tsv = written("tsv", SINGLE, "review_id", got, preds)
    table = list(csv.reader(io.StringIO(tsv), delimiter="\t"))
    assert table[0] == ["review_id", "text", "predicted_label", "probability", "p(体育)", "p(财经)"]
    assert table[1] == ["a7", '他说\t"好"', "体育", "0.900000", "0.900000", "0.100000"]
    as_csv = list(csv.reader(io.StringIO(written("csv", SINGLE, "review_id", got, preds))))
    assert as_csv == table
    assert written("tsv", SINGLE, None, got, preds).splitlines()[0].startswith("text\t")


def test_jsonl_output_is_one_object_per_text_with_its_id():
    got = [TextRow(1, "快", "差", 5)]
    preds = [prediction({"物流": 0.7, "服务": 0.6}, ["物流", "服务"])]
    (line,) = written("jsonl", PAIRS, "id", got, preds).splitlines()
    assert json.loads(line) == {
        "id": 5,
        "text_a": "快",
        "text_b": "差",
        "predicted_labels": ["物流", "服务"],
        "probability": [0.7, 0.6],
        "probabilities": {"物流": 0.7, "服务": 0.6},
    }


def test_the_module_loads_no_tensorflow():
    code = "import serving.text_io, sys; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
