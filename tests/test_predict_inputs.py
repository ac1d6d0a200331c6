"""predict.sh where the texts are: --text on the command line, a train.sh run folder as well as
an export (the same labels), TSV/CSV/JSONL files with named columns and an id carried through,
and one-line errors for files that do not fit."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import predict
from serving import Predictor
from tests.support.samples import SERVING_TEXTS
from tests.support.serving import write_serving_output_dir

pytestmark = pytest.mark.slow  # loads models, runs predict.sh in a subprocess

REPO = Path(__file__).resolve().parent.parent
TEXTS = [*SERVING_TEXTS, "", "好开心😀 naïve", "央行宣布降准。" * 60]


@pytest.fixture(scope="module")
def multiclass(serving_models) -> Predictor:
    return Predictor.from_export_dir(serving_models["multiclass"].export_dir)


def table(text: str, delimiter: str = "\t") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def run_main(*flags: str) -> int:
    return predict.main([*flags, "--verbosity=warning"])


def test_text_flags_print_the_batch_table_without_a_repl(serving_models, multiclass):
    texts = ["中超第6轮，浙江队5比0逆转武汉三镇", "央行宣布降准"]
    run = subprocess.run(
        [
            str(REPO / "scripts/predict.sh"),
            f"--export_dir={serving_models['multiclass'].export_dir}",
            f"--text={texts[0]}",
            "--text",
            texts[1],
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = table(run.stdout)
    assert rows[0][:3] == ["text", "predicted_label", "probability"]
    assert [row[0] for row in rows[1:]] == texts
    assert [row[1] for row in rows[1:]] == [p.label for p in multiclass.predict(texts)]


def test_text_pairs_take_one_text_b_each(serving_models, capsys):
    pair = Predictor.from_export_dir(serving_models["multilabel_pair"].export_dir)
    export = f"--export_dir={serving_models['multilabel_pair'].export_dir}"
    assert run_main(export, "--text=物流很快", "--text_b=售后很差", "--text=价格", "--text_b=") == 0
    rows = table(capsys.readouterr().out)
    assert [row[:2] for row in rows[1:]] == [["物流很快", "售后很差"], ["价格", ""]]
    expected = pair.predict(["物流很快", "价格"], ["售后很差", ""])
    assert [row[2] for row in rows[1:]] == ["|".join(x.label for x in p.labels) for p in expected]


def outputs_of(tmp_path: Path, name: str, model_flag: str, source: Path, *flags: str) -> str:
    target = tmp_path / name
    assert run_main(model_flag, f"--input_file={source}", f"--output_file={target}", *flags) == 0
    return target.read_text(encoding="utf-8")


def assert_same_tables(a: str, b: str, atol: float = 1e-5) -> None:
    rows_a, rows_b = table(a), table(b)
    assert rows_a[0] == rows_b[0] and len(rows_a) == len(rows_b)
    labels = rows_a[0].index("probability")
    for got, want in zip(rows_a[1:], rows_b[1:], strict=True):
        assert got[:labels] == want[:labels]  # texts and the predicted label(s), exactly
        assert [float(x) for x in got[labels + 1 :]] == pytest.approx(
            [float(x) for x in want[labels + 1 :]], abs=atol
        )


@pytest.fixture(scope="module")
def calibrated_windows(tmp_path_factory):
    """A run folder with a temperature and sliding windows, and its export."""
    from export import export_trained_model

    root = tmp_path_factory.mktemp("calibrated_windows")
    run = write_serving_output_dir(
        root / "run",
        head_kind="multiclass",
        is_pair=False,
        labels=("体育", "财经", "科技"),
        seed=5,
        temperatures=(0.6,),
        long_text="sliding_window",
    )
    return run, export_trained_model(run, root / "export").path.parent


@pytest.mark.parametrize("which", ["multiclass", "multilabel_pair", "calibrated_windows"])
def test_a_run_folder_predicts_as_its_export(request, which, serving_models, tmp_path, caplog):
    if which == "calibrated_windows":
        run_dir, export_dir = request.getfixturevalue("calibrated_windows")
    else:
        run_dir, export_dir = serving_models[which].output_dir, serving_models[which].export_dir
    source = tmp_path / "texts.txt"
    pairs = which == "multilabel_pair"
    lines = [f"{t}\t{TEXTS[-1 - i]}" if pairs else t for i, t in enumerate(TEXTS)]
    source.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    exported = outputs_of(tmp_path, "export.tsv", f"--export_dir={export_dir}", source)
    in_memory = outputs_of(tmp_path, "run.tsv", f"--run_dir={run_dir}", source)
    assert_same_tables(in_memory, exported)
    with caplog.at_level("INFO", logger="predict"):  # a run folder given as --export_dir
        assert predict.main([f"--export_dir={run_dir}", f"--input_file={source}"]) == 0
    assert "is a train.sh run folder" in caplog.text


def test_csv_in_with_ids_to_jsonl_out(serving_models, multiclass, tmp_path):
    source = tmp_path / "reviews.csv"
    texts = [TEXTS[0], "第一行\n第二行, 逗号", '他说"好"']
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review_id", "stars", "content"])
        writer.writerows([[f"r{i}", "5", text] for i, text in enumerate(texts)])
    target = tmp_path / "out.jsonl"
    export = f"--export_dir={serving_models['multiclass'].export_dir}"
    flags = ["--text_column=content", "--id_column=review_id", f"--output_file={target}"]
    assert run_main(export, f"--input_file={source}", *flags) == 0
    objects = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [(o["review_id"], o["text"]) for o in objects] == [
        (f"r{i}", t) for i, t in enumerate(texts)
    ]
    expected = multiclass.predict(texts)
    assert [o["predicted_label"] for o in objects] == [p.label for p in expected]
    assert list(objects[0]) == [
        "review_id",
        "text",
        "predicted_label",
        "probability",
        "probabilities",
    ]


def test_jsonl_in_to_csv_out_and_tsv_with_a_header(serving_models, multiclass, tmp_path):
    source = tmp_path / "texts.jsonl"
    rows = [{"id": 10 + i, "text": t} for i, t in enumerate(TEXTS[:3])]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    export = f"--export_dir={serving_models['multiclass'].export_dir}"
    got = table(outputs_of(tmp_path, "out.csv", export, source, "--id_column=id"), ",")
    assert got[0][:3] == ["id", "text", "predicted_label"]
    assert [row[0] for row in got[1:]] == ["10", "11", "12"]
    assert [row[2] for row in got[1:]] == [p.label for p in multiclass.predict(TEXTS[:3])]
    tsv = tmp_path / "in.tsv"
    tsv.write_text("label\ttext_a\n体育\t" + TEXTS[0] + "\n", encoding="utf-8")
    got = table(outputs_of(tmp_path, "out.tsv", export, tsv))
    assert got[1][:2] == [TEXTS[0], multiclass.predict_one(TEXTS[0]).label]


@pytest.mark.parametrize(
    ("name", "content", "flags", "message"),
    [
        ("bad.csv", "id,text\n1,好\n2,好,多了\n", [], "bad.csv:3: 3 fields where the header"),
        ("bad.tsv", "id\tcontent\n1\t好\n", [], "bad.tsv:1: no column 'text' or 'text_a'"),
        ("bad.jsonl", '{"text": "好"}\n{"text": 1}\n', [], "bad.jsonl:2: 'text' is a number"),
        ("ok.tsv", "text\n好\n", ["--id_column=id"], "ok.tsv:1: no column 'id'"),
        ("ok.txt", "好\n", ["--text=好"], "--text and --input_file"),
        ("ok.txt", "好\n", ["--version=1", "--run"], "--version applies to exports"),
    ],
)
def test_a_file_that_does_not_fit_is_one_line_naming_it_and_nothing_is_written(
    serving_models, tmp_path, caplog, name, content, flags, message
):
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    target = tmp_path / "out.tsv"
    target.write_text("earlier output\n", encoding="utf-8")
    model = serving_models["multiclass"]
    given = [f for f in flags if f != "--run"]
    model_flag = (
        f"--run_dir={model.output_dir}"
        if "--run" in flags
        else (f"--export_dir={model.export_dir}")
    )
    code = predict.main([model_flag, f"--input_file={source}", f"--output_file={target}", *given])
    assert code == 2
    assert message in caplog.text, caplog.text
    assert "Traceback" not in caplog.text
    assert target.read_text(encoding="utf-8") == "earlier output\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_model_flags_that_do_not_fit_the_model(serving_models, tmp_path, caplog):
    export = f"--export_dir={serving_models['multilabel_pair'].export_dir}"
    assert predict.main([export, "--text=物流很快"]) == 2
    assert "give a --text_b for each --text" in caplog.text
    single = f"--export_dir={serving_models['multiclass'].export_dir}"
    assert predict.main([single, "--text=a", "--text_b=b"]) == 2
    assert "this model takes single texts" in caplog.text
    assert predict.main([single, "--text=a", "--text=b", "--text_b=c"]) == 2
    assert "2 --text but 1 --text_b" in caplog.text
    assert predict.main([f"--run_dir={tmp_path}", "--text=a"]) == 2
    assert "holds no trained classifier (classifier_config.json missing)" in caplog.text
    spec_only = tmp_path / "adapter"  # what a saved adapter folder looks like from here
    spec_only.mkdir()
    spec = Path(serving_models["multiclass"].output_dir) / "classifier_config.json"
    (spec_only / "classifier_config.json").write_bytes(spec.read_bytes())
    assert predict.main([f"--run_dir={spec_only}", "--text=a"]) == 2
    assert "holds classifier_config.json but no model.weights.h5" in caplog.text
    assert "Traceback" not in caplog.text


def test_help_loads_no_tensorflow():
    code = "import sys; from scripts import predict; predict.build_parser(); print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "False", result.stderr


def test_the_repl_takes_a_run_folder(serving_models, multiclass, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{TEXTS[0]}\nq\n"))
    run_dir = serving_models["multiclass"].output_dir
    assert run_main(f"--run_dir={run_dir}", "--interactive=true") == 0
    out = capsys.readouterr().out
    assert f"model {run_dir} (in memory, multiclass" in out
    label, score = out.split("> ")[1].splitlines()[0].split("\t")
    expected = multiclass.predict_one(TEXTS[0])
    assert label == expected.label and float(score) == pytest.approx(expected.score, abs=1e-5)
