"""Error analysis (classifier.error_analysis) and the confusion-matrix PNG's font discovery
(classifier.reports): what a user reads to find out where a model goes wrong."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from classifier import error_analysis as EA
from classifier import reports
from classifier.heads.multiclass import MulticlassHead
from classifier.heads.multilabel import MultilabelHead

NEWS = ("体育", "财经", "科技", "娱乐")


@dataclass(frozen=True)
class Ex:
    """Duck-typed like processors' InputExample."""

    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None
    labels: tuple[str, ...] | None = None


def split_cells(line: str) -> list[str]:
    """The cells of one Markdown table row, unescaped; a bare "|" separates cells."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, current, chars = [], [], iter(line[1:-1])
    for char in chars:
        if char == "\\":
            current.append(next(chars))
        elif char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    cells.append("".join(current).strip())
    return cells


def tables(markdown: str) -> dict[str, list[list[dict[str, str]]]]:
    """Section title -> its tables, each a list of rows (header name -> cell); checks on the way
    that every row has as many cells as its header."""
    found: dict[str, list[list[dict[str, str]]]] = {}
    title, lines, i = "", markdown.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("## "):
            title = lines[i][3:]
        if not lines[i].startswith("|"):
            i += 1
            continue
        header = split_cells(lines[i])
        assert set(lines[i + 1].replace("|", "")) == {"-"}, lines[i + 1]
        rows, i = [], i + 2
        while i < len(lines) and lines[i].startswith("|"):
            cells = split_cells(lines[i])
            assert len(cells) == len(header), (header, lines[i])
            rows.append(dict(zip(header, cells, strict=True)))
            i += 1
        found.setdefault(title, []).append(rows)
    return found


def section(found: dict, prefix: str, examples: bool = False) -> list[dict[str, str]]:
    """The first table (or with ``examples`` the second) of the section starting with prefix."""
    return next(t for title, t in found.items() if title.startswith(prefix))[int(examples)]


def logits_for(probabilities: list[list[float]]) -> np.ndarray:
    """Softmax logits giving exactly these (normalised) probabilities."""
    return np.log(np.asarray(probabilities, np.float64))


def multiclass_case():
    """16 rows: 体育 -> 财经 three times (of 5 体育 rows), 科技 -> 娱乐 once, the rest right."""
    rows = []  # (gold, predicted, p(predicted))
    rows += [(0, 1, 0.9), (0, 1, 0.6), (0, 1, 0.75), (0, 0, 0.8), (0, 0, 0.95)]
    rows += [(1, 1, 0.55), (1, 1, 0.99), (1, 1, 0.9)]
    rows += [(2, 3, 0.97), (2, 2, 0.4), (2, 2, 0.85)]
    rows += [(3, 3, 0.7), (3, 3, 0.45), (3, 3, 0.9), (3, 3, 0.8), (3, 3, 0.65)]
    probs = []
    for _, predicted, p in rows:
        row = [(1.0 - p) / 3] * 4
        row[predicted] = p
        probs.append(row)
    examples = [
        Ex(f"dev-{i}", f"第{i}条新闻", label=NEWS[gold]) for i, (gold, _, _) in enumerate(rows)
    ]
    targets = np.array([gold for gold, _, _ in rows], np.int32)
    return examples, logits_for(probs), targets


def test_multiclass_most_confused_pair_comes_first_with_share_and_examples():
    examples, logits, targets = multiclass_case()
    markdown = EA.error_analysis_markdown(MulticlassHead(NEWS), examples, logits, targets)
    assert markdown.startswith("# Error analysis (dev, 16 examples)")
    assert "4 of 16 predictions are wrong" in markdown
    found = tables(markdown)
    pairs = section(found, "Most confused label pairs")
    assert [(r["true"], r["predicted"], r["count"]) for r in pairs] == [
        ("体育", "财经", "3"),
        ("科技", "娱乐", "1"),
    ]
    assert pairs[0]["share of the true label's rows"] == "60.0%"  # 3 of 5 体育 rows
    assert pairs[1]["share of the true label's rows"] == "33.3%"
    examples_rows = section(found, "Most confused label pairs", examples=True)
    pair_rows = [r for r in examples_rows if (r["true"], r["predicted"]) == ("体育", "财经")]
    # the pair's three rows, the most confident first
    assert [r["guid"] for r in pair_rows] == ["dev-0", "dev-2", "dev-1"]
    assert [r["text"] for r in pair_rows] == ["第0条新闻", "第2条新闻", "第1条新闻"]
    assert pair_rows[0]["p(predicted)"] == "0.9000"


def test_multiclass_confident_wrong_and_unsure_right_are_ordered():
    examples, logits, targets = multiclass_case()
    found = tables(EA.error_analysis_markdown(MulticlassHead(NEWS), examples, logits, targets))
    wrong = section(found, "Most confident wrong predictions")
    assert [r["guid"] for r in wrong] == ["dev-8", "dev-0", "dev-2", "dev-1"]
    assert [r["gold"] for r in wrong] == ["科技", "体育", "体育", "体育"]
    assert [r["predicted"] for r in wrong] == ["娱乐", "财经", "财经", "财经"]
    assert [r["p(predicted)"] for r in wrong] == ["0.9700", "0.9000", "0.7500", "0.6000"]
    assert wrong[0]["p(gold)"] == f"{0.03 / 3:.4f}"
    right = section(found, "Least confident right predictions")
    assert len(right) == EA.TOP_EXAMPLES
    assert [r["guid"] for r in right[:3]] == ["dev-9", "dev-12", "dev-5"]  # 0.40, 0.45, 0.55
    values = [float(r["p(predicted)"]) for r in right]
    assert values == sorted(values)
    assert all(r["gold"] == r["predicted"] for r in right)


def test_top_examples_is_a_setting(monkeypatch):
    examples, logits, targets = multiclass_case()
    from classifier.heads import error_tables

    monkeypatch.setattr(error_tables, "TOP_EXAMPLES", 2)
    monkeypatch.setattr(error_tables, "EXAMPLES_PER_GROUP", 1)
    found = tables(EA.error_analysis_markdown(MulticlassHead(NEWS), examples, logits, targets))
    assert [r["guid"] for r in section(found, "Most confident wrong predictions")] == [
        "dev-8",
        "dev-0",
    ]
    assert len(section(found, "Least confident right predictions")) == 2
    assert len(section(found, "Most confused label pairs", examples=True)) == 2  # 1 per pair


def test_label_names_are_written_never_indices():
    examples, logits, targets = multiclass_case()
    found = tables(EA.error_analysis_markdown(MulticlassHead(NEWS), examples, logits, targets))
    for rows in found.values():
        for row in rows:
            for column in ("true", "predicted", "gold"):
                if column in row:
                    assert row[column] in NEWS, row


def test_texts_are_shortened_and_escaped_so_tables_stay_valid():
    tricky = "A|B\\C\n第二行\r\n第三行 | 末尾"
    long_text = "很长的新闻" * 60  # 300 characters
    examples = [
        Ex("g|1", tricky, label="体育"),
        Ex("g2", long_text, label="体育"),
        Ex("g3", "对的", label="财经"),
    ]
    logits = logits_for([[0.1, 0.9, 1e-3, 1e-3], [0.2, 0.8, 1e-3, 1e-3], [0.1, 0.9, 1e-3, 1e-3]])
    targets = np.array([0, 0, 1])
    markdown = EA.error_analysis_markdown(MulticlassHead(NEWS), examples, logits, targets)
    wrong = section(tables(markdown), "Most confident wrong predictions")  # checks cell counts
    assert wrong[0]["guid"] == "g|1"
    assert wrong[0]["text"] == "A|B\\C ↵ 第二行 ↵ 第三行 | 末尾"
    assert "A\\|B\\\\C ↵ 第二行 ↵ 第三行 \\| 末尾" in markdown  # the raw Markdown
    assert "\r" not in markdown
    cut = wrong[1]["text"]
    assert cut.endswith("…") and len(cut) <= EA.TEXT_CHARS
    assert long_text.startswith(cut[:-1])
    assert EA.shorten("短") == "短"
    assert EA.shorten("x" * EA.TEXT_CHARS) == "x" * EA.TEXT_CHARS


def test_pair_tasks_show_both_texts():
    examples = [
        Ex("p0", "怎么开通花呗", "花呗如何开通", label="同义"),
        Ex("p1", "借呗额度|提升", None, label="不同"),
        Ex("p2", "今天天气", "明天下雨吗", label="不同"),
    ]
    logits = logits_for([[0.3, 0.7], [0.2, 0.8], [0.4, 0.6]])
    targets = np.array([0, 1, 1])
    markdown = EA.error_analysis_markdown(
        MulticlassHead(("同义", "不同")), examples, logits, targets, split="test"
    )
    assert markdown.startswith("# Error analysis (test, 3 examples)")
    found = tables(markdown)
    wrong = section(found, "Most confident wrong predictions")
    assert list(wrong[0])[:3] == ["guid", "text_a", "text_b"]
    assert (wrong[0]["text_a"], wrong[0]["text_b"]) == ("怎么开通花呗", "花呗如何开通")
    right = section(found, "Least confident right predictions")
    assert [(r["guid"], r["text_a"], r["text_b"]) for r in right] == [
        ("p2", "今天天气", "明天下雨吗"),
        ("p1", "借呗额度|提升", ""),
    ]
    single = EA.error_analysis_markdown(
        MulticlassHead(("同义", "不同")), examples, logits, targets, is_pair=False
    )
    assert "text_b" not in single


TOPICS = ("政治", "经济", "体育")


def multilabel_case():
    """经济 fires wrongly on three 政治 rows; 体育 is missed twice; two rows are right."""
    rows = [  # gold labels, probabilities
        (("政治",), [0.9, 0.8, 0.1]),  # FP 经济 (0.8)
        (("政治",), [0.9, 0.95, 0.1]),  # FP 经济 (0.95)
        (("政治",), [0.9, 0.4, 0.1]),  # FP 经济 (0.4, threshold 0.3)
        (("体育",), [0.1, 0.1, 0.2]),  # FN 体育 (1 - 0.2 = 0.8)
        (("经济", "体育"), [0.1, 0.9, 0.05]),  # FN 体育 (0.95)
        (("政治", "经济"), [0.9, 0.9, 0.1]),  # right
        ((), [0.1, 0.1, 0.1]),  # right, empty set
    ]
    examples = [Ex(f"m{i}", f"文本{i}", labels=gold) for i, (gold, _) in enumerate(rows)]
    probs = np.array([p for _, p in rows])
    logits = np.log(probs / (1 - probs))
    targets = np.array([[float(name in gold) for name in TOPICS] for gold, _ in rows])
    return examples, logits, targets


def test_multilabel_per_label_false_positives_and_negatives():
    examples, logits, targets = multilabel_case()
    head = MultilabelHead(TOPICS, thresholds=(0.5, 0.3, 0.5))
    markdown = EA.error_analysis_markdown(head, examples, logits, targets)
    assert "5 of 7 rows have a predicted label set that differs from gold" in markdown
    found = tables(markdown)
    per_label = section(found, "False positives and false negatives per label")
    assert [r["label"] for r in per_label] == ["经济", "体育"]  # 3 errors, then 2; 政治 none
    economy, sport = per_label
    assert (economy["false positives"], economy["false negatives"]) == ("3", "0")
    assert economy["threshold"] == "0.30"
    assert economy["their gold labels"] == "政治 (3)"
    assert (sport["false positives"], sport["false negatives"]) == ("0", "2")
    assert sport["predicted instead"] == "经济 (1)"
    examples_rows = section(found, "False positives and false negatives per label", True)
    economy_fp = [r for r in examples_rows if r["label"] == "经济"]
    assert [r["guid"] for r in economy_fp] == ["m1", "m0", "m2"]  # highest p(经济) first
    assert {r["error"] for r in economy_fp} == {"false positive"}
    sport_fn = [r for r in examples_rows if r["label"] == "体育"]
    assert [r["guid"] for r in sport_fn] == ["m4", "m3"]  # lowest p(体育) first
    assert sport_fn[1]["predicted"] == EA.NONE
    assert sport_fn[0]["gold"] == "经济, 体育"


def test_multilabel_most_confident_wrong_rows():
    examples, logits, targets = multilabel_case()
    head = MultilabelHead(TOPICS, thresholds=(0.5, 0.3, 0.5))
    found = tables(EA.error_analysis_markdown(head, examples, logits, targets))
    wrong = section(found, "Most confident wrong rows")
    # confidence of the worst wrong decision: 0.95, 0.95, 0.8, 0.8, 0.4; right rows absent
    assert [r["guid"] for r in wrong] == ["m1", "m4", "m0", "m3", "m2"]
    assert wrong[0]["most confident wrong decision"] == "+经济 (p=0.9500)"
    assert wrong[1]["most confident wrong decision"] == "-体育 (p=0.0500)"
    assert [r["confidence"] for r in wrong] == ["0.9500", "0.9500", "0.8000", "0.8000", "0.4000"]
    assert (wrong[0]["gold"], wrong[0]["predicted"]) == ("政治", "政治, 经济")


def test_no_errors_and_no_examples_and_mismatched_inputs():
    head = MulticlassHead(NEWS)
    right = EA.error_analysis_markdown(
        head, [Ex("a", "对", label="体育")], logits_for([[0.7, 0.1, 0.1, 0.1]]), np.array([0])
    )
    assert "No wrong predictions." in right
    assert "No examples." in EA.error_analysis_markdown(
        head, [], np.zeros((0, 4)), np.zeros(0, int)
    )
    with pytest.raises(ValueError, match="one logits row and one target per example"):
        EA.error_analysis_markdown(head, [Ex("a", "对")], np.zeros((2, 4)), np.zeros(2, int))


def test_evaluate_writes_error_analysis_for_dev_and_test(tmp_path):
    import json

    from classifier.split_reports import report_file_names
    from classifier.trained_model import VOCAB_FILE, load_trained_model
    from classifier.training.workflow import evaluate
    from tests.support.samples import CHINESE_SAMPLES
    from tests.support.serving import write_serving_output_dir

    labels = ("体育", "财经", "科技")
    out = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=labels
    )
    model, spec = load_trained_model(out)
    encoder = spec.text_encoder(out / VOCAB_FILE)
    examples = [Ex(f"dev-{i}", text, label=labels[i % 3]) for i, text in enumerate(CHINESE_SAMPLES)]
    assert report_file_names("eval")["error_analysis"] == "error_analysis.md"
    assert report_file_names("test")["error_analysis"] == "test_error_analysis.md"
    results = evaluate(model, spec, encoder, examples, out, batch_size=4)
    evaluate(model, spec, encoder, examples, out, batch_size=4, prefix="test")
    dev = (out / "error_analysis.md").read_text(encoding="utf-8")
    test = (out / "test_error_analysis.md").read_text(encoding="utf-8")
    assert dev.startswith("# Error analysis (dev, 6 examples)")
    assert test.startswith("# Error analysis (test, 6 examples)")
    found = tables(dev)
    shown = section(found, "Most confident wrong predictions") + section(
        found, "Least confident right predictions"
    )
    assert sorted(r["guid"] for r in shown) == sorted(e.guid for e in examples)
    assert {r["gold"] for r in shown} <= set(labels)
    saved = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    assert saved["accuracy"] == results["accuracy"]


# === The confusion matrix PNG's font ===
def dejavu_sans() -> str:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    assert path.is_file()
    return str(path)


UNCOVERED = "\ufdd0"  # a noncharacter: no font maps it (but last-resort fonts, left out)


def test_font_discovery_honours_the_environment_variable(monkeypatch):
    bold = dejavu_sans().replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    monkeypatch.setenv(reports.CJK_FONT_ENV, bold)
    assert reports.font_for(["sport", "finance"]) == bold  # before matplotlib's default font
    monkeypatch.delenv(reports.CJK_FONT_ENV)
    assert reports.font_for(["sport", "finance"]) is not None


def test_font_discovery_scans_fonts_missing_from_matplotlibs_cache(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.delenv(reports.CJK_FONT_ENV, raising=False)
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findfont", lambda *a, **k: "/nonexistent/default.ttf")
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [dejavu_sans()])
    assert reports.font_for(["naïve", "Ωmega"]) == dejavu_sans()
    assert reports.font_for(["naïve", UNCOVERED]) is None


def test_unusable_environment_font_is_reported_and_skipped(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv(reports.CJK_FONT_ENV, str(tmp_path / "missing.ttf"))
    with caplog.at_level(logging.WARNING, logger=reports.__name__):
        font = reports.font_for(["sport"])
    assert font is not None and font != str(tmp_path / "missing.ttf")
    assert reports.CJK_FONT_ENV in caplog.text


def test_png_falls_back_to_indices_with_one_warning(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(reports, "_warned_no_font", False)
    names = ["体育", "x" + UNCOVERED]
    matrix = np.array([[3, 1], [0, 2]])
    with caplog.at_level(logging.WARNING, logger=reports.__name__):
        assert reports.write_confusion_png(tmp_path / "a.png", matrix, names) is False
        assert reports.write_confusion_png(tmp_path / "b.png", matrix, names) is False
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hints = [r for r in caplog.records if "fonts-wqy-microhei" in r.getMessage()]
    assert len(hints) == 1
    assert reports.CJK_FONT_ENV in hints[0].getMessage()


def test_png_draws_chinese_label_names_when_a_font_covers_them(tmp_path):
    font = reports.font_for(list(NEWS))
    if font is None:
        pytest.skip(
            "no installed font covers the Chinese label names (apt-get install "
            "fonts-wqy-microhei, or set ZH_TEXTCLF_CJK_FONT): only the index fallback is testable"
        )
    matrix = np.eye(4, dtype=int) * 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert reports.write_confusion_png(tmp_path / "c.png", matrix, list(NEWS)) is True
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert (tmp_path / "c.png").stat().st_size > 0
