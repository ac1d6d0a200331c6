"""scripts/convert_annotations.sh and curation's annotation formats: label-text TSV to doccano
JSONL and Label Studio JSON and back, byte for byte; real-shaped exports read as their tools
mean them (the latest annotation not cancelled); the sibling tools' tables carried to the
annotators with their line and rank; an export's predictions as pre-annotations; and every
malformed record named, with exit status 2 and nothing written."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from curation.annotation_formats import FormatOptions, read_annotations
from curation.annotation_label_studio import ControlNames
from curation.annotation_record import check_label, meta_value
from curation.annotation_tsv import TsvLayout
from scripts.convert_annotations import main

ROOT = Path(__file__).resolve().parent.parent

# Quotes, emoji (one outside the BMP, one with a modifier), backslashes and a JSON-looking text,
# leading and trailing spaces, U+2028 (a line break to str.splitlines, not to the TSV reader).
MULTICLASS_TSV = (
    '正面\t物流很快，"包装"也好😀\n'
    "负面\t太难吃了 \\n 不是换行，C:\\path\\差评\n"
    "中性\t 还行吧👍🏻 \n"
    '正面\t{"label": "假的"} \'单引号\'\n'
    "负面\t段落\u2028分隔符和全角空格\u3000\n"
)
MULTILABEL_TSV = (
    "体育|财经\t中超球队上市，股价大涨😀\n"
    '科技\t新手机发布 \\ "Pro" 版\n'
    "财经|科技|体育\t三个标签的顺序要保持\n"
    "体育##足球\t层级标签也是标签\n"
)


def convert(tmp_path: Path, source: str, target: str, text: str | None, *flags: str) -> int:
    """main() on a file holding ``text`` (None: in.<source> already there) into out.<target>."""
    input_file = tmp_path / f"in.{source}"
    if text is not None:
        input_file.write_bytes(text.encode("utf-8"))
    return main(
        [
            f"--from={source}",
            f"--to={target}",
            f"--input_file={input_file}",
            f"--output_file={tmp_path / f'out.{target}'}",
            *flags,
        ]
    )


# === Round trips ===
@pytest.mark.parametrize("tool", ["doccano", "label_studio"])
@pytest.mark.parametrize(
    "task, rows", [("multiclass", MULTICLASS_TSV), ("multilabel", MULTILABEL_TSV)]
)
def test_tsv_to_a_tool_and_back_is_byte_identical(tmp_path, tool, task, rows):
    there, back = tmp_path / "there", tmp_path / "back"
    there.mkdir()
    back.mkdir()
    assert convert(there, "tsv", tool, rows, f"--task={task}") == 0
    (back / f"in.{tool}").write_bytes((there / f"out.{tool}").read_bytes())
    assert convert(back, tool, "tsv", None, f"--task={task}") == 0
    assert (back / "out.tsv").read_bytes() == rows.encode("utf-8")


def test_the_tool_files_hold_what_the_tools_import(tmp_path):
    assert convert(tmp_path, "tsv", "doccano", MULTILABEL_TSV, "--task=multilabel") == 0
    lines = (tmp_path / "out.doccano").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"text": "中超球队上市，股价大涨😀", "label": ["体育", "财经"]}
    assert "😀" in lines[0]  # UTF-8, not \\u escapes: readable in an editor
    assert convert(tmp_path, "tsv", "label_studio", MULTICLASS_TSV) == 0
    tasks = json.loads((tmp_path / "out.label_studio").read_text(encoding="utf-8"))
    assert tasks[2] == {
        "data": {"text": " 还行吧👍🏻 "},
        "annotations": [
            {
                "result": [
                    {
                        "from_name": "sentiment",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": ["中性"]},
                    }
                ]
            }
        ],
    }
    flags = ("--from_name=topic", "--to_name=content")
    assert convert(tmp_path, "tsv", "label_studio", MULTICLASS_TSV, *flags) == 0
    tasks = json.loads((tmp_path / "out.label_studio").read_text(encoding="utf-8"))
    item = tasks[0]["annotations"][0]["result"][0]
    assert (item["from_name"], item["to_name"]) == ("topic", "content")


def test_unlabelled_rows_are_counted_or_kept_apart(tmp_path, caplog):
    rows = "正面\t好评\n还没有标签的文本\n\t空标签也没有标签\n负面\t差评\n"
    assert convert(tmp_path, "tsv", "doccano", rows) == 0
    records = [json.loads(line) for line in (tmp_path / "out.doccano").read_text().splitlines()]
    assert [record["label"] for record in records] == [["正面"], [], [], ["负面"]]
    (tmp_path / "in.doccano").write_bytes((tmp_path / "out.doccano").read_bytes())
    with caplog.at_level(logging.INFO, logger="convert_annotations"):
        assert convert(tmp_path, "doccano", "tsv", None) == 0
    assert (tmp_path / "out.tsv").read_text() == "正面\t好评\n负面\t差评\n"
    assert "wrote 2 labelled rows" in caplog.text and "skipped 2 without a label" in caplog.text
    unlabelled = tmp_path / "todo.txt"
    assert convert(tmp_path, "doccano", "tsv", None, f"--unlabelled_file={unlabelled}") == 0
    assert unlabelled.read_text() == "还没有标签的文本\n空标签也没有标签\n"
    (tmp_path / "in.text").write_bytes(unlabelled.read_bytes())  # and they go out again
    assert convert(tmp_path, "text", "label_studio", None) == 0
    tasks = json.loads((tmp_path / "out.label_studio").read_text())
    assert tasks == [{"data": {"text": "还没有标签的文本"}}, {"data": {"text": "空标签也没有标签"}}]


def test_a_text_with_a_tab_or_line_break_is_refused_for_tsv_or_flattened(tmp_path, caplog):
    export = '{"text": "第一行\\n第二行", "label": ["正面"]}\n{"text": "a\\tb", "label": []}\n'
    with caplog.at_level(logging.ERROR, logger="convert_annotations"):
        assert convert(tmp_path, "doccano", "tsv", export) == 2
    assert "in.doccano:1: the text holds a tab or a line break" in caplog.text
    assert not (tmp_path / "out.tsv").exists()
    todo = tmp_path / "todo.txt"
    flags = ("--flatten_text", f"--unlabelled_file={todo}")
    assert convert(tmp_path, "doccano", "tsv", None, *flags) == 0
    assert (tmp_path / "out.tsv").read_text() == "正面\t第一行 第二行\n"
    assert todo.read_text() == "a b\n"


# === Real-shaped exports ===
def choices(*labels: str, control: str = "sentiment") -> dict:
    return {
        "id": f"r{len(labels)}",
        "from_name": control,
        "to_name": "text",
        "type": "choices",
        "origin": "manual",
        "value": {"choices": list(labels)},
    }


def annotation(ident: int, result: list, updated: str | None, cancelled: bool = False) -> dict:
    made = {
        "id": ident,
        "completed_by": 1,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "lead_time": 3.2,
        "result_count": 0,
        "task": 1,
    }
    if updated is not None:
        made |= {"created_at": "2024-05-01T08:00:00.000000Z", "updated_at": updated}
    return made


LABEL_STUDIO_EXPORT = [
    {  # three annotations: the one updated last wins, though it is second in the list; the
        # cancelled one is later still and does not count
        "id": 101,
        "data": {"text": "物流很快，好评"},
        "annotations": [
            annotation(1, [choices("负面")], "2024-05-01T09:00:00.000000Z"),
            annotation(2, [choices("正面")], "2024-05-03T09:00:00.000000Z"),
            annotation(3, [choices("中性")], "2024-05-02T09:00:00.000000Z"),
            annotation(4, [], "2024-05-04T09:00:00.000000Z", cancelled=True),
        ],
        "predictions": [{"model_version": "v0", "score": 0.4, "result": [choices("负面")]}],
        "meta": {},
        "created_at": "2024-05-01T07:00:00.000000Z",
        "project": 3,
        "total_annotations": 3,
        "cancelled_annotations": 1,
    },
    {"id": 102, "data": {"text": "还没人标"}, "annotations": [], "predictions": []},
    {  # only a cancelled annotation: unlabelled
        "id": 103,
        "data": {"text": "标注员跳过了"},
        "annotations": [annotation(5, [choices("正面")], None, cancelled=True)],
    },
    {  # another control's result (a comment box) beside the choices; no timestamps
        "id": 104,
        "data": {"text": "太难吃了", "meta": {"line": 7}},
        "annotations": [
            annotation(6, [choices("正面")], None),
            annotation(
                7,
                [
                    {"from_name": "comment", "type": "textarea", "value": {"text": ["难吃"]}},
                    choices("负面"),
                ],
                None,
            ),
        ],
    },
    {  # submitted with no choice: unlabelled
        "id": 105,
        "data": {"text": "没有选"},
        "annotations": [annotation(8, [], "2024-05-01T09:00:00Z")],
    },
]


def test_a_label_studio_export_gives_each_task_its_latest_annotation(tmp_path, caplog):
    export = json.dumps(LABEL_STUDIO_EXPORT, ensure_ascii=False, indent=1)
    with caplog.at_level(logging.INFO, logger="convert_annotations"):
        assert convert(tmp_path, "label_studio", "tsv", export) == 0
    assert (tmp_path / "out.tsv").read_text() == "正面\t物流很快，好评\n负面\t太难吃了\n"
    assert "skipped 3 without a label" in caplog.text
    records = read_annotations("label_studio", tmp_path / "in.label_studio")
    assert records[3].meta == {"line": 7}
    assert records[0].where.endswith("in.label_studio: tasks[0] (id 101)")


def test_label_studio_multilabel_and_a_named_control(tmp_path):
    task = {
        "id": 9,
        "data": {"text": "中超球队上市"},
        "annotations": [
            annotation(1, [choices("体育", "财经"), choices("正面", control="tone")], None)
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"tasks\[0\] \(id 9\): annotations\[0\]: choices from 2 controls"
    ):
        read_annotations("label_studio", path, FormatOptions(task="multilabel"))
    picked = FormatOptions(task="multilabel", controls=ControlNames("sentiment"))
    assert read_annotations("label_studio", path, picked)[0].labels == ("体育", "财经")
    with pytest.raises(ValueError, match=r"2 labels \('体育', '财经'\) for a multiclass task"):
        read_annotations("label_studio", path, FormatOptions(controls=ControlNames("sentiment")))


def test_doccano_exports_old_and_new(tmp_path):
    export = (
        '{"id": 1, "text": "物流很快", "label": ["正面"], "Comments": []}\n'
        "\n"
        '{"id": 2, "text": "太难吃了", "labels": ["负面"]}\n'  # doccano before 1.6
        '{"id": 3, "text": "还行", "label": "中性"}\n'  # one label as a string
        '{"id": 4, "text": "没人标", "label": []}\n'
        '{"id": 5, "text": "也没人标", "label": null}\n'
    )
    assert convert(tmp_path, "doccano", "tsv", "\ufeff" + export) == 0
    assert (tmp_path / "out.tsv").read_text() == "正面\t物流很快\n负面\t太难吃了\n中性\t还行\n"
    records = read_annotations("doccano", tmp_path / "in.doccano")
    assert records[0].meta == {"id": 1, "Comments": []}
    assert [r.where.rsplit(":", 1)[1] for r in records] == ["1", "3", "4", "5", "6"]


# === The sibling tools' tables ===
FIND_LABEL_ISSUES = (
    "line\tgiven_label\tsuggested_label\tscore\ttext\n"
    "12\t正面\t负面\t0.91\t太难吃了\n"
    "30\t负面\t正面\t0.85\t物流很快，好评\n"
)
SELECT_FOR_LABELING = (
    "rank\tline\ttext\tpredicted_label\tprobability\tscore\n"
    "1\t7\t还行吧\t正面\t0.51\t0.98\n"
    "2\t3\t说不上好坏\t负面\t0.55\t0.9\n"
)


def test_find_label_issues_rows_go_to_label_studio_and_come_back(tmp_path):
    assert convert(tmp_path, "tsv", "label_studio", FIND_LABEL_ISSUES) == 0
    tasks = json.loads((tmp_path / "out.label_studio").read_text(encoding="utf-8"))
    assert tasks[0]["data"] == {
        "text": "太难吃了",
        "meta": {"line": 12, "suggested_label": "负面", "score": 0.91},
    }
    assert tasks[0]["annotations"][0]["result"][0]["value"] == {"choices": ["正面"]}
    # An annotator changes the first row's label; Label Studio exports the task with its id.
    for ident, task in enumerate(tasks, 1):
        task["id"] = ident
        task["annotations"][0] |= {"id": 10 + ident, "was_cancelled": False}
    tasks[0]["annotations"].append(annotation(99, [choices("负面")], None))
    (tmp_path / "in.label_studio").write_text(json.dumps(tasks, ensure_ascii=False))
    assert convert(tmp_path, "label_studio", "tsv", None) == 0
    assert (tmp_path / "out.tsv").read_text() == "负面\t太难吃了\n负面\t物流很快，好评\n"
    records = read_annotations("label_studio", tmp_path / "in.label_studio")
    assert [record.meta["line"] for record in records] == [12, 30]


def test_select_for_labeling_rows_go_to_doccano_unlabelled_and_come_back(tmp_path):
    assert convert(tmp_path, "tsv", "doccano", SELECT_FOR_LABELING) == 0
    lines = (tmp_path / "out.doccano").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert first == {
        "text": "还行吧",
        "label": [],
        "rank": 1,
        "line": 7,
        "predicted_label": "正面",
        "probability": 0.51,
        "score": 0.98,
    }
    labelled = [{**json.loads(line), "id": i, "label": ["中性"]} for i, line in enumerate(lines)]
    (tmp_path / "in.doccano").write_text("\n".join(json.dumps(r) for r in labelled) + "\n")
    assert convert(tmp_path, "doccano", "tsv", None) == 0
    assert (tmp_path / "out.tsv").read_text() == "中性\t还行吧\n中性\t说不上好坏\n"
    assert [r.meta["rank"] for r in read_annotations("doccano", tmp_path / "in.doccano")] == [1, 2]


def test_a_table_names_its_columns(tmp_path):
    table = "id\ttopic\treview\n007\t体育\t中超开赛\n"
    path = tmp_path / "table.tsv"
    path.write_text(table, encoding="utf-8")
    with pytest.raises(ValueError, match="table.tsv:1: the header .* names no text column"):
        read_annotations("tsv", path, FormatOptions(layout=TsvLayout(header="yes")))
    layout = TsvLayout(text_column="review", label_column="topic")
    (record,) = read_annotations("tsv", path, FormatOptions(layout=layout))
    assert (record.text, record.labels, dict(record.meta)) == ("中超开赛", ("体育",), {"id": "007"})
    with pytest.raises(ValueError, match="--label_column=tag: the header has no such column"):
        read_annotations("tsv", path, FormatOptions(layout=TsvLayout("auto", "review", "tag")))
    # A label-text file's first row is data, even with an ASCII label.
    path.write_text("sports\t中超开赛\n", encoding="utf-8")
    assert read_annotations("tsv", path)[0].labels == ("sports",)


def test_metadata_cells_become_numbers_only_when_they_read_back_the_same():
    assert [meta_value(v) for v in ("12", "0.91", "007", "1e3", "nan", "-3", "abc")] == [
        12,
        0.91,
        "007",
        "1e3",
        "nan",
        -3,
        "abc",
    ]


# === Labels a TSV row cannot carry ===
@pytest.mark.parametrize(
    "label, why",
    [
        ("a\tb", "holds a tab"),
        ("a\nb", "holds a line break"),
        ("a\rb", "holds a carriage return"),
        ("正面|负面", "holds '|', the separator of multilabel TSV fields"),
        (" 正面", "starts or ends with spaces"),
        ("", "empty label"),
        (3, "is a number, not a string"),
    ],
)
def test_labels_a_tsv_row_cannot_carry_are_refused_by_name(label, why):
    with pytest.raises(ValueError, match=why) as caught:
        check_label(label)
    if label:
        assert repr(label) in str(caught.value)


# === Malformed files: one line naming the record, exit 2, nothing written ===
def lines(*items: object) -> str:
    return "".join(
        (i if isinstance(i, str) else json.dumps(i, ensure_ascii=False)) + "\n" for i in items
    )


GOOD = {"text": "好评", "label": ["正面"]}
MALFORMED = {
    "doccano: not JSON": (
        "doccano",
        lines(GOOD, GOOD, '{"text": "好"'),
        "in.doccano:3: not valid JSON",
    ),
    "doccano: not an object": (
        "doccano",
        lines(GOOD, ["好评"]),
        "in.doccano:2: an array, not an object",
    ),
    "doccano: no text": ("doccano", lines({"label": ["正面"]}), 'in.doccano:1: no "text" key'),
    "doccano: empty text": (
        "doccano",
        lines(GOOD, {"text": " \u3000", "label": []}),
        "in.doccano:2: the text is empty",
    ),
    "doccano: label an object": (
        "doccano",
        lines({"text": "好", "label": {"a": 1}}),
        'in.doccano:1: "label" is an object',
    ),
    "doccano: a span export": (
        "doccano",
        lines({"text": "王小明", "label": [[0, 3, "PER"]]}),
        "in.doccano:1: \"label\" holds [0, 3, 'PER'], a span",
    ),
    "doccano: label with a tab": (
        "doccano",
        lines(GOOD, {"text": "好", "label": ["正\t面"]}),
        "in.doccano:2: label '正\\t面' holds a tab",
    ),
    "doccano: label with the separator": (
        "doccano",
        lines({"text": "好", "label": ["正|负"]}),
        "in.doccano:1: label '正|负' holds '|'",
    ),
    "doccano: two labels, multiclass": (
        "doccano",
        lines({"text": "好", "label": ["正面", "负面"]}),
        "in.doccano:1: 2 labels ('正面', '负面') for a multiclass task",
    ),
    "doccano: a label twice": (
        "doccano",
        lines({"text": "好", "label": ["正面", "正面"]}),
        "in.doccano:1: label '正面' appears twice",
    ),
    "label_studio: not JSON": (
        "label_studio",
        '[\n  {"data": {"text": "好"}},\n  oops\n]',
        "in.label_studio:3: not valid JSON",
    ),
    "label_studio: not a list": (
        "label_studio",
        json.dumps({"data": {"text": "好"}}),
        "in.label_studio: an object, not a list of tasks",
    ),
    "label_studio: task not an object": (
        "label_studio",
        json.dumps([{"data": {"text": "好"}}, "好"]),
        "in.label_studio: tasks[1]: a string, not a task object",
    ),
    "label_studio: no data": (
        "label_studio",
        json.dumps([{"id": 5, "text": "好"}]),
        'in.label_studio: tasks[0] (id 5): no "data" object',
    ),
    "label_studio: no data.text": (
        "label_studio",
        json.dumps([{"id": 5, "data": {"review": "好"}}]),
        "in.label_studio: tasks[0] (id 5): data has no \"text\" (keys: 'review')",
    ),
    "label_studio: annotations not a list": (
        "label_studio",
        json.dumps([{"id": 5, "data": {"text": "好"}, "annotations": {}}]),
        'tasks[0] (id 5): "annotations" is an object, not a list',
    ),
    "label_studio: result not a list": (
        "label_studio",
        json.dumps([{"id": 5, "data": {"text": "好"}, "annotations": [{"result": "正面"}]}]),
        'tasks[0] (id 5): annotations[0]: "result" is a string',
    ),
    "label_studio: choices not a list": (
        "label_studio",
        json.dumps(
            [
                {
                    "id": 5,
                    "data": {"text": "好"},
                    "annotations": [
                        {"result": [{"type": "choices", "value": {"choices": "正面"}}]}
                    ],
                }
            ]
        ),
        "tasks[0] (id 5): annotations[0].result[0]: value.choices is not a list of label names",
    ),
    "label_studio: a choice not a string": (
        "label_studio",
        json.dumps(
            [
                {
                    "id": 5,
                    "data": {"text": "好"},
                    "annotations": [{"result": [{"type": "choices", "value": {"choices": [1]}}]}],
                }
            ]
        ),
        "annotations[0].result[0]: value.choices holds 1, not a label name",
    ),
    "label_studio: label with a line break": (
        "label_studio",
        json.dumps(
            [{"id": 8, "data": {"text": "好"}, "annotations": [{"result": [choices("正\n面")]}]}]
        ),
        "in.label_studio: tasks[0] (id 8): annotations[0]: label '正\\n面' holds a line break",
    ),
    "tsv: three fields": ("tsv", "正面\t好评\n负面\t差\t评\n", "in.tsv:2: 3 tab-separated fields"),
    "tsv: two labels, multiclass": (
        "tsv",
        "正面|负面\t好评\n",
        "in.tsv:1: 2 labels ('正面', '负面') for a multiclass task",
    ),
    "tsv: an empty label": (
        "tsv",
        "正面\t好评\n\n体育||财经\t好评\n",
        "in.tsv:3: empty label in '体育||财经'",
    ),
    "tsv: header and row widths": (
        "tsv",
        "line\tgiven_label\ttext\n3\t正面\n",
        "in.tsv:2: 2 tab-separated fields, but the header names 3",
    ),
    "tsv: not UTF-8": ("tsv", None, "in.tsv:2: not valid UTF-8"),
    "text: an empty line of control characters": (
        "text",
        "好评\n\x00\x01\n",
        "in.text:2: the text is empty",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_record_is_named_and_nothing_is_written(tmp_path, caplog, case):
    source, text, expected = MALFORMED[case]
    if text is None:
        (tmp_path / f"in.{source}").write_bytes("正面\t好\n负面\t差".encode() + b"\xff\n")
    target = "tsv" if source != "text" else "doccano"
    out = tmp_path / f"out.{target}"
    out.write_bytes(b"an earlier output\n")
    with caplog.at_level(logging.INFO, logger="convert_annotations"):
        assert convert(tmp_path, source, target, text) == 2
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert expected in error.getMessage()
    assert "\n" not in error.getMessage()
    assert out.read_bytes() == b"an earlier output\n"  # kept, not half-replaced
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--to=doccano", "--unlabelled_file=x.txt"], "--unlabelled_file goes with --to=tsv"),
        (["--to=tsv", "--export_dir=exported"], "--export_dir adds pre-annotations"),
        (["--to=doccano", "--version=2"], "--version goes with --export_dir"),
        (["--to=doccano", "--text_column=x", "--from=doccano"], "--text_column names a column"),
        (["--to=doccano", "--input_file=missing.tsv"], "--input_file=missing.tsv does not exist"),
    ],
)
def test_flags_that_do_not_go_together_name_the_flag(
    tmp_path, caplog, monkeypatch, flags, expected
):
    monkeypatch.chdir(tmp_path)
    Path("in.tsv").write_text("正面\t好评\n", encoding="utf-8")
    args = ["--from=tsv", "--input_file=in.tsv", "--output_file=out.jsonl", *flags]
    with caplog.at_level(logging.ERROR, logger="convert_annotations"):
        assert main(args) == 2
    assert expected in caplog.text
    assert not Path("out.jsonl").exists()


def test_a_tsv_output_needs_a_labelled_text(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="convert_annotations"):
        assert convert(tmp_path, "text", "tsv", "没人标\n也没人标\n") == 2
    assert "none of its 2 texts has a label" in caplog.text


# === Pre-annotations from an export ===
LABELS = ("正面", "负面", "中性")
TEXTS = ["物流很快，好评", "太难吃了，差评", "还行吧", '包装"破了"😀']


def tiny_onnx_export(root: Path, head_kind: str, seed: int, **spec_fields) -> Path:
    """A random 2-layer, 32-wide classifier as train.sh would leave it, exported as ONNX."""
    from classifier.checkpoints.tiny import randomize_weights, tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
    from classifier.trained_model import build_classifier, save_trained_model
    from export import export_trained_model

    run = root / "run"
    run.mkdir(parents=True)
    vocab = build_tiny_chinese_vocab(extra_texts=TEXTS)
    write_vocab(run / "source_vocab.txt", vocab)
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab), num_layers=2, hidden_size=32),
        labels=LABELS,
        head_kind=head_kind,
        max_seq_length=32,
        **spec_fields,
    )
    model = build_classifier(spec)
    randomize_weights(model, seed=seed, scale=0.3)
    save_trained_model(run, model, spec, run / "source_vocab.txt")
    return export_trained_model(run, root / "my_task", export_format="onnx").path.parent


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("exports")
    return {
        "multiclass": tiny_onnx_export(root / "multiclass", "multiclass", seed=1),
        # Seed 3's probabilities with these thresholds (each 0.03 or more away): the first text
        # gets no label, the last two (test_the_multilabel_export_decides_...).
        "multilabel": tiny_onnx_export(
            root / "multilabel", "multilabel", seed=3, thresholds=(0.5, 0.6, 0.7)
        ),
    }


@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_an_exports_predictions_become_pre_annotations(tmp_path, exports, task):
    from serving.loader import load_predictor

    export = exports[task]
    expected = load_predictor(export).predict(TEXTS)
    rows = "正面\t" + TEXTS[0] + "\n" + "\n".join(TEXTS[1:]) + "\n"
    flags = (f"--task={task}", f"--export_dir={export}")
    assert convert(tmp_path, "tsv", "label_studio", rows, *flags) == 0
    tasks = json.loads((tmp_path / "out.label_studio").read_text(encoding="utf-8"))
    for task_json, prediction in zip(tasks, expected, strict=True):
        (predicted,) = task_json["predictions"]
        assert predicted["model_version"] == f"{export.name}/1"
        assert predicted["score"] == pytest.approx(prediction.score, abs=1e-6)
        labels = [item.label for item in prediction.labels]
        wanted = [choices_item(labels)] if labels else []
        assert predicted["result"] == wanted
    assert tasks[0]["annotations"][0]["result"][0]["value"]["choices"] == ["正面"]
    assert "annotations" not in tasks[1]

    assert convert(tmp_path, "tsv", "doccano", None, *flags, "--model_version=m7") == 0
    records = [json.loads(line) for line in (tmp_path / "out.doccano").read_text().splitlines()]
    for record, prediction in zip(records, expected, strict=True):
        assert record["label"] == [item.label for item in prediction.labels]
        assert record["prediction_score"] == pytest.approx(prediction.score, abs=1e-6)
        assert record["model_version"] == "m7"
    assert records[0]["given_label"] == ["正面"] and "given_label" not in records[1]


def choices_item(labels: list[str]) -> dict:
    return {
        "from_name": "sentiment",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": labels},
    }


def test_the_multilabel_export_decides_no_label_one_and_two(exports):
    """The case above covers what it claims: predictions without a label and with several."""
    from serving.loader import load_predictor

    predictions = load_predictor(exports["multilabel"]).predict(TEXTS)
    assert [len(prediction.labels) for prediction in predictions] == [0, 1, 1, 2]


def test_a_multilabel_export_needs_the_multilabel_task(tmp_path, exports, caplog):
    with caplog.at_level(logging.ERROR, logger="convert_annotations"):
        code = convert(
            tmp_path, "text", "doccano", "好评\n", f"--export_dir={exports['multilabel']}"
        )
    assert code == 2 and "is a multilabel model: give --task=multilabel" in caplog.text


# === The command ===
@pytest.mark.slow
def test_the_shell_command_reports_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.jsonl").write_text(
        '{"text": "好", "label": ["正面"]}\n[1]\n', encoding="utf-8"
    )
    command = [
        str(ROOT / "scripts" / "convert_annotations.sh"),
        "--from=doccano",
        "--to=tsv",
        f"--input_file={tmp_path / 'bad.jsonl'}",
        f"--output_file={tmp_path / 'out.tsv'}",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "bad.jsonl:2: an array, not an object" in done.stderr
    assert not (tmp_path / "out.tsv").exists()
