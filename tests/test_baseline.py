"""scripts/baseline.sh: jieba + TF-IDF + logistic regression, the quick baseline to beat."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import processors
from classifier.baseline import jieba_words, tfidf_baseline
from classifier.training.output_dir import RUN_ARTIFACTS
from scripts.baseline import main

ROOT = Path(__file__).resolve().parent.parent

# What --output_dir holds: a fine-tuned run's reports of the split (train.sh --do_eval for dev;
# --do_predict on a labelled test.tsv for test), less its model files, plus the predictions.
DEV_REPORTS = [
    "eval_results.json",
    "classification_report.txt",
    "confusion_matrix.csv",
    "confusion_matrix.png",
    "reliability_diagram.png",
    "coverage_curve.png",
    "error_analysis.md",
    "dev_predictions.tsv",
]
TEST_REPORTS = [
    "test_results.json",
    "test_classification_report.txt",
    "test_confusion_matrix.csv",
    "test_confusion_matrix.png",
    "test_reliability_diagram.png",
    "test_coverage_curve.png",
    "test_error_analysis.md",
    "test_predictions.tsv",
]
MULTILABEL_DEV_REPORTS = [
    "eval_results.json",
    "classification_report.txt",
    "reliability_diagram.png",
    "coverage_curve.png",
    "error_analysis.md",
    "dev_predictions.tsv",
]


def test_jieba_cuts_words_not_characters():
    assert jieba_words("今天天气很好 NBA") == ["今天天气", "很", "好", "nba"]


def test_demo_topics_are_learned():
    task = processors.get_processor("tsv")(ROOT / "data" / "demo")
    report = tfidf_baseline(task.get_train_examples(), task.get_dev_examples(), task.get_labels())
    assert report["accuracy"] > 0.9
    assert report["num_examples"] == 120
    assert report["fit_seconds"] > 0 and report["predict_examples_per_second"] > 0


def test_multilabel_reports_micro_f1():
    task = processors.get_processor("multilabel")(ROOT / "data" / "demo_multilabel")
    report = tfidf_baseline(
        task.get_train_examples(), task.get_dev_examples(), task.get_labels(), multilabel=True
    )
    assert report["micro_f1"] > 0.8
    assert set(report["thresholds"].values()) == {0.5}


@pytest.mark.slow
def test_script_writes_the_reports_without_loading_tensorflow(tmp_path):
    out = tmp_path / "baseline.json"
    reports = tmp_path / "reports"
    code = (
        "import sys\n"
        "from scripts.baseline import main\n"
        f"assert main(['--data_dir', 'data/demo', '--output_file', {str(out)!r},\n"
        f"             '--output_dir', {str(reports)!r}]) == 0\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "assert not heavy, f'TensorFlow was imported: {heavy[:5]}'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["accuracy"] > 0.9
    results = json.loads((reports / "eval_results.json").read_text(encoding="utf-8"))
    assert results["accuracy"] == report["accuracy"] and files_in(reports) == set(DEV_REPORTS)


@pytest.mark.slow
def test_bad_data_dir_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "baseline.sh"), "--data_dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "train.tsv not found" in result.stderr


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def printed_figure(printed: str, name: str) -> float:
    return float(re.search(rf"\b{name} (\d\.\d{{4}})", printed).group(1))


def mislabel_dev(data: Path, rows: list[int]) -> list[str]:
    """Gives dev rows (by index) the next label of labels.txt as gold; returns their texts,
    mistakes now for a model that learned the topics."""
    labels = (data / "labels.txt").read_text(encoding="utf-8").split()
    lines = (data / "dev.tsv").read_text(encoding="utf-8").splitlines()
    texts = []
    for row in rows:
        old, text = lines[row].split("\t", 1)
        lines[row] = f"{labels[(labels.index(old) + 1) % len(labels)]}\t{text}"
        texts.append(text)
    (data / "dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return texts


def test_output_dir_holds_the_dev_reports_of_a_fine_tuned_run(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    wrong = mislabel_dev(data, [0, 5, 9])  # the demo is learned perfectly
    out = tmp_path / "reports"
    assert main([f"--data_dir={data}", f"--output_dir={out}"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[1].startswith(f"reports in {out}: eval_results.json")

    assert files_in(out) == set(DEV_REPORTS)
    assert set(DEV_REPORTS) - {"dev_predictions.tsv"} <= set(RUN_ARTIFACTS)
    results = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    assert f"{results['accuracy']:.4f}" == f"{printed_figure(printed[0], 'accuracy'):.4f}"
    assert results["accuracy"] == pytest.approx(117 / 120)
    assert results["num_examples"] == 120 and results["per_label"]["体育"]["support"] == 30
    for key in ("macro_f1", "micro_f1", "weighted_f1", "loss", "ece", "confusion_matrix"):
        assert key in results
    assert results["fit_seconds"] > 0 and results["predict_examples_per_second"] > 0

    matrix = read_csv(out / "confusion_matrix.csv")
    assert matrix[0] == ["true\\predicted", "体育", "财经", "科技", "娱乐"]
    counts = np.array([[int(v) for v in row[1:]] for row in matrix[1:]])
    assert counts.sum() == 120 and np.trace(counts) == 117
    assert counts.tolist() == results["confusion_matrix"]
    assert (out / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    report = (out / "classification_report.txt").read_text(encoding="utf-8")
    assert all(name in report for name in ("体育", "财经", "科技", "娱乐", "macro avg"))

    analysis = (out / "error_analysis.md").read_text(encoding="utf-8")
    assert analysis.startswith("# Error analysis (dev, 120 examples)")
    assert "3 of 120 predictions are wrong" in analysis
    assert all(text in analysis for text in wrong)

    rows = read_tsv(out / "dev_predictions.tsv")
    assert rows[0][:3] == ["text", "predicted_label", "probability"]
    assert rows[0][-1] == "gold_label" and len(rows) == 121
    mistakes = [row[0] for row in rows[1:] if row[1] != row[-1]]
    assert sorted(mistakes) == sorted(wrong)


def test_test_split_reports_carry_the_test_names_of_a_fine_tuned_run(tmp_path, capsys):
    out = tmp_path / "reports"
    assert (
        main(["--data_dir", str(ROOT / "data" / "demo"), "--split=test", f"--output_dir={out}"])
        == 0
    )
    assert files_in(out) == set(TEST_REPORTS) and set(TEST_REPORTS) <= set(RUN_ARTIFACTS)
    results = json.loads((out / "test_results.json").read_text(encoding="utf-8"))
    printed = capsys.readouterr().out
    assert f"{results['accuracy']:.4f}" == f"{printed_figure(printed, 'accuracy'):.4f}"
    assert (
        (out / "test_error_analysis.md")
        .read_text(encoding="utf-8")
        .startswith("# Error analysis (test, 120 examples)")
    )


def test_multilabel_reports_per_label_figures_and_mistakes(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo_multilabel", data)
    lines = (data / "dev.tsv").read_text(encoding="utf-8").splitlines()
    labelled = next(i for i, line in enumerate(lines) if "|" in line.split("\t")[0])
    gold, text = lines[labelled].split("\t", 1)
    kept = gold.split("|")[1:]  # the first label, predicted, becomes a false positive
    lines[labelled] = "|".join(kept) + "\t" + text
    (data / "dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "reports"
    assert main([f"--data_dir={data}", "--task_name=multilabel", f"--output_dir={out}"]) == 0
    printed = capsys.readouterr().out

    assert files_in(out) == set(MULTILABEL_DEV_REPORTS)
    results = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
    assert f"{results['micro_f1']:.4f}" == f"{printed_figure(printed, 'micro_f1'):.4f}"
    assert (
        set(results["per_label"])
        == set(results["thresholds"])
        == set((data / "labels.txt").read_text(encoding="utf-8").split())
    )
    assert "micro_f1_at_0.5" in results and "subset_accuracy" in results
    report = (out / "classification_report.txt").read_text(encoding="utf-8")
    assert all(name in report for name in results["per_label"])
    analysis = (out / "error_analysis.md").read_text(encoding="utf-8")
    assert "false positive" in analysis and text[:20] in analysis
    rows = read_tsv(out / "dev_predictions.tsv")
    assert rows[0][1] == "predicted_labels" and rows[0][-1] == "gold_labels"
    row = next(r for r in rows if r[0] == text)
    assert row[-1] == "|".join(kept) and gold.split("|")[0] in row[1].split("|")


def test_pair_reports_show_both_texts(tmp_path):
    demo = processors.get_processor("tsv")(ROOT / "data" / "demo")
    data = tmp_path / "pairs"
    data.mkdir()
    for split, examples in (("train", demo.get_train_examples()), ("dev", demo.get_dev_examples())):
        rows = []
        for a, b in zip(examples, examples[1:] + examples[:1], strict=True):
            label = "同类" if a.label == b.label else "不同"
            rows.append(f"{label}\t{a.text_a}\t{b.text_a}")
        (data / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "reports"
    assert main([f"--data_dir={data}", "--task_name=pair", f"--output_dir={out}"]) == 0
    assert files_in(out) == set(DEV_REPORTS)
    rows = read_tsv(out / "dev_predictions.tsv")
    assert rows[0][:2] == ["text_a", "text_b"] and len(rows) == 121
    assert "| guid | text_a | text_b |" in (out / "error_analysis.md").read_text(encoding="utf-8")


def test_a_bad_output_dir_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    (run / "eval_results.json").write_text("{}", encoding="utf-8")
    (run / "run.json").write_text("{}", encoding="utf-8")
    cases = [
        (data, f"--output_dir={data} is the same folder as --data_dir={data}"),
        (data / "dev.tsv", "--output_dir=" + str(data / "dev.tsv") + " is the same file as"),
        (a_file, f"--output_dir={a_file} is a file, not a folder"),
        (run, f"--output_dir={run} holds a train.sh run (run.json)"),
    ]
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    for output_dir, message in cases:
        assert main([f"--data_dir={data}", f"--output_dir={output_dir}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before
    assert (run / "eval_results.json").read_text(encoding="utf-8") == "{}"


def test_a_split_without_labels_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    texts = [line.split("\t")[1] for line in (data / "test.tsv").read_text("utf-8").splitlines()]
    (data / "test.tsv").write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main([f"--data_dir={data}", "--split=test", f"--output_dir={tmp_path / 'o'}"]) == 2
    assert "--split=test: test.tsv has no labelled rows" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_the_files_are_those_a_fine_tuned_model_writes_through_the_same_code(tmp_path):
    """workflow.evaluate and workflow.predict on a (tiny, random) trained model write the file
    set the baseline writes, less the dev predictions train.sh does not write."""
    from classifier.trained_model import VOCAB_FILE, load_trained_model
    from classifier.training import workflow
    from tests.support.serving import write_serving_output_dir

    task = processors.get_processor("tsv")(ROOT / "data" / "demo")
    labels = tuple(task.get_labels())
    trained = write_serving_output_dir(
        tmp_path / "run", head_kind="multiclass", is_pair=False, labels=labels
    )
    model, spec = load_trained_model(trained)
    encoder = spec.text_encoder(trained / VOCAB_FILE)
    before = files_in(trained)
    dev, test = task.get_dev_examples(), task.get_test_examples()
    results = workflow.evaluate(model, spec, encoder, dev, trained, 32, fitted_here=True)
    workflow.predict(model, spec, encoder, test, trained / "test_predictions.tsv", 32)
    workflow.evaluate(model, spec, encoder, test, trained, 32, prefix="test")
    assert files_in(trained) - before == set(DEV_REPORTS + TEST_REPORTS) - {"dev_predictions.tsv"}

    baseline = tmp_path / "baseline"
    assert main(["--data_dir", str(ROOT / "data" / "demo"), f"--output_dir={baseline}"]) == 0
    assert (
        main(
            ["--data_dir", str(ROOT / "data" / "demo"), "--split=test", f"--output_dir={baseline}"]
        )
        == 0
    )
    assert files_in(baseline) == set(DEV_REPORTS + TEST_REPORTS)
    ours = json.loads((baseline / "eval_results.json").read_text(encoding="utf-8"))
    speed = {"fit_seconds", "predict_seconds", "predict_examples_per_second", "vocabulary_size"}
    assert set(ours) == set(results) | speed
    header = read_tsv(trained / "test_predictions.tsv")[0]
    assert read_tsv(baseline / "test_predictions.tsv")[0] == header
