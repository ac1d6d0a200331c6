"""select_for_labeling.sh: what to label next (curation.uncertainty, curation.selection,
curation.pool).

Each score is checked against numbers computed by hand on small probability arrays
(multiclass: one distribution per row; multilabel: one decision per label at its threshold);
equal scores keep the pool's order; ``diverse`` never takes two near-copies where plain entropy
takes both; the command, over a tiny ONNX export, writes the exact header, the pool's own line
numbers (blank lines counted, repeats once) and the model's current guesses, and stops bad input
with one line and status 2."""

from __future__ import annotations

import csv
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from curation.pool import read_pool
from curation.selection import (
    HEADER,
    STRATEGIES,
    SelectedRow,
    Selection,
    diverse,
    ranked,
    select,
    write_selection,
)
from curation.text_space import text_space
from curation.uncertainty import entropy, least_confidence, margin, uncertainty
from serving.text_io import InputTextError

ROOT = Path(__file__).resolve().parents[1]
LN2 = math.log(2)


def h(p: float) -> float:
    """Binary entropy in nats."""
    return -sum(q * math.log(q) for q in (p, 1 - p) if q > 0)


# === The scores, by hand ===
MULTICLASS = np.array(
    [
        [1 / 3, 1 / 3, 1 / 3],
        [1.0, 0.0, 0.0],
        [0.5, 0.25, 0.25],
        [0.1, 0.2, 0.7],
        [0.4, 0.4, 0.2],
    ]
)


def test_multiclass_entropy_margin_and_least_confidence():
    def plogp(*ps: float) -> float:
        return -sum(p * math.log(p) for p in ps)

    expected = [math.log(3), 0.0, 1.5 * LN2, plogp(0.1, 0.2, 0.7), plogp(0.4, 0.4, 0.2)]
    np.testing.assert_allclose(entropy(MULTICLASS), expected)
    np.testing.assert_allclose(margin(MULTICLASS), [0.0, 1.0, 0.25, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(least_confidence(MULTICLASS), [2 / 3, 0.0, 0.5, 0.3, 0.6])
    assert margin(np.array([[0.8], [0.3]])).tolist() == [0.8, 0.3]  # one label: no runner-up


def test_multilabel_entropy_is_the_sum_of_binary_entropies():
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.9, 0.5], [0.2, 0.7]])
    expected = [2 * LN2, 0.0, h(0.9) + LN2, h(0.2) + h(0.7)]
    np.testing.assert_allclose(entropy(p, (0.3, 0.6)), expected)
    np.testing.assert_allclose(entropy(p, (0.5, 0.5)), expected)  # thresholds do not move it


def test_multilabel_margin_is_the_closest_call_to_a_threshold():
    p = np.array([[0.35, 0.9], [0.0, 0.6], [0.9, 0.1]])
    np.testing.assert_allclose(margin(p, (0.3, 0.6)), [0.05, 0.0, 0.5], atol=1e-12)


def test_multilabel_least_confidence_judges_each_decision_on_its_own_side():
    thresholds = (0.2, 0.5)
    # Row 0: label 0 is a yes at 0.05 over 0.2: 0.05 / 0.8 of the way to 1 (label 1: 0.4 / 0.5).
    # Row 1: label 1 is a no at 0.05 under 0.5: 0.05 / 0.5 of the way to 0 (label 0: 0.1 / 0.2).
    p = np.array([[0.25, 0.9], [0.1, 0.45], [0.2, 1.0]])
    np.testing.assert_allclose(least_confidence(p, thresholds), [1 - 0.0625, 0.9, 1.0])
    # The margin calls rows 0 and 1 equally close (0.05); least confidence does not.
    np.testing.assert_allclose(margin(p, thresholds)[:2], [0.05, 0.05])
    assert select("margin", p, 3, thresholds).indices.tolist() == [2, 0, 1]
    assert select("least_confidence", p, 3, thresholds).indices.tolist() == [2, 0, 1]
    assert least_confidence(p, thresholds)[0] > least_confidence(p, thresholds)[1]


def test_at_half_thresholds_least_confidence_is_twice_the_margin_turned_over():
    p = np.random.default_rng(0).random((20, 4))
    half = (0.5,) * 4
    np.testing.assert_allclose(least_confidence(p, half), 1 - 2 * margin(p, half))


def test_ties_keep_the_pool_order_whichever_way_the_strategy_ranks():
    scores = np.array([0.2, 0.9, 0.2, 0.9, 0.5])
    assert ranked(scores, True, 5).indices.tolist() == [1, 3, 4, 0, 2]
    assert ranked(scores, False, 5).indices.tolist() == [0, 2, 4, 1, 3]
    assert ranked(scores, True, 3).scores.tolist() == [0.9, 0.9, 0.5]
    same = np.full((6, 3), 1 / 3)
    for strategy in ("entropy", "margin", "least_confidence"):
        assert select(strategy, same, 4).indices.tolist() == [0, 1, 2, 3]


def test_select_ranks_best_first_and_stops_at_the_pool():
    chosen = select("entropy", MULTICLASS, 10)
    assert chosen.indices.tolist() == [0, 4, 2, 3, 1]  # ln 3 > 1.055 > 1.040 > 0.802 > 0
    assert select("margin", MULTICLASS, 2).indices.tolist() == [0, 4]
    assert select("least_confidence", MULTICLASS, 2).indices.tolist() == [0, 4]
    np.testing.assert_allclose(chosen.scores, entropy(MULTICLASS)[chosen.indices])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: uncertainty("random", MULTICLASS), "unknown strategy 'random'"),
        (lambda: select("random", MULTICLASS, 2), "unknown strategy 'random'"),
        (lambda: select("entropy", MULTICLASS, 0), "n must be >= 1"),
        (lambda: select("diverse", MULTICLASS, 2), "needs the text of every row"),
        (lambda: entropy(np.array([0.5, 0.5])), r"\[texts, labels\]"),
        (lambda: margin(np.array([[0.5, 1.5]])), r"in \[0, 1\]"),
        (lambda: margin(np.array([[0.5, np.nan]])), r"in \[0, 1\]"),
        (lambda: least_confidence(MULTICLASS, (0.5, 0.5)), "2 thresholds for 3 labels"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# === Diverse ===
def test_diverse_greedy_by_hand():
    """u = 1, 0.9, 0.5 at unit vectors (1, 0), (0.8, 0.6), (0, 1): row 0 first (1 x 1); row 1
    is 0.8 similar to it (0.9 x 0.2 = 0.18) and row 2 not at all (0.5 x 1): row 2, then 1."""
    space = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    chosen = diverse(space, np.array([1.0, 0.9, 0.5]), 3)
    assert chosen.indices.tolist() == [0, 2, 1]
    np.testing.assert_allclose(chosen.scores, [1.0, 0.5, 0.18])
    assert ranked(np.array([1.0, 0.9, 0.5]), True, 3).indices.tolist() == [0, 1, 2]


NEWS = [
    "今天股市大涨，沪指突破三千点，券商板块领涨",
    "今天股市大涨，沪指突破三千点，券商板块全线领涨",
    "中超联赛今晚开幕，球迷热情高涨",
    "新款手机发布，搭载最新芯片，续航大幅提升",
    "今天股市大涨,沪指突破三千点,券商板块领涨!",
    "电影暑期档票房创新高，多部国产片口碑爆棚",
]
# The model is torn on the market news (rows 0, 1 and 4, near-copies of one another).
NEWS_PROBABILITIES = np.array(
    [
        [0.34, 0.33, 0.33],
        [0.35, 0.33, 0.32],
        [0.6, 0.3, 0.1],
        [0.5, 0.3, 0.2],
        [0.36, 0.33, 0.31],
        [0.7, 0.2, 0.1],
    ]
)


def test_diverse_does_not_take_near_copies_where_entropy_does():
    space = text_space(NEWS)
    similarity = (space @ space.T).toarray()
    assert similarity[0, 1] > 0.7 and similarity[0, 4] > 0.7  # near-copies in this space
    assert similarity[0, 2] < 0.2 and similarity[2, 3] < 0.2
    plain = select("entropy", NEWS_PROBABILITIES, 3)
    assert plain.indices.tolist() == [0, 1, 4]  # the same story three times
    spread = select("diverse", NEWS_PROBABILITIES, 3, texts=NEWS)
    assert spread.indices[0] == 0 and spread.indices.tolist() == [0, 3, 2]
    taken = spread.indices
    assert max(similarity[a, b] for a in taken for b in taken if a != b) < 0.3
    everything = select("diverse", NEWS_PROBABILITIES, 6, texts=NEWS)
    assert sorted(everything.indices.tolist()) == list(range(6))
    assert set(everything.indices[-2:].tolist()) == {1, 4}  # the copies come last
    assert np.all(np.diff(everything.scores) <= 1e-12)  # the product never rises


def test_diverse_covers_the_pool_where_the_model_is_sure_of_everything():
    sure = np.tile([[1.0, 0.0, 0.0]], (len(NEWS), 1))
    chosen = select("diverse", sure, 4, texts=NEWS)
    assert chosen.scores.tolist() == [0.0] * 4
    assert chosen.indices.tolist() == [0, 2, 3, 5]  # every story once, copies left out


def test_texts_that_differ_in_spacing_or_case_are_the_same_point():
    space = text_space(["股市 大涨 ABC", "股市大涨abc", "足球比赛"])
    assert (space @ space.T).toarray()[0, 1] == pytest.approx(1.0)
    chosen = diverse(space, np.array([1.0, 1.0, 0.01]), 2)
    assert chosen.indices.tolist() == [0, 2]


def test_a_pool_without_features_is_a_zero_space():
    assert text_space(["   "]).shape == (1, 0)
    assert diverse(text_space(["   "]), np.array([0.5]), 3).indices.tolist() == [0]


# === The pool ===
def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_pool_skips_blank_lines_and_counts_a_repeat_once(tmp_path):
    path = write_lines(tmp_path / "pool.txt", ["", "甲文本", "  ", "乙文本", "甲文本", "", "丙"])
    pool = read_pool(str(path))
    assert pool.texts == ["甲文本", "乙文本", "丙"]
    assert pool.lines == [2, 4, 7]
    assert (pool.blank, pool.duplicates) == (3, 1)


def test_the_pool_reads_predict_sh_formats(tmp_path):
    path = write_lines(tmp_path / "pool.csv", ["id,review", '1,"好,很好"', "2,", '3,"差"'])
    pool = read_pool(str(path), "csv", "review")
    assert pool.texts == ["好,很好", "差"] and pool.lines == [2, 4] and pool.blank == 1
    with pytest.raises(InputTextError, match=r"pool.csv:1: no column 'text'"):
        read_pool(str(path), "csv")


def test_an_empty_pool_is_refused_by_name(tmp_path):
    path = write_lines(tmp_path / "pool.txt", ["", "   ", ""])
    with pytest.raises(InputTextError, match=r"pool.txt: no texts to choose from"):
        read_pool(str(path))


# === The file ===
def test_the_file_has_the_exact_header_and_is_written_whole(tmp_path):
    target = tmp_path / "out" / "selection.tsv"
    rows = [
        SelectedRow(1, 7, "带\t制表符", "体育|财经", "0.900000|0.600000", 1.23456789),
        SelectedRow(2, 3, "普通", "", "", 0.5),
    ]
    write_selection(str(target), rows)
    text = target.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "rank\tline\ttext\tpredicted_label\tprobability\tscore"
    assert tuple(text.splitlines()[0].split("\t")) == HEADER
    parsed = list(csv.reader(text.splitlines(), delimiter="\t"))
    assert parsed[1] == ["1", "7", "带\t制表符", "体育|财经", "0.900000|0.600000", "1.234568"]
    assert parsed[2] == ["2", "3", "普通", "", "", "0.500000"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["selection.tsv"]


def test_a_failed_write_keeps_the_earlier_file(tmp_path, monkeypatch):
    target = tmp_path / "selection.tsv"
    target.write_text("earlier\n", encoding="utf-8")

    class Broken(SelectedRow):
        def fields(self):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_selection(str(target), [Broken(1, 1, "a", "b", "0.5", 0.1)])
    assert target.read_text(encoding="utf-8") == "earlier\n"
    assert [p.name for p in tmp_path.iterdir()] == ["selection.tsv"]


def test_strategies_are_the_contracts():
    assert STRATEGIES == ("entropy", "margin", "least_confidence", "diverse")
    assert isinstance(select("entropy", MULTICLASS, 1), Selection)


# === The command, end to end over a tiny ONNX export ===
POOL_LINES = [
    "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",
    "",
    "5G基站总数突破117万个，多模态AI模型应用加速落地",
    "网络综艺《歌手之夜》播放量破3.2亿，观众好评如潮",
    "   ",
    "央行宣布降准0.5个百分点，A股三大指数集体高开",
    "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",  # a repeat of line 1
    "今天天气很好，我们去公园散步吧！",
    "这家餐厅的菜太难吃了，服务也很差。",
    "",
    "苹果发布了新款iPhone手机",
    "物流很快，隔天就到，售后态度很差",
]
DISTINCT = {1, 3, 4, 6, 8, 9, 11, 12}  # the lines holding a first occurrence


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Tiny random ONNX exports: a multiclass one (calibrated) and a multilabel one."""
    pytest.importorskip("onnxruntime")
    from export import export_trained_model
    from tests.test_onnx_serving import write_run

    root = tmp_path_factory.mktemp("selection_models")
    made = {}
    for name, settings in {
        "multiclass": {"temperatures": (1.5,), "seed": 1},
        "multilabel": {"head_kind": "multilabel", "thresholds": (0.3, 0.4, 0.5, 0.6), "seed": 2},
    }.items():
        run = write_run(root / f"{name}_run", **settings)
        export_trained_model(run, root / name, export_format="onnx")
        made[name] = (run, root / name)
    return made


def run_command(*argv: str) -> int:
    from scripts.select_for_labeling import main

    return main([*argv, "--verbosity=warning"])


def read_selection(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_command_lists_the_pool_best_first(exports, tmp_path, strategy, capsys):
    from serving.loader import load_predictor

    _, export_dir = exports["multiclass"]
    pool = write_lines(tmp_path / "pool.txt", POOL_LINES)
    target = tmp_path / "to_label.tsv"
    argv = [f"--export_dir={export_dir}", f"--input_file={pool}", f"--output_file={target}"]
    assert run_command(*argv, "--num=5", f"--strategy={strategy}", "--batch_size=3") == 0
    header = target.read_text(encoding="utf-8").splitlines()[0]
    assert header == "rank\tline\ttext\tpredicted_label\tprobability\tscore"
    rows = read_selection(target)
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    for row in rows:  # the line is where the text is in the pool file
        assert POOL_LINES[int(row["line"]) - 1] == row["text"]
        assert int(row["line"]) in DISTINCT
    assert len({r["text"] for r in rows}) == 5

    predictor = load_predictor(export_dir)
    texts = [r["text"] for r in rows]
    probabilities = predictor.run(texts)["probabilities"]
    for row, prediction in zip(rows, predictor.predict(texts), strict=True):
        assert row["predicted_label"] == prediction.label
        assert float(row["probability"]) == pytest.approx(prediction.score, abs=1e-6)
    scores = [float(r["score"]) for r in rows]
    if strategy == "diverse":
        assert scores == sorted(scores, reverse=True)
    else:  # the score is the strategy's own, computed from the export's probabilities
        expected = uncertainty(strategy, probabilities)
        np.testing.assert_allclose(scores, expected, atol=2e-6)
        assert scores == sorted(scores, reverse=strategy != "margin")
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    assert out.startswith(f"{strategy}: 5 of 8 texts (3 blank, 1 repeated skipped)")


@pytest.mark.slow
def test_a_multilabel_export_gives_its_decided_labels(exports, tmp_path, capsys):
    from serving.loader import load_predictor

    _, export_dir = exports["multilabel"]
    pool = write_lines(tmp_path / "pool.txt", POOL_LINES)
    target = tmp_path / "to_label.tsv"
    argv = [f"--export_dir={export_dir}", f"--input_file={pool}", f"--output_file={target}"]
    assert run_command(*argv, "--num=20", "--strategy=margin") == 0
    rows = read_selection(target)
    assert len(rows) == 8  # the pool is smaller than --num: all of it, with a note
    assert "the pool holds only 8 distinct texts" in capsys.readouterr().out
    predictor = load_predictor(export_dir)
    texts = [r["text"] for r in rows]
    outputs = predictor.run(texts)
    expected = margin(outputs["probabilities"], (0.3, 0.4, 0.5, 0.6))
    np.testing.assert_allclose([float(r["score"]) for r in rows], expected, atol=2e-6)
    for row, prediction in zip(rows, predictor.predict(texts), strict=True):
        assert row["predicted_label"] == "|".join(x.label for x in prediction.labels)
        assert row["probability"] == "|".join(f"{x.score:.6f}" for x in prediction.labels)
    assert any("|" in r["predicted_label"] for r in rows)


@pytest.mark.slow
def test_a_run_folder_selects_as_its_export(exports, tmp_path):
    run, export_dir = exports["multiclass"]
    pool = write_lines(tmp_path / "pool.txt", POOL_LINES)
    chosen = {}
    for flag, path in (("--run_dir", run), ("--export_dir", export_dir)):
        target = tmp_path / f"{flag.strip('-')}.tsv"
        assert run_command(f"{flag}={path}", f"--input_file={pool}", f"--output_file={target}") == 0
        chosen[flag] = read_selection(target)
    assert [r["text"] for r in chosen["--run_dir"]] == [r["text"] for r in chosen["--export_dir"]]
    np.testing.assert_allclose(
        [float(r["score"]) for r in chosen["--run_dir"]],
        [float(r["score"]) for r in chosen["--export_dir"]],
        atol=1e-4,
    )


@pytest.mark.slow
def test_bad_inputs_stop_with_one_line_and_status_2(exports, tmp_path, capsys, caplog):
    _, export_dir = exports["multiclass"]
    pool = write_lines(tmp_path / "pool.txt", POOL_LINES)
    empty = write_lines(tmp_path / "empty.txt", ["", "  "])
    target = tmp_path / "to_label.tsv"
    out = f"--output_file={target}"
    cases = {
        "no such file": [f"--export_dir={export_dir}", f"--input_file={tmp_path}/none.txt", out],
        "holds no SavedModel version nor ONNX": [
            f"--export_dir={tmp_path}/nothing",
            f"--input_file={pool}",
            out,
        ],
        "no texts to choose from": [f"--export_dir={export_dir}", f"--input_file={empty}", out],
    }
    for message, argv in cases.items():
        caplog.clear()
        assert run_command(*argv) == 2
        (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert message in record.getMessage() and "\n" not in record.getMessage()
    for flag, value in (("--num", "0"), ("--strategy", "random"), ("--batch_size", "0")):
        with pytest.raises(SystemExit) as stopped:
            run_command(
                f"--export_dir={export_dir}", f"--input_file={pool}", out, f"{flag}={value}"
            )
        assert stopped.value.code == 2
        assert f"argument {flag}:" in capsys.readouterr().err
    assert not target.exists()


def test_the_shell_command_stops_a_missing_pool_in_one_line(tmp_path):
    done = subprocess.run(
        [
            str(ROOT / "scripts" / "select_for_labeling.sh"),
            f"--export_dir={tmp_path}",
            f"--input_file={tmp_path}/pool.txt",
            f"--output_file={tmp_path}/out.tsv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"--input_file={tmp_path}/pool.txt: no such file")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
