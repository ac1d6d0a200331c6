"""Supporting training examples (issue 27, item 3): the support index of a run, the nearest
training rows of a text, scripts/explain.sh, and error_analysis.md's "why" under its
confident mistakes.

Specifications: the index round-trips and is refused once the weights change; a training row
identical to the query is its nearest with similarity ~1 (sliding windows and pairs too);
explain.sh writes one JSON object per text with its prediction, supporting rows and words, and
bad inputs stop it with a one-line error and exit 2, nothing written; a training run's error
analysis lists, under its most confident mistakes, their top words and supporting rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from classifier.explain.support_index import (
    INDEX_DIR,
    SPEC_FILE,
    WEIGHTS_FILE,
    StaleSupportIndex,
    SupportIndexError,
    SupportIndexMissing,
    build_support_index,
    load_support_index,
    top_indices,
)
from tests.test_explain import LABELS, TEXTS, run_folder

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Ex:
    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None
    labels: tuple[str, ...] | None = None


def fake_run(root: Path) -> Path:
    """A folder with the two files the fingerprint reads (no model: numpy-only tests)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / WEIGHTS_FILE).write_bytes(b"weights v1")
    (root / SPEC_FILE).write_text("{}", encoding="utf-8")
    return root


def letter_vectors(texts: list[str], texts_b: list[str] | None) -> np.ndarray:
    """A toy representation: normalised counts of a few characters."""
    alphabet = "abcdef"
    rows = np.asarray([[t.count(c) + 0.01 for c in alphabet] for t in texts], np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


ROWS = [
    Ex("train-1", "aaa", label="体育"),
    Ex("train-2", "bbb", label="财经"),
    Ex("train-4", "abab", label="科技"),
    Ex("train-5", "ccc", labels=("体育", "科技")),
]


# === The index (numpy) ===
def test_the_index_round_trips(tmp_path):
    run = fake_run(tmp_path / "run")
    built = build_support_index(run, iter(ROWS), letter_vectors, False, {"data_dir": "d"})
    again = load_support_index(run)
    assert len(again) == 4 and again.dim == 6
    np.testing.assert_allclose(again.vectors, letter_vectors([r.text_a for r in ROWS], None))
    assert [r["line"] for r in again.rows] == [1, 2, 4, 5]
    assert again.rows[3]["label"] == ["体育", "科技"] and again.rows[0]["label"] == "体育"
    assert again.meta["source"] == {"data_dir": "d"} and again.meta == built.meta
    # nothing but the index is left behind (it was built beside, then renamed)
    assert sorted(p.name for p in run.iterdir()) == sorted([WEIGHTS_FILE, SPEC_FILE, INDEX_DIR])
    # rebuilding replaces it whole
    build_support_index(run, iter(ROWS[:2]), letter_vectors, False)
    assert len(load_support_index(run)) == 2
    assert sorted(p.name for p in run.iterdir()) == sorted([WEIGHTS_FILE, SPEC_FILE, INDEX_DIR])


def test_a_failed_build_leaves_the_old_index(tmp_path):
    run = fake_run(tmp_path / "run")
    build_support_index(run, iter(ROWS), letter_vectors, False)

    def broken(texts, texts_b):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        build_support_index(run, iter(ROWS[:1]), broken, False)
    assert len(load_support_index(run)) == 4
    assert not [p for p in run.iterdir() if p.name.startswith(".")]
    with pytest.raises(ValueError, match="no training rows"):
        build_support_index(run, iter([]), letter_vectors, False)
    assert len(load_support_index(run)) == 4


def test_a_stale_or_missing_index_is_refused_with_the_command_that_rebuilds_it(tmp_path):
    run = fake_run(tmp_path / "run")
    with pytest.raises(SupportIndexMissing, match=r"explain\.sh --output_dir=.* --index"):
        load_support_index(run)
    build_support_index(run, iter(ROWS), letter_vectors, False)
    (run / WEIGHTS_FILE).write_bytes(b"weights v2")  # retrained
    with pytest.raises(StaleSupportIndex, match=r"other weights.*--index"):
        load_support_index(run)
    assert len(load_support_index(run, check_fresh=False)) == 4
    (run / INDEX_DIR / "rows.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(SupportIndexError, match="damaged"):
        load_support_index(run, check_fresh=False)


def test_nearest_rows_by_cosine_with_stable_ties(tmp_path):
    run = fake_run(tmp_path / "run")
    rows = [*ROWS, Ex("train-9", "aaa", label="娱乐")]  # a duplicate of row 0
    index = build_support_index(run, iter(rows), letter_vectors, False)
    found = index.nearest(letter_vectors(["aaa", "bab"], None), top_k=3)
    assert [r.line for r in found[0]] == [1, 9, 4]  # the tie keeps train.tsv's order
    assert found[0][0].similarity == pytest.approx(1.0, abs=1e-6)
    assert found[0][0].to_dict() == {"line": 1, "text": "aaa", "label": "体育", "similarity": 1.0}
    assert [r.line for r in found[1]][:2] == [4, 2]
    assert len(index.nearest(letter_vectors(["a"], None), top_k=99)[0]) == 5
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="top_k"):
            index.nearest(letter_vectors(["a"], None), top_k=bad)
    with pytest.raises(ValueError, match="dimensions"):
        index.nearest(np.ones((1, 3), np.float32))
    assert top_indices([0.5, 0.9, 0.9, 0.1, 0.9], 2) == [1, 2]
    assert top_indices([0.5, 0.9], 5) == [1, 0]


# === error_analysis.md's layout (a fake explain function) ===
def fake_explain(calls: list):
    from classifier.explain.mistakes import RowExplanation
    from classifier.explain.support_index import SupportingRow

    def explain(examples, labels):
        calls.append(([e.guid for e in examples], list(labels)))
        return [
            RowExplanation(
                label,
                (("好", 0.5), ("球|赛", 0.25), ("差", -0.75), ("了", 0.0)),
                (SupportingRow(7, "train-7", "训练|文本", None, ["体育", "财经"], 0.875),),
            )
            for label in labels
        ]

    return explain


def test_the_heads_lay_out_why_under_their_confident_mistakes():
    from classifier import error_analysis as EA
    from classifier.heads.multiclass import MulticlassHead
    from classifier.heads.multilabel import MultilabelHead

    examples = [Ex(f"dev-{i}", f"文本{i}", label=LABELS[i % 3]) for i in range(4)]
    probs = np.asarray([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    calls: list = []
    head = MulticlassHead(LABELS)
    gold = np.asarray([0, 1, 2, 0])
    markdown = EA.error_analysis_markdown(
        head, examples, np.log(probs), gold, explain=fake_explain(calls)
    )
    # the rows of the "most confident wrong" table, most confident first, their predicted labels
    assert calls == [(["dev-1", "dev-2"], ["科技", "财经"])]
    why = why_section(markdown)
    assert "**dev-1, predicted 科技, gold 财经**: words for 科技: 好 (+0.5), 球|赛 (+0.25)" in why
    assert "| 7 | 体育\\|财经 | 0.8750 | 训练\\|文本 |" in why
    assert markdown.index("### Why") < markdown.index("## Least confident right")
    assert (
        EA.error_analysis_markdown(head, examples, np.log(probs), gold)
        == markdown.split("### Why")[0]
        + "## Least confident right"
        + markdown.split("## Least confident right")[1]
    )

    calls.clear()
    multi = [Ex(f"dev-{i}", f"文本{i}", labels=(LABELS[i % 3],)) for i in range(3)]
    head = MultilabelHead(LABELS, thresholds=(0.5, 0.5, 0.5))
    probs = np.asarray([[0.9, 0.1, 0.1], [0.1, 0.2, 0.1], [0.1, 0.1, 0.95]])
    targets = np.asarray([[1, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32)
    markdown = EA.error_analysis_markdown(
        head, multi, np.log(probs / (1 - probs)), targets, explain=fake_explain(calls)
    )
    assert calls == [(["dev-2", "dev-1"], ["科技", "财经"])]
    why = why_section(markdown)
    assert "**dev-2, wrongly predicted 科技 (gold: (none))**: words for 科技: 好" in why
    assert "**dev-1, missed 财经 (gold: 财经)**: words against 财经: 差 (-0.75)" in why


def test_a_failing_explain_leaves_the_tables_alone(caplog):
    import logging

    from classifier import error_analysis as EA
    from classifier.explain.mistakes import never_failing
    from classifier.heads.multiclass import MulticlassHead

    def broken(examples, labels):
        raise RuntimeError("no gradients")

    examples = [Ex("dev-0", "文本", label="体育")]
    head = MulticlassHead(LABELS)
    logits = np.log(np.asarray([[0.1, 0.8, 0.1]]))
    explain = never_failing(broken, logging.getLogger("test"))
    markdown = EA.error_analysis_markdown(head, examples, logits, np.asarray([0]), explain=explain)
    assert markdown == EA.error_analysis_markdown(head, examples, logits, np.asarray([0]))
    assert "no gradients" in caplog.text


# === Representations of a real (tiny) model ===
class ListTask:
    """A task without a file (FineTuner.fit's kind): guids carry no lines."""

    def __init__(self, examples):
        self.examples = examples

    def get_train_examples(self):
        return list(self.examples)


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"long_text": "sliding_window", "max_seq_length": 16},
        {"adapter": ("lora",)},
    ],
    ids=["bert", "sliding_window", "lora"],
)
def test_an_identical_training_row_is_the_nearest(tmp_path, case):
    from classifier.estimator import FineTuner
    from classifier.explain.representations import pooled_representations
    from classifier.explain.run_support import build_run_index
    from classifier.trained_model import VOCAB_FILE

    run = run_folder(tmp_path / "run", **case)
    tuner = FineTuner.load(run)
    encoder = tuner.spec_.text_encoder(run / VOCAB_FILE)
    examples = [Ex(f"train-{i}", text, label=LABELS[i % 3]) for i, text in enumerate(TEXTS)]
    index = build_run_index(run, tuner.model_, tuner.spec_, encoder, ListTask(examples))
    assert [r["line"] for r in index.rows] == [None] * len(TEXTS)
    queries = pooled_representations(tuner.model_, encoder, TEXTS, batch_size=3)
    assert queries.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-5)
    for i, rows in enumerate(index.nearest(queries, top_k=2)):
        assert rows[0].text == TEXTS[i] and rows[0].similarity == pytest.approx(1.0, abs=1e-4)
        assert rows[0].similarity >= rows[1].similarity
    # batching does not change a representation
    single = pooled_representations(tuner.model_, encoder, TEXTS[3:], batch_size=1)
    np.testing.assert_allclose(single, queries[3:], atol=1e-5)


# === scripts/explain.sh ===
TRAIN_ROWS = [(LABELS[i % 3], text) for i, text in enumerate(TEXTS)]


def data_dir(root: Path, rows=TRAIN_ROWS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.tsv").write_text(
        "".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8"
    )
    return root


def explain_main(*args: str) -> int:
    from scripts.explain import main

    return main(list(args))


@pytest.fixture
def indexed_run(tmp_path):
    run = run_folder(tmp_path / "run")
    data = data_dir(tmp_path / "data")
    assert explain_main(f"--output_dir={run}", "--index", f"--data_dir={data}") == 0
    return run


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_explain_sh_lists_supporting_rows_and_words(indexed_run, tmp_path):
    inputs = tmp_path / "texts.txt"
    inputs.write_text(f"{TEXTS[2]}\n{TEXTS[1]}\n", encoding="utf-8")
    out = tmp_path / "why.jsonl"
    argv = [f"--output_dir={indexed_run}", f"--input_file={inputs}", f"--output_file={out}"]
    assert explain_main(*argv, "--top_k=2", "--ig_steps=8") == 0
    lines = read_lines(out)
    assert [o["text"] for o in lines] == [TEXTS[2], TEXTS[1]]
    for i, obj in enumerate(lines):
        assert obj["label"] in LABELS and 0.0 < obj["score"] <= 1.0
        first, second = obj["supporting"]
        assert first == {
            "line": [2, 1][i] + 1,
            "text": obj["text"],
            "label": LABELS[[2, 1][i] % 3],
            "similarity": pytest.approx(1.0, abs=1e-4),
        }
        assert second["similarity"] <= first["similarity"]
        assert obj["explained_label"] == obj["label"]
        assert "".join(w["word"] for w in obj["words"]).replace(" ", "") == obj["text"].replace(
            " ", ""
        )
    # the same predictions as predict.sh gives for the run folder
    from scripts.predict import main as predict_main

    predicted = tmp_path / "predicted.jsonl"
    assert (
        predict_main(
            [f"--run_dir={indexed_run}", f"--input_file={inputs}", f"--output_file={predicted}"]
        )
        == 0
    )
    assert [o["predicted_label"] for o in read_lines(predicted)] == [o["label"] for o in lines]
    assert explain_main(*argv, "--no_words") == 0
    plain = read_lines(out)
    assert all("words" not in o and len(o["supporting"]) == 3 for o in plain)
    assert [o["supporting"] for o in plain] != []


def test_explain_sh_index_defaults_to_the_data_the_run_recorded(tmp_path):
    from classifier.files import write_json
    from classifier.run_folder import RUN_FILE

    run = run_folder(tmp_path / "run")
    data = data_dir(tmp_path / "data", TRAIN_ROWS[:2])
    write_json(
        run / RUN_FILE, {"config": {}, "finished": True, "training_data": {"data_dir": str(data)}}
    )
    texts = tmp_path / "texts.txt"
    texts.write_text(TEXTS[0] + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert (
        explain_main(
            f"--output_dir={run}",
            "--index",
            f"--input_file={texts}",
            f"--output_file={out}",
            "--no_words",
        )
        == 0
    )
    assert len(load_support_index(run)) == 2
    assert read_lines(out)[0]["supporting"][0]["line"] == 1


def test_explain_sh_pairs(tmp_path):
    run = run_folder(tmp_path / "run", is_pair=True)
    pairs = [(LABELS[i % 3], TEXTS[i], TEXTS[(i + 1) % 4]) for i in range(4)]
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text(
        "".join(f"{a}\t{b}\t{c}\n" for a, b, c in pairs), encoding="utf-8"
    )
    assert (
        explain_main(f"--output_dir={run}", "--index", f"--data_dir={data}", "--task_name=pair")
        == 0
    )
    texts = tmp_path / "pairs.txt"
    texts.write_text(f"{TEXTS[1]}\t{TEXTS[2]}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert (
        explain_main(
            f"--output_dir={run}", f"--input_file={texts}", f"--output_file={out}", "--ig_steps=4"
        )
        == 0
    )
    obj = read_lines(out)[0]
    assert obj["text_b"] == TEXTS[2] and "words_b" in obj
    assert obj["supporting"][0]["text_b"] == TEXTS[2] and obj["supporting"][0]["line"] == 2


def test_bad_inputs_stop_explain_sh_with_one_line_and_exit_2(indexed_run, tmp_path, caplog):
    texts = tmp_path / "texts.txt"
    texts.write_text(TEXTS[0] + "\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    blank = tmp_path / "blank.txt"
    blank.write_text(f"{TEXTS[0]}\n  \n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    bare = run_folder(tmp_path / "bare")  # no index
    cases = [
        (
            [f"--output_dir={tmp_path / 'nothing'}", f"--input_file={texts}"],
            "holds no trained classifier",
        ),
        ([f"--output_dir={bare}", f"--input_file={texts}"], r"no support index .*--index"),
        ([f"--output_dir={indexed_run}", f"--input_file={empty}"], "no texts to explain"),
        ([f"--output_dir={indexed_run}", f"--input_file={blank}"], r"blank\.txt:2: an empty text"),
        (
            [f"--output_dir={indexed_run}", f"--input_file={tmp_path / 'missing.txt'}"],
            "no such file",
        ),
        ([f"--output_dir={indexed_run}"], "nothing to do"),
        ([f"--output_dir={bare}", "--index"], "--data_dir is required"),
        (
            [f"--output_dir={bare}", "--index", f"--data_dir={tmp_path / 'nodata'}"],
            "no such folder",
        ),
        ([f"--output_dir={bare}", "--index", f"--data_dir={tmp_path}"], "no train.tsv there"),
        (
            [f"--output_dir={bare}", "--index", f"--data_dir={tmp_path}", "--task_name=pair"],
            "reads pairs",
        ),
        (
            [f"--output_dir={indexed_run}", f"--input_file={texts}", f"--output_file={texts}"],
            "--output_file",
        ),
    ]
    for argv, message in cases:
        caplog.clear()
        assert (
            explain_main(
                *argv,
                f"--output_file={out}" if "--output_file" not in " ".join(argv) else "--no_words",
            )
            == 2
        ), argv
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and re.search(message, errors[0]), (argv, errors)
        assert not out.exists() and not Path(f"{out}.tmp").exists()
    assert texts.read_text(encoding="utf-8") == TEXTS[0] + "\n"
    for bad in ("--top_k=0", "--top_k=x", "--ig_steps=0"):
        with pytest.raises(SystemExit) as stop:
            explain_main(f"--output_dir={indexed_run}", f"--input_file={texts}", bad)
        assert stop.value.code == 2
    # a stale index (the model was retrained since) is refused
    weights = indexed_run / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes() + b"\0")
    caplog.clear()
    assert explain_main(f"--output_dir={indexed_run}", f"--input_file={texts}") == 2
    assert "other weights" in caplog.records[-1].getMessage()


# === error_analysis.md of a training run ===
@pytest.fixture(scope="module")
def demo_checkpoint(tmp_path_factory) -> Path:
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    texts = [(ROOT / "data/demo" / f).read_text(encoding="utf-8") for f in ("train.tsv", "dev.tsv")]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(tmp_path_factory.mktemp("bert"), vocab, config, seed=0)


def small_demo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, count in (("train.tsv", 40), ("dev.tsv", 24)):
        lines = (ROOT / "data/demo" / name).read_text(encoding="utf-8").splitlines()[:count]
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "labels.txt").write_text((ROOT / "data/demo/labels.txt").read_text(encoding="utf-8"))
    return root


def train(demo_checkpoint: Path, data: Path, out: Path, *extra: str) -> None:
    from scripts.train import main

    code = main(
        [
            "--do_train",
            "--do_eval",
            f"--data_dir={data}",
            f"--model_dir={demo_checkpoint}",
            f"--output_dir={out}",
            "--num_train_epochs=1",
            "--max_seq_length=32",
            "--train_batch_size=16",
            *extra,
        ]
    )
    assert code == 0


def why_section(markdown: str) -> str:
    return markdown.split("### Why: top words and supporting training rows", 1)[1].split("## ", 1)[
        0
    ]


@pytest.mark.slow  # train.sh end to end
def test_error_analysis_explains_the_confident_mistakes(demo_checkpoint, tmp_path):
    data = small_demo(tmp_path / "data")
    out = tmp_path / "run"
    train(demo_checkpoint, data, out)
    index = load_support_index(out)  # built at the end of training, up to date
    assert len(index) == 40 and index.meta["source"]["data_dir"] == str(data.resolve())
    markdown = (out / "error_analysis.md").read_text(encoding="utf-8")
    wrong = markdown.split("## Most confident wrong predictions", 1)[1].split("## ", 1)[0]
    guids = re.findall(r"^\| (dev-\d+) \|", wrong, re.M)
    assert guids, markdown
    why = why_section(markdown)
    train_lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines()
    for guid in guids:
        found = re.search(
            rf"^\*\*{guid}, predicted (\S+), gold \S+\*\*: words for \1: (.+)$", why, re.M
        )
        assert found, (guid, why)
        assert re.match(r"\S+ \([+-]\d", found.group(2)) or found.group(2) == "-"
        table = why[found.end() :].split("**", 1)[0]
        rows = [line for line in table.splitlines() if re.match(r"^\| \d+ \|", line)]
        assert len(rows) == 3, table
        for row in rows:  # line, label and text are the training file's
            line, label, similarity, text = (c.strip() for c in row.strip("|").split("|"))
            assert train_lines[int(line) - 1] == f"{label}\t{text}"
            assert -1.0 <= float(similarity) <= 1.0
    # the index serves explain.sh, which finds the training data by itself when rebuilding
    assert explain_main(f"--output_dir={out}", "--index") == 0
    # evaluation alone reuses the index
    from scripts.train import main

    (out / "error_analysis.md").unlink()
    assert main(["--do_eval", f"--data_dir={data}", f"--output_dir={out}"]) == 0
    assert "| similarity |" in why_section((out / "error_analysis.md").read_text(encoding="utf-8"))


@pytest.mark.slow  # train.sh end to end
def test_explain_errors_false_leaves_the_error_analysis_as_it_was(demo_checkpoint, tmp_path):
    data = small_demo(tmp_path / "data")
    out = tmp_path / "run"
    train(demo_checkpoint, data, out, "--explain_errors=false")
    markdown = (out / "error_analysis.md").read_text(encoding="utf-8")
    assert "### Why" not in markdown and "## Most confident wrong predictions" in markdown
    assert not (out / INDEX_DIR).exists()
