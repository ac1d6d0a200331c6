"""Hierarchical labels (issue 21, item 5): --task_name=hierarchical, label paths ``体育##足球``.

Every prefix of a path is a node the model outputs; decisions are consistent (a node only under
a decided parent, the same rule in numpy and in the exported graph); reports add each level's
figures (``levels``) and the leaves'; the export ships the tree, and every serving path (HTTP,
the REPL, predict.sh) names the predicted paths."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from classifier.heads import make_head
from classifier.label_tree import LabelTree, close_paths

NODES = (
    "体育",
    "体育##篮球",
    "体育##足球",
    "财经",
    "财经##股市",
    "财经##股市##创业板",
    "娱乐",
)
ROOT = Path(__file__).resolve().parent.parent


def example(*paths: str, guid: str = "dev-1"):
    return SimpleNamespace(guid=guid, text_a="t", text_b=None, label=None, labels=tuple(paths))


# === The tree ===
def test_the_tree_is_read_from_the_names():
    tree = LabelTree(NODES)
    assert tree.parents.tolist() == [-1, 0, 0, -1, 3, 4, -1]
    assert tree.depths.tolist() == [1, 2, 2, 1, 2, 3, 1]
    assert tree.num_levels == 3
    assert tree.is_leaf.tolist() == [False, True, True, False, False, True, True]
    assert tree.closure(["财经##股市##创业板", "体育##足球"]) == (
        "体育",
        "体育##足球",
        "财经",
        "财经##股市",
        "财经##股市##创业板",
    )
    nested = tree.to_dict()
    assert nested["separator"] == "##" and nested["levels"] == 3
    assert [n["label"] for n in nested["nodes"]] == ["体育", "财经", "娱乐"]
    assert nested["nodes"][1]["children"][0]["children"][0] == {
        "label": "财经##股市##创业板",
        "name": "创业板",
        "children": [],
    }


def test_stop_share_counts_the_rows_whose_path_stops_at_each_node():
    """Of a node's rows, the share where none of its children is held (a path ends there)."""
    tree = LabelTree(NODES)
    rows = [["体育", "体育##篮球"], ["体育"], ["财经", "财经##股市", "财经##股市##创业板"],
            ["财经", "财经##股市"], ["财经"], ["财经"]]  # fmt: skip
    targets = np.array([[name in row for name in NODES] for row in rows], np.float32)
    shares = tree.stop_share(targets)
    # 体育: 1 of 2 rows stops; 篮球 held once (a leaf: 1); 足球 never held (0); 财经: 2 of 4;
    # 股市: 1 of 2; 创业板: 1; 娱乐 never held
    assert shares.tolist() == pytest.approx([0.5, 1, 0, 0.5, 0.5, 1, 0])
    assert tree.stop_share(np.zeros((0, len(NODES)))).tolist() == [0.0] * len(NODES)


def test_close_paths_puts_missing_parents_before_their_first_child():
    assert close_paths(["b##x", "a", "b##y", "a##z##w"]) == ["b", "b##x", "a", "b##y", "a##z", "a##z##w"]  # fmt: skip


@pytest.mark.parametrize("path", ["体育##", "##足球", "体育####足球", "体育## ##足球"])
def test_an_empty_level_is_refused_by_name(path):
    with pytest.raises(ValueError, match="has an empty level"):
        close_paths([path])


def test_a_label_without_its_parent_is_refused_naming_both():
    with pytest.raises(ValueError, match="'体育##足球' has no parent '体育'"):
        make_head("hierarchical", ("财经", "体育##足球"))


def test_consistency_cuts_a_path_at_its_first_undecided_level():
    tree = LabelTree(NODES)
    decisions = np.array(
        [
            [1, 1, 0, 0, 1, 1, 0],  # 财经 undecided: its whole subtree is cut
            [0, 0, 0, 1, 0, 1, 1],  # 财经##股市 undecided: its child is cut
            [1, 0, 1, 1, 1, 1, 0],  # already consistent
        ]
    )
    assert tree.consistent(decisions).tolist() == [
        [1, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [1, 0, 1, 1, 1, 1, 0],
    ]
    assert tree.path_ends(tree.consistent(decisions)).tolist() == [
        [0, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [0, 0, 1, 0, 0, 1, 0],
    ]


def test_the_graph_rule_is_the_numpy_rule():
    import tensorflow as tf

    tree = LabelTree(NODES)
    rng = np.random.default_rng(0)
    decisions = (rng.random((500, len(NODES))) < 0.6).astype(np.int32)
    graph = tree.consistent_graph(tf.constant(decisions)).numpy()
    assert graph.tolist() == tree.consistent(decisions).tolist()


# === The head ===
def test_gold_labels_are_the_paths_and_their_ancestors():
    head = make_head("hierarchical", NODES)
    gold = example("财经##股市##创业板", "娱乐")
    assert head.gold(gold) == ("财经", "财经##股市", "财经##股市##创业板", "娱乐")
    assert head.encode_labels([gold]).tolist() == [[0, 0, 0, 1, 1, 1, 1]]
    assert head.gold_field(gold) == "财经##股市##创业板|娱乐"  # as the data wrote them
    with pytest.raises(ValueError, match="label '体育##网球' is not one of the model's labels"):
        head.check_labels([example("体育##网球", guid="dev-7")], "dev")


def test_decisions_never_hold_a_child_without_its_parent():
    head = make_head("hierarchical", NODES, thresholds=[0.7, 0.2, 0.2, 0.5, 0.3, 0.1, 0.5])
    probs = np.random.default_rng(1).random((2000, len(NODES)))
    decided = head.decisions(probs)
    parents = head.tree.parents
    for node in np.flatnonzero(parents >= 0):
        assert not np.any(decided[:, node] & ~decided[:, parents[node]])
    # Where the parent passes, the node passes as at its own threshold.
    independent = probs >= np.array(head.thresholds)
    assert decided[independent[:, 0], 1].tolist() == independent[independent[:, 0], 1].tolist()


def test_a_parent_is_never_less_probable_than_its_child_in_numpy_and_graph():
    import tensorflow as tf

    head = make_head("hierarchical", NODES, temperatures=[0.5, 1, 2, 1, 1, 3, 1])
    logits = np.random.default_rng(2).normal(0, 3, (400, len(NODES)))
    probs = head.probabilities(logits)
    parents = head.tree.parents
    child = np.flatnonzero(parents >= 0)
    assert np.all(probs[:, parents[child]] >= probs[:, child])
    raw = 1 / (1 + np.exp(-head.scaled(logits)))
    leaves = head.tree.is_leaf
    np.testing.assert_allclose(probs[:, leaves], raw[:, leaves], rtol=1e-12)  # leaves kept
    assert probs[0, 3] == pytest.approx(raw[0, 3:6].max())  # 财经: the largest of its subtree
    graph_probs, graph_decided = head.graph_outputs(tf.constant(logits, tf.float32))
    np.testing.assert_allclose(graph_probs.numpy(), probs, atol=1e-6)
    assert graph_decided.numpy().tolist() == head.decisions(graph_probs.numpy()).tolist()


def test_the_loss_scores_each_node_under_the_max_constraint():
    """TreeSigmoidLoss is SigmoidLoss of the constrained logits: a present node takes the max
    over its present subtree, an absent one over its whole subtree; gradients reach the max."""
    import tensorflow as tf

    from classifier.head_options import LossOptions
    from classifier.losses import SigmoidLoss

    head = make_head("hierarchical", NODES)
    gold = [example("体育##篮球"), example("财经"), example("娱乐")]
    y = head.encode_labels(gold)
    z = np.array(
        [
            [-1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0],  # 体育 present: max(-1, 篮球 2) = 2 (not 足球)
            [0.0, 0.0, 0.0, -2.0, 1.0, 4.0, 0.0],  # 财经 present alone: itself; 股市 absent: 4
            [0.0, 0.0, 0.0, -3.0, -1.0, 5.0, 0.0],  # 财经 absent: max of its subtree, 5
        ],
        np.float32,
    )
    expected = np.array(
        [
            [2.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, -2.0, 4.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 0.0],
        ],
        np.float32,
    )
    loss = head.loss(LossOptions(parent_loss_weight=1.0), y)  # every node weighs the same
    assert type(loss).__name__ == "TreeSigmoidLoss"
    assert float(loss(y, z)) == pytest.approx(float(SigmoidLoss()(y, expected)), rel=1e-6)
    variable = tf.Variable(z)
    with tf.GradientTape() as tape:
        value = loss(y, variable)
    grad = tape.gradient(value, variable).numpy()
    assert grad[0, 0] == 0.0 and grad[0, 1] < 0  # 体育's term pushes 篮球 up, not 体育
    assert grad[2, 3] == 0.0 and grad[2, 5] > 0  # absent 财经's term pushes 创业板 down
    focal = head.loss(LossOptions(loss="focal"), y)
    assert focal.gamma_pos == focal.gamma_neg > 0  # the options carry over
    restored = type(loss).from_config(loss.get_config())
    assert float(restored(y, z)) == pytest.approx(float(loss(y, z)))


def test_the_parent_loss_weight_weighs_the_nodes_with_children():
    """--parent_loss_weight w: the loss is the mean of the node terms weighted w for parents
    and 1 for leaves; unset, a parent weighs the share of its rows whose path stops at it,
    at least the floor; refused by name for flat tasks."""
    from classifier.head_options import LossOptions
    from classifier.heads.hierarchical import PARENT_LOSS_WEIGHT_FLOOR

    head = make_head("hierarchical", NODES)
    rows = [example("体育##篮球"), example("财经"), example("财经##股市"), example("财经##股市")]
    y = head.encode_labels([*rows, example("娱乐")])
    z = np.random.default_rng(0).normal(size=y.shape).astype(np.float32)
    # each node's binary cross-entropy on its constrained logit, by hand: a present node
    # takes the max over its present subtree, an absent one over its whole subtree
    tree = head.tree
    constrained = np.where(y > 0, tree.lifted(np.where(y > 0, z, -1e9)), tree.lifted(z)).astype(
        np.float64
    )
    terms = np.where(y > 0, np.logaddexp(0, -constrained), np.logaddexp(0, constrained))
    parents = ~tree.is_leaf
    assert parents.tolist() == [True, False, False, True, True, False, False]

    def by_hand(w) -> float:
        weights = np.where(parents, w, 1.0)
        return float(np.mean((terms * weights).sum(axis=1) / weights.sum()))

    # 体育 only ever under a child: the floor; 财经 stops at itself in 1 of its 3 rows, 财经##股市
    # in both of its rows (娱乐 is a leaf: 1)
    stop_shares = [PARENT_LOSS_WEIGHT_FLOOR, 1, 1, 1 / 3, 1.0, 1, 1]
    assert head.parent_loss_weights(LossOptions(), y) == pytest.approx(stop_shares)
    weights = np.array(stop_shares)
    assert head._weights_line(weights) == "体育 0.10, 财经 0.33, 财经##股市 1.00"
    assert head._weights_line(weights, shown=1) == "体育 0.10 and 2 more (0.33 to 1.00)"
    default = head.loss(LossOptions(), y)
    assert float(default(y, z)) == pytest.approx(by_hand(np.array(stop_shares)), rel=1e-5)
    restored = type(default).from_config(default.get_config())
    assert float(restored(y, z)) == pytest.approx(float(default(y, z)))
    light = head.loss(LossOptions(parent_loss_weight=0.25), y)
    assert float(light(y, z)) == pytest.approx(by_hand(0.25), rel=1e-5)
    assert by_hand(0.25) != pytest.approx(by_hand(1.0))  # the weight changes the figure
    restored = type(light).from_config(light.get_config())
    assert float(restored(y, z)) == pytest.approx(float(light(y, z)))
    with pytest.raises(ValueError, match="--parent_loss_weight applies to hierarchical"):
        make_head("multilabel", NODES).check_options(LossOptions(parent_loss_weight=0.5))
    with pytest.raises(ValueError, match="--parent_loss_weight must be a positive number"):
        LossOptions(parent_loss_weight=0.0)


def test_prediction_fields_name_the_paths():
    head = make_head("hierarchical", NODES)
    probs = np.array([0.9, 0.8, 0.3, 0.7, 0.6, 0.2, 0.55])
    assert head.prediction_fields(probs) == ("体育##篮球|财经##股市|娱乐", "0.800000|0.600000|0.550000")  # fmt: skip
    assert head.predicted_column == "predicted_paths" and head.gold_column == "gold_paths"


def test_label_bounds_are_refused_by_name():
    from classifier.label_bounds import LabelBounds

    with pytest.raises(
        ValueError, match="--max_labels apply to multilabel tasks, not hierarchical"
    ):
        make_head("hierarchical", NODES, label_bounds=LabelBounds(0, 1))


def test_the_report_has_each_levels_figures_and_the_leaves():
    head = make_head("hierarchical", NODES)
    gold = [example("体育##篮球"), example("财经##股市##创业板"), example("娱乐"), example("财经")]
    targets = head.encode_labels(gold)
    probs = np.array(
        [
            [0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1],  # 体育##篮球: right
            [0.1, 0.1, 0.1, 0.9, 0.9, 0.2, 0.1],  # cut at level 2: levels 1-2 right, 3 wrong
            [0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1],  # 体育##足球 for 娱乐: levels 1-2 wrong
            [0.1, 0.1, 0.1, 0.9, 0.1, 0.9, 0.1],  # 创业板 lifts 股市: 财经 right, 2-3 wrong
        ]
    )
    logits = np.log(probs / (1 - probs))
    report = head.report(logits, targets)
    levels = report["levels"]
    assert set(levels) == {"1", "2", "3"}
    assert levels["1"]["accuracy"] == 0.75 and levels["2"]["accuracy"] == 0.5
    assert levels["3"]["accuracy"] == 0.5  # rows 1 and 3 have no level-3 node, as decided
    assert levels["1"]["micro_f1"] == pytest.approx(2 * 3 / (4 + 4))  # 3 right of 4 and 4
    assert levels["2"]["num_labels"] == 3 and levels["2"]["support"] == 2
    leaves = report["leaves"]  # 体育##篮球, 体育##足球, 创业板, 娱乐
    assert leaves["num_labels"] == 4 and leaves["accuracy"] == 0.25
    assert leaves["micro_f1"] == pytest.approx(2 * 1 / (3 + 3))
    assert report["per_label"]["财经##股市##创业板"]["precision"] == 0.0
    text = head.text_report(logits, targets)
    assert text.index("Level 1: 3 labels") < text.index("Level 2: 3 labels") < text.index("Level 3: 1 labels")  # fmt: skip
    assert "Leaves (the nodes without children, at any level): 4 labels" in text


# === The processor ===
def test_the_processor_reads_paths_and_adds_missing_parents(tmp_path):
    import processors

    (tmp_path / "train.tsv").write_text("体育##足球|财经\t国足\n财经##股市##创业板\t涨\n\t无\n", encoding="utf-8")  # fmt: skip
    task = processors.get_processor("hierarchical")(str(tmp_path))
    assert task.get_labels() == ["体育", "体育##足球", "财经", "财经##股市", "财经##股市##创业板"]
    (tmp_path / "labels.txt").write_text("财经##股市\n体育##足球\n体育##篮球\n", encoding="utf-8")
    task = processors.get_processor("hierarchical")(str(tmp_path))
    assert task.get_labels() == ["财经", "财经##股市", "体育", "体育##足球", "体育##篮球"]
    from classifier.heads import head_kind_of

    assert head_kind_of(task) == "hierarchical"


@pytest.mark.parametrize(
    "row,message",
    [
        ("体育##\t国足", "train.tsv:2.*label path '体育##' has an empty level"),
        ("体育##网球\t网球", "train.tsv:2.*label '体育##网球' is not in the label set"),
    ],
)
def test_bad_paths_are_refused_naming_file_and_line(tmp_path, row, message):
    import processors

    (tmp_path / "labels.txt").write_text("体育##足球\n", encoding="utf-8")
    (tmp_path / "train.tsv").write_text(f"体育##足球\t国足\n{row}\n", encoding="utf-8")
    with pytest.raises(processors.DataError, match=message):
        processors.get_processor("hierarchical")(str(tmp_path)).get_train_examples()


def test_an_empty_level_in_labels_txt_is_refused_naming_the_file(tmp_path):
    import processors

    (tmp_path / "labels.txt").write_text("体育##足球\n##财经\n", encoding="utf-8")
    with pytest.raises(processors.DataError, match="labels.txt.*'##财经' has an empty level"):
        processors.get_processor("hierarchical")(str(tmp_path)).get_labels()


# === Training, export and serving ===
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """train.sh on data/demo_hierarchical (a tiny random BERT, 10 epochs: fewer leave it
    answering every text alike, which makes the decisions below ties), then export.sh."""
    from scripts import make_tiny_checkpoint, train

    root = tmp_path_factory.mktemp("hierarchical")
    data = ROOT / "data" / "demo_hierarchical"
    texts = [str(data / f"{s}.tsv") for s in ("train", "dev", "test")]
    make_tiny_checkpoint.main(["--output_dir", str(root / "bert"), "--hidden_size=32", "--vocab_texts", *texts])  # fmt: skip
    out = root / "run"
    code = train.main(
        [
            "--task_name=hierarchical",
            "--do_train",
            "--do_eval",
            "--do_predict",
            f"--data_dir={data}",
            f"--model_dir={root / 'bert'}",
            f"--output_dir={out}",
            "--max_seq_length=40",
            "--train_batch_size=32",
            "--learning_rate=5e-3",
            "--num_train_epochs=10",
        ]
    )
    assert code == 0
    from export import export_trained_model

    export_trained_model(out, root / "export")
    return SimpleNamespace(out=out, export_dir=root / "export", data=data)


@pytest.mark.slow
def test_train_sh_reports_each_level(trained):
    for name in ("eval_results.json", "test_results.json"):
        results = json.loads((trained.out / name).read_text(encoding="utf-8"))
        assert set(results["levels"]) == {"1", "2"}
        for figures in (*results["levels"].values(), results["leaves"]):
            assert {"accuracy", "micro_f1", "macro_f1"} <= set(figures)
        assert results["levels"]["1"]["num_labels"] == 4
        assert results["levels"]["2"]["num_labels"] == 13
    report = (trained.out / "classification_report.txt").read_text(encoding="utf-8")
    assert "Level 1: 4 labels" in report and "Level 2: 13 labels" in report
    header = (trained.out / "test_predictions.tsv").read_text(encoding="utf-8").split("\n")[0]
    assert header.split("\t")[:3] == ["text", "predicted_paths", "probability"]
    assert "gold_paths" in header.split("\t")


@pytest.mark.slow
def test_the_export_ships_the_tree_and_decides_consistently(trained):
    from serving import Predictor

    predictor = Predictor.from_export_dir(trained.export_dir)
    info = predictor.info
    tree = info.metadata["label_tree"]
    assert tree["levels"] == 2 and [n["label"] for n in tree["nodes"]] == ["体育", "财经", "科技", "娱乐"]  # fmt: skip
    assert info.is_multilabel and info.predicted_column == "predicted_paths"
    texts = [line.split("\t")[1] for line in (trained.data / "test.tsv").read_text(encoding="utf-8").splitlines()]  # fmt: skip
    outputs = predictor.run(texts)
    from classifier.classifier_spec import ClassifierSpec

    head = ClassifierSpec.load(trained.out / "classifier_config.json").head
    probabilities = head.probabilities(outputs["logits"])
    expected = head.decisions(probabilities)
    # a probability within float32 rounding of its threshold may fall either way in the graph
    # (this small data set repeats texts, so dev's cut-offs can lie that close to a test text)
    clear = ~np.any(np.abs(probabilities - head.decision_thresholds) < 1e-5, axis=1)
    assert clear.mean() > 0.9
    assert outputs["predicted"][clear].tolist() == expected[clear].tolist()
    parents = head.tree.parents
    child = np.flatnonzero(parents >= 0)
    assert not np.any(outputs["predicted"][:, child] > outputs["predicted"][:, parents[child]])
    for prediction, row in zip(predictor.predict(texts), expected, strict=True):
        ends = head.tree.path_ends(row[None, :])[0]
        assert [p.label for p in prediction.paths] == sorted(
            (head.labels[i] for i in np.flatnonzero(ends)),
            key=lambda name: (-prediction.probabilities[name], head.labels.index(name)),
        )


@pytest.mark.slow
def test_http_repl_and_predict_sh_serve_paths(trained, tmp_path):
    import io

    from scripts import predict
    from serving import Predictor
    from serving.app import create_app
    from serving.batcher import MicroBatcher
    from serving.model_holder import ModelHolder
    from serving.repl import run_repl
    from serving.validation import Limits

    predictor = Predictor.from_export_dir(trained.export_dir)
    texts = ["NBA常规赛：湖人主场112比100战胜勇士", "央行宣布降准0.5个百分点"]
    expected = [[p.label for p in x.paths] for x in predictor.predict(texts)]
    holder = ModelHolder(predictor.path.parent, lambda found: predictor, poll_seconds=0)
    batcher = MicroBatcher(holder, max_batch_size=8, max_wait_ms=1)
    batcher.start()
    try:
        client = create_app(holder, batcher, Limits(), "news").test_client()
        reply = client.post("/predict", json={"texts": texts})
        assert reply.status_code == 200, reply.data
        got = reply.get_json()["predictions"]
        assert [[p["label"] for p in x["paths"]] for x in got] == expected
        labels = {item["label"] for x in got for item in x["labels"]}
        paths = {item["label"] for x in got for item in x["paths"]}
        assert paths <= labels
        assert client.get("/metadata").get_json()["model"]["label_tree"]["levels"] == 2
    finally:
        batcher.stop()
    out = io.StringIO()
    run_repl(predictor, io.StringIO("\n".join(texts) + "\n"), out)
    answers = [
        line.split("\t")[0].removeprefix("> ")
        for line in out.getvalue().splitlines()
        if "\t" in line
    ]
    assert answers == ["|".join(e) or "(none)" for e in expected]
    target = tmp_path / "p.jsonl"
    args = [f"--export_dir={trained.export_dir}", *(f"--text={t}" for t in texts), f"--output_file={target}"]  # fmt: skip
    assert predict.main(args) == 0
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [row["predicted_paths"] for row in rows] == expected
    in_memory = tmp_path / "m.jsonl"
    args = [f"--run_dir={trained.out}", *(f"--text={t}" for t in texts), f"--output_file={in_memory}"]  # fmt: skip
    assert predict.main(args) == 0
    rows = [json.loads(line) for line in in_memory.read_text(encoding="utf-8").splitlines()]
    assert [row["predicted_paths"] for row in rows] == expected


@pytest.mark.slow
def test_the_baseline_fits_a_hierarchical_task(tmp_path):
    from scripts import baseline

    data = ROOT / "data" / "demo_hierarchical"
    assert baseline.main([f"--data_dir={data}", "--task_name=hierarchical", f"--output_dir={tmp_path}"]) == 0  # fmt: skip
    results = json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8"))
    assert results["levels"]["1"]["accuracy"] > 0.9  # the demo's topics are easy
