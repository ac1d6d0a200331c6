"""POST /predict_file (the web page's file upload) through the Flask app with real SavedModels:
every input format, the id carried, the predictions as a download in the same format, a file
that does not fit answered 400 naming its line; /predict refuses empty texts; the page draws
its placeholder from the model's labels."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from serving.app import create_app
from serving.batcher import MicroBatcher
from serving.model_holder import ModelHolder
from serving.predictor import Predictor
from serving.validation import Limits

pytestmark = pytest.mark.slow  # loads SavedModels exported by scripts/export.sh

WEB = Path(__file__).resolve().parent.parent / "serving" / "web"
TEXTS = ["中超第6轮，浙江队5比0逆转武汉三镇", "央行宣布降准0.5个百分点", "第一行\n第二行, 逗号"]


def serve(export_dir, name: str, **limits):
    holder = ModelHolder(export_dir, Predictor.from_version, poll_seconds=0)
    batcher = MicroBatcher(holder, max_batch_size=2, max_wait_ms=1)  # files run in several calls
    batcher.start()
    app = create_app(holder, batcher, Limits(**limits), name)
    return app.test_client(), holder.current.predictor, batcher


@pytest.fixture(scope="module")
def single(serving_models):
    client, predictor, batcher = serve(
        serving_models["multiclass"].export_dir, "news", max_file_rows=5, max_text_chars=200
    )
    yield client, predictor
    batcher.stop()


@pytest.fixture(scope="module")
def pair(serving_models):
    client, predictor, batcher = serve(serving_models["multilabel_pair"].export_dir, "pairs")
    yield client, predictor
    batcher.stop()


def upload(client, name: str, content: str | bytes, **fields):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        "/predict_file",
        data={"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_plain_lines_come_back_as_a_tsv_download(single):
    client, predictor = single
    reply = upload(client, "texts.txt", "".join(f"{t}\n" for t in TEXTS[:2]))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    assert "texts.predictions.tsv" in reply.headers["Content-Disposition"]
    assert reply.mimetype == "text/tab-separated-values"
    assert reply.headers["X-Predicted-Rows"] == "2" and reply.headers["X-Model-Version"] == "1"
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True)), delimiter="\t"))
    assert rows[0][:3] == ["text", "predicted_label", "probability"]
    assert [r[:2] for r in rows[1:]] == [
        [t, p.label] for t, p in zip(TEXTS[:2], predictor.predict(TEXTS[:2]), strict=True)
    ]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_tables_keep_their_format_and_carry_the_id(single, fmt):
    client, predictor = single
    texts = TEXTS if fmt == "csv" else TEXTS[:2]  # a TSV cell holds no newline
    delimiter = "\t" if fmt == "tsv" else ","
    content = csv_text([["id", "content"], *[[f"n{i}", t] for i, t in enumerate(texts)]], delimiter)
    reply = upload(client, f"评论.{fmt}", content, text_column="content", id_column="id")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert (
        "filename*=UTF-8''%E8%AF%84%E8%AE%BA.predictions." + fmt
        in reply.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True)), delimiter=delimiter))
    assert rows[0][:4] == ["id", "text", "predicted_label", "probability"]
    expected = predictor.predict(texts)
    assert [r[:3] for r in rows[1:]] == [
        [f"n{i}", t, p.label] for i, (t, p) in enumerate(zip(texts, expected, strict=True))
    ]


def test_jsonl_in_jsonl_out_with_numeric_ids(single):
    client, predictor = single
    lines = [
        json.dumps({"id": 100 + i, "text": t}, ensure_ascii=False) for i, t in enumerate(TEXTS)
    ]
    reply = upload(client, "batch.jsonl", "\n".join(lines) + "\n", id_column="id")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.mimetype == "application/x-ndjson"
    objects = [json.loads(line) for line in reply.get_data(as_text=True).splitlines()]
    assert [o["id"] for o in objects] == [100, 101, 102]
    assert [o["predicted_label"] for o in objects] == [p.label for p in predictor.predict(TEXTS)]
    csv_reply = upload(client, "batch.jsonl", lines[0] + "\n", output_format="csv")
    assert (
        csv_reply.mimetype == "text/csv"
        and "batch.predictions.csv" in csv_reply.headers["Content-Disposition"]
    )


def test_pairs_read_text_a_and_text_b(pair):
    client, predictor = pair
    content = "text_a\ttext_b\n物流很快，隔天就到\t售后态度很差\n价格很良心\t\n"
    reply = upload(client, "pairs.tsv", content)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True)), delimiter="\t"))
    expected = predictor.predict(["物流很快，隔天就到", "价格很良心"], ["售后态度很差", ""])
    assert [r[2] for r in rows[1:]] == ["|".join(x.label for x in p.labels) for p in expected]


@pytest.mark.parametrize(
    ("name", "content", "fields", "status", "field", "message"),
    [
        ("bad.csv", "id,text\n1,好\n2,好,多\n", {}, 400, "file", "bad.csv:3: 3 fields where"),
        ("bad.tsv", "id\tbody\n1\t好\n", {}, 400, "file", "bad.tsv:1: no column 'text' or"),
        ("bad.jsonl", '{"text": "好"}\n{"text": "x",\n', {}, 400, "file", "bad.jsonl:2: not valid"),
        ("bad.txt", b"ok\n\xff\n", {}, 400, "file", "bad.txt:2: not valid UTF-8"),
        ("long.txt", "好\n" + "长" * 201 + "\n", {}, 400, "file", "long.txt:2: 201 characters"),
        ("many.txt", "好\n" * 6, {}, 413, "file", "many.txt:6: more than 5 texts"),
        ("empty.csv", "", {}, 400, "file", "empty.csv: no header line"),
        ("none.txt", "", {}, 400, "file", "none.txt: no texts in the file"),
        ("a.txt", "好\n", {"input_format": "xml"}, 400, "input_format", "'xml' is not one of"),
        ("a.txt", "好\n", {"colour": "red"}, 400, "colour", "unknown field"),
        ("a.txt", "好\n", {"id_column": "id"}, 400, "file", "id_column: plain lines have no"),
    ],
)
def test_a_file_that_does_not_fit_is_a_json_error_naming_its_line(
    single, name, content, fields, status, field, message
):
    reply = upload(single[0], name, content, **fields)
    assert reply.status_code == status, reply.get_data(as_text=True)
    body = reply.get_json()
    assert body["field"] == field and message in body["error"], body


def test_an_upload_without_a_file_or_a_form(single):
    client, _ = single
    reply = client.post(
        "/predict_file", data={"id_column": "id"}, content_type="multipart/form-data"
    )
    assert reply.status_code == 400 and reply.get_json()["field"] == "file"
    reply = client.post("/predict_file", json={"texts": ["好"]})
    assert reply.status_code == 415 and reply.get_json()["field"] == "Content-Type"


@pytest.mark.parametrize("empty", ["", " \t\u3000\n"])
def test_predict_refuses_an_empty_text_naming_it(single, pair, empty):
    reply = single[0].post("/predict", json={"texts": ["好", empty]})
    assert reply.status_code == 400
    assert reply.get_json()["field"] == "texts[1]"
    assert "nothing to classify" in reply.get_json()["error"]
    reply = pair[0].post("/predict", json={"pairs": [[empty, "物流很快"]]})
    assert reply.status_code == 400 and reply.get_json()["field"] == "pairs[0][0]"
    assert pair[0].post("/predict", json={"pairs": [["物流很快", empty]]}).status_code == 200


def test_the_page_offers_an_upload_and_no_hard_coded_headline(single):
    client, _ = single
    page = client.get("/").get_data(as_text=True)
    script = (WEB / "app.js").read_text(encoding="utf-8")
    for headline in ("浙江队", "中超", "武汉三镇"):
        assert headline not in page and headline not in script
    assert 'type="file"' in page and 'id="download"' in page
    assert "/predict_file" in script and "metadata.labels" in script
    assert ".innerHTML" not in script  # every text goes in as textContent
    meta = client.get("/metadata").get_json()
    assert meta["limits"]["max_file_rows"] == 5
