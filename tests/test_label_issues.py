"""scripts/find_label_issues.sh: out-of-fold probabilities + cleanlab find the rows whose label
was flipped on purpose in a synthetic but real-looking data set, name their train.tsv lines,
and write a cleaned copy without touching the input."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from curation.cleaned_copy import cleaned_train_bytes
from curation.fold_store import FoldStore, fingerprint
from curation.folds import UNCHECKED, plan_folds
from curation.out_of_fold import out_of_fold_probabilities
from scripts.find_label_issues import main

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["line", "given_label", "suggested_label", "score", "text"]
MULTILABEL_HEADER = HEADER + ["labels_to_add", "labels_to_remove"]
LABELS = ("体育", "财经", "科技")
# Each topic's subjects, settings and events: a row is one of each, so rows differ but each
# topic keeps its own words.
PHRASES = {
    "体育": (
        ["国足", "湖人队", "女排", "中超球队", "网球名将", "短跑选手", "乒乓球队", "马拉松选手"],
        ["在决赛中", "在主场", "在世锦赛上", "在联赛第十轮", "在奥运会上"],
        ["夺得冠军", "打进制胜一球", "刷新赛会纪录", "逆转战胜对手", "获得金牌", "晋级八强"],
    ),
    "财经": (
        [
            "央行",
            "沪深股市",
            "上市银行",
            "人民币汇率",
            "基金公司",
            "保险行业",
            "债券市场",
            "房地产企业",
        ],
        ["本季度", "今年上半年", "周一收盘时", "年报显示", "据统计"],
        [
            "宣布降准",
            "利润同比增长",
            "股价大幅上涨",
            "融资规模创新高",
            "调整贷款利率",
            "出现资金净流出",
        ],
    ),
    "科技": (
        [
            "芯片厂商",
            "人工智能公司",
            "手机品牌",
            "航天团队",
            "量子计算实验室",
            "软件开源社区",
            "无人驾驶企业",
            "卫星研究所",
        ],
        ["近日", "在发布会上", "经过三年研发", "在国际会议上", "本周"],
        [
            "推出新一代处理器",
            "发布大语言模型",
            "成功发射卫星",
            "突破关键算法",
            "公布新款操作系统",
            "完成自动驾驶路测",
        ],
    ),
}


def phrase(rng: random.Random, topic: str) -> str:
    return "".join(rng.choice(words) for words in PHRASES[topic])


def topic_rows(per_topic: int = 40, seed: int = 0) -> list[tuple[str, str]]:
    """(topic, headline) rows, distinct, shuffled."""
    rng = random.Random(seed)
    rows = []
    for topic in LABELS:
        texts: set[str] = set()
        while len(texts) < per_topic:
            texts.add(phrase(rng, topic))
        rows += [(topic, text) for text in sorted(texts)]
    rng.shuffle(rows)
    return rows


def write_flipped_multiclass(folder: Path, header: bool = True) -> dict[int, tuple[str, str]]:
    """120 rows of 3 topics, 8 of them given a wrong topic; returns {line: (given, true)}."""
    rows = topic_rows()
    flipped = {}
    for n, index in enumerate(range(5, 120, 15)):
        true = rows[index][0]
        wrong = LABELS[(LABELS.index(true) + 1 + n % 2) % 3]
        rows[index] = (wrong, rows[index][1])
        flipped[index + 1 + header] = (wrong, true)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["label\ttext\n"] if header else []
    lines += [f"{label}\t{text}\n" for label, text in rows]
    (folder / "train.tsv").write_text("".join(lines), encoding="utf-8")
    return flipped


def write_flipped_multilabel(folder: Path) -> dict[int, tuple[set[str], set[str]]]:
    """120 rows, two thirds about two topics; 8 rows gain a topic they do not speak of, or lose
    one they do. Returns {line: (labels to add back, labels to remove)} of the flipped rows."""
    rng = random.Random(1)
    rows = []
    for i in range(120):
        topics = sorted(rng.sample(LABELS, 2 if i % 3 else 1), key=LABELS.index)
        rows.append((topics, "，".join(phrase(rng, t) for t in topics)))
    changes = {}
    for n in range(8):
        index = 15 * n + (4 if n % 2 else 3)  # odd n: a two-topic row, even n: one topic
        topics, text = rows[index]
        if len(topics) > 1:
            wrong, fix = topics[:1], (set(topics[1:]), set())
        else:
            extra = next(t for t in LABELS if t not in topics)
            wrong, fix = sorted([*topics, extra], key=LABELS.index), (set(), {extra})
        rows[index] = (wrong, text)
        changes[index + 1] = fix
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{'|'.join(topics)}\t{text}\n" for topics, text in rows)
    (folder / "train.tsv").write_text(body, encoding="utf-8")
    return changes


def read_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def run(*flags: str) -> int:
    return main([*flags, "--verbosity=warning"])


# === Finding the flipped rows ===


def test_tfidf_finds_the_flipped_rows_first_with_their_lines(tmp_path, capsys):
    flipped = write_flipped_multiclass(tmp_path / "data")
    out = tmp_path / "issues.tsv"
    assert run("--data_dir", str(tmp_path / "data"), "--output_file", str(out)) == 0
    header, *rows = read_rows(out)
    assert header == HEADER
    found = [row for row in rows if int(row[0]) in flipped]
    assert len(found) >= 6, rows  # most of the 8
    assert rows[: len(found)] == found  # and before any row that was not flipped
    train = (tmp_path / "data" / "train.tsv").read_text(encoding="utf-8").split("\n")
    for line, given, suggested, _, text in found:
        assert (given, suggested) == flipped[int(line)]
        assert train[int(line) - 1] == f"{given}\t{text}"  # the line an editor shows
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores) and all(0 <= s <= 1 for s in scores)
    summary = capsys.readouterr().out
    assert "checked 120 of 120 rows" in summary
    assert f"{len(rows)} label issues ({len(rows) / 120:.1%})" in summary
    assert f"line {rows[0][0]}: {rows[0][1]} -> {rows[0][2]}" in summary


def test_lines_count_no_header_when_the_file_has_none(tmp_path):
    flipped = write_flipped_multiclass(tmp_path / "data", header=False)
    out = tmp_path / "issues.tsv"
    assert run("--data_dir", str(tmp_path / "data"), "--output_file", str(out)) == 0
    rows = read_rows(out)[1:]
    assert rows and all(int(row[0]) in flipped for row in rows[:6])


def test_pair_tasks_add_text_b(tmp_path):
    rng = random.Random(3)
    rows = [(topic, text, phrase(rng, topic)) for topic, text in topic_rows(per_topic=20)]
    rows[4] = (LABELS[(LABELS.index(rows[4][0]) + 1) % 3], *rows[4][1:])
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "issues.tsv"
    assert run("--task_name=pair", "--data_dir", str(data), "--output_file", str(out)) == 0
    header, *issues = read_rows(out)
    assert header == HEADER + ["text_b"]
    assert issues and issues[0][0] == "5"
    assert issues[0][4:] == list(rows[4][1:])


def test_multilabel_reports_the_labels_to_add_and_remove(tmp_path):
    changes = write_flipped_multilabel(tmp_path / "data")
    out = tmp_path / "issues.tsv"
    flags = ["--task_name=multilabel", "--data_dir", str(tmp_path / "data")]
    assert run(*flags, "--output_file", str(out)) == 0
    header, *rows = read_rows(out)
    assert header == MULTILABEL_HEADER
    found = [row for row in rows if int(row[0]) in changes]
    assert len(found) >= 5 and rows[: len(found)] == found, rows
    for line, given, suggested, _, _, to_add, to_remove in found:
        add, remove = changes[int(line)]
        assert (set(filter(None, to_add.split("|"))), set(filter(None, to_remove.split("|")))) == (
            add,
            remove,
        )
        assert (
            set(filter(None, suggested.split("|")))
            == set(filter(None, given.split("|"))) - remove | add
        )
    assert any(row[5] for row in found) and any(row[6] for row in found)


# === The cleaned copy ===


def test_write_cleaned_removes_exactly_the_issue_rows(tmp_path):
    data = tmp_path / "data"
    write_flipped_multiclass(data)
    (data / "dev.tsv").write_text("体育\t女排夺冠\n", encoding="utf-8")
    (data / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    before = digests(data)
    out, cleaned = tmp_path / "issues.tsv", tmp_path / "cleaned"
    flags = ["--data_dir", str(data), "--output_file", str(out), "--write_cleaned", str(cleaned)]
    assert run(*flags) == 0
    assert digests(data) == before  # the input is untouched
    issues = read_rows(out)[1:]
    issue_lines = {int(row[0]) for row in issues}
    assert issue_lines
    original = (data / "train.tsv").read_bytes().split(b"\n")
    for line, given, _, _, text in issues:  # the rows F names are the rows removed
        assert original[int(line) - 1].decode() == f"{given}\t{text}"
    kept = [line for n, line in enumerate(original, 1) if n not in issue_lines]
    assert (cleaned / "train.tsv").read_bytes() == b"\n".join(kept)
    assert {p.name for p in cleaned.iterdir()} == {"train.tsv", "dev.tsv", "labels.txt"}
    for name in ("dev.tsv", "labels.txt"):
        assert (cleaned / name).read_bytes() == (data / name).read_bytes()


@pytest.mark.parametrize("task", ["tsv", "multilabel"])
def test_write_cleaned_relabels_the_issue_rows_to_the_suggestion(tmp_path, task):
    data = tmp_path / "data"
    if task == "tsv":
        write_flipped_multiclass(data)
    else:
        write_flipped_multilabel(data)
    before = digests(data)
    out, cleaned = tmp_path / "issues.tsv", tmp_path / "cleaned"
    flags = [f"--task_name={task}", "--data_dir", str(data), "--output_file", str(out)]
    assert run(*flags, "--write_cleaned", str(cleaned), "--cleaning=relabel") == 0
    assert digests(data) == before
    issues = read_rows(out)[1:]
    suggested = {int(row[0]): row[2] for row in issues}
    assert suggested
    original = (data / "train.tsv").read_text(encoding="utf-8").split("\n")
    for line, given, _, _, text, *_ in issues:  # the rows F names are the rows relabelled
        old_labels, old_text = original[int(line) - 1].split("\t")
        assert (set(old_labels.split("|")), old_text) == (set(given.split("|")), text)
    relabelled = (cleaned / "train.tsv").read_text(encoding="utf-8").split("\n")
    assert len(relabelled) == len(original)
    for number, (old, new) in enumerate(zip(original, relabelled, strict=True), 1):
        if number in suggested:
            assert new == f"{suggested[number]}\t{old.split(chr(9))[1]}"
        else:
            assert new == old


def test_relabelling_keeps_a_bom_crlf_and_every_other_byte():
    raw = "\ufefflabel\ttext\r\n体育\t央行降准\r\n财经\t股市上涨\r\n\n科技\t芯片\r\n".encode()
    assert cleaned_train_bytes(raw, {2: "财经", 5: None}, 0) == (
        "\ufefflabel\ttext\r\n财经\t央行降准\r\n财经\t股市上涨\r\n\n".encode()
    )
    assert cleaned_train_bytes("\ufeff体育\t央行".encode(), {1: "财经"}, 0) == (
        "\ufeff财经\t央行".encode()
    )


# === Folds ===


def test_folds_are_stratified_and_a_rare_label_is_skipped():
    targets = np.array([0] * 20 + [1] * 15 + [2] * 2)
    plan = plan_folds(targets, ["a", "b", "c"], num_folds=5, seed=1)
    assert [(r.name, r.rows) for r in plan.rare_labels] == [("c", 2)]
    assert list(plan.fold_of[35:]) == [UNCHECKED, UNCHECKED]
    for fold in range(5):
        held = plan.held_out(fold)
        assert sorted(np.bincount(targets[held], minlength=3)) == [0, 3, 4]
        assert set(plan.trained_on(fold)) == set(range(37)) - set(held)
    assert plan_folds(targets, ["a", "b", "c"], 5, seed=1).fold_of.tolist() == (
        plan.fold_of.tolist()
    )


def test_a_multilabel_label_on_too_few_rows_is_left_out_of_the_check():
    targets = np.zeros((30, 3))
    targets[:15, 0] = 1
    targets[10:, 1] = 1
    targets[:2, 2] = 1
    plan = plan_folds(targets, ["a", "b", "c"], num_folds=5, seed=0)
    assert [r.name for r in plan.rare_labels] == ["c"]
    assert plan.checked_columns.tolist() == [0, 1]
    assert len(plan.checked_rows) == 30


def test_a_rare_label_is_named_and_its_rows_are_not_reported(tmp_path, caplog):
    data = tmp_path / "data"
    write_flipped_multiclass(data)
    with (data / "train.tsv").open("a", encoding="utf-8") as handle:
        handle.write("娱乐\t歌手之夜播放量破亿\n娱乐\t芯片厂商近日发布大语言模型\n")
    out = tmp_path / "issues.tsv"
    with caplog.at_level(logging.WARNING):
        assert run("--data_dir", str(data), "--output_file", str(out)) == 0
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "娱乐 (2 rows)" in warning and "--num_folds=5" in warning
    assert "not checked" in warning
    assert {int(row[0]) for row in read_rows(out)[1:]}.isdisjoint({122, 123})


# === Resuming ===


class CountingDetector:
    """Predicts a fold's rows with their own label (probability 0.9) and counts its fits."""

    name = "counting"

    def __init__(self):
        self.fits: list[int] = []

    def settings(self) -> dict:
        return {"detector": self.name}

    def predict_fold(self, fold, train, held_out):
        self.fits.append(fold)
        probabilities = np.full((len(held_out), 2), 0.1)
        probabilities[:, 0] = 0.9
        return probabilities


def test_a_resumed_run_reuses_finished_folds(tmp_path):
    targets = np.array([0, 1] * 6)
    examples = list(range(12))
    plan = plan_folds(targets, ["a", "b"], num_folds=3, seed=0)
    settings = {"data": "x"}

    def store(settings: dict) -> FoldStore:
        return FoldStore(tmp_path / "work", fingerprint(settings, plan.fold_of), settings).open()

    detector = CountingDetector()
    first = out_of_fold_probabilities(examples, 2, plan, detector, store(settings))
    assert detector.fits == [0, 1, 2]
    (tmp_path / "work" / "fold-1.npz").unlink()  # as if killed while fold 1 trained
    again = out_of_fold_probabilities(examples, 2, plan, detector, store(settings))
    assert detector.fits == [0, 1, 2, 1]
    np.testing.assert_array_equal(again, first)
    out_of_fold_probabilities(examples, 2, plan, detector, store({"data": "changed"}))
    assert detector.fits == [0, 1, 2, 1, 0, 1, 2]  # another plan's folds are never reused


# === Bad inputs ===


def test_bad_inputs_are_one_line_errors(tmp_path, caplog):
    good = tmp_path / "good"
    write_flipped_multiclass(good)
    few = tmp_path / "few"
    few.mkdir()
    (few / "train.tsv").write_text("体育\t女排夺冠\n财经\t央行降准\n科技\t芯片\n", encoding="utf-8")
    malformed = tmp_path / "malformed"
    malformed.mkdir()
    (malformed / "train.tsv").write_text("体育\t女排夺冠\n财经\n", encoding="utf-8")
    hierarchical = tmp_path / "tree"
    hierarchical.mkdir()
    (hierarchical / "train.tsv").write_text("体育##足球\t国足夺冠\n" * 10, encoding="utf-8")
    not_a_checkpoint = tmp_path / "ckpt"
    not_a_checkpoint.mkdir()
    (not_a_checkpoint / "notes.txt").write_text("x")
    out = tmp_path / "issues.tsv"
    cases = [
        (["--data_dir", str(tmp_path / "none")], "train.tsv not found"),
        (["--data_dir", str(few)], "3 training rows are fewer than --num_folds=5"),
        (["--data_dir", str(malformed)], f"{malformed / 'train.tsv'}:2: wrong column count"),
        (["--data_dir", str(good), "--task_name=nope"], "unknown processor 'nope'"),
        (["--data_dir", str(hierarchical), "--task_name=hierarchical"], "not checked"),
        (["--data_dir", str(good), "--detector=model"], "give --model_dir"),
        (
            ["--data_dir", str(good), "--model_dir", str(not_a_checkpoint)],
            f"--model_dir={not_a_checkpoint} is not a checkpoint",
        ),
        (["--data_dir", str(good), "--write_cleaned", str(good)], "would destroy the input"),
        (["--data_dir", str(good), "--cleaning=relabel"], "--cleaning=relabel applies to"),
    ]
    before = digests(good)
    for flags, message in cases:
        caplog.clear()
        assert run(*flags, "--output_file", str(out)) == 2, flags
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0], errors
        assert not out.exists()
    assert digests(good) == before


def test_a_bad_flag_value_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--data_dir", "d", "--output_file", "f", "--num_folds=1"])
    assert stop.value.code == 2
    assert "--num_folds: expected an integer >= 2" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_answers_a_bad_input_without_a_traceback(tmp_path):
    done = subprocess.run(
        [str(ROOT / "scripts" / "find_label_issues.sh"), f"--data_dir={tmp_path}"]
        + [f"--output_file={tmp_path / 'f.tsv'}"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "train.tsv not found" in done.stderr


# === End to end ===


@pytest.mark.slow
def test_the_tfidf_detector_loads_no_tensorflow(tmp_path):
    write_flipped_multiclass(tmp_path / "data")
    out = tmp_path / "issues.tsv"
    code = (
        "import sys\n"
        "from scripts.find_label_issues import main\n"
        f"assert main(['--data_dir', {str(tmp_path / 'data')!r}, '--output_file', {str(out)!r}])"
        " == 0\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "assert not heavy, heavy[:5]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_rows(out)[0] == HEADER


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    texts = [text for _, text in topic_rows()]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(tmp_path_factory.mktemp("bert"), vocab, config, seed=7)


@pytest.mark.slow
def test_the_model_detector_runs_end_to_end_and_resumes(tmp_path, tiny_bert):
    data = tmp_path / "data"
    data.mkdir()
    rows = topic_rows(per_topic=8)
    (data / "train.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    out, work = tmp_path / "issues.tsv", tmp_path / "work"
    command = [str(ROOT / "scripts" / "find_label_issues.sh"), "--task_name=tsv"]
    command += [f"--data_dir={data}", f"--output_file={out}", f"--model_dir={tiny_bert}"]
    command += ["--num_folds=2", "--num_train_epochs=1", "--batch_size=8", f"--work_dir={work}"]
    env = {**os.environ, "PYTHON": sys.executable}  # the session's example cache included

    def find() -> subprocess.CompletedProcess:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    first = find()
    assert "checked 24 of 24 rows" in first.stdout and "(model detector, 2 folds)" in first.stdout
    header, *issues = read_rows(out)
    assert header == HEADER
    assert all(1 <= int(row[0]) <= 24 and row[1] in LABELS for row in issues)
    assert {p.name for p in work.iterdir()} == {"plan.json", "fold-0.npz", "fold-1.npz"}
    kept = (work / "fold-0.npz").stat().st_mtime_ns
    (work / "fold-1.npz").unlink()  # as if the run was killed during the second fold
    second = find()
    assert "fold 1/2: 12 rows, re-used from" in second.stderr
    assert "fold 2/2: model fitted on 12 rows" in second.stderr
    assert (work / "fold-0.npz").stat().st_mtime_ns == kept
    assert read_rows(out)[0] == HEADER
