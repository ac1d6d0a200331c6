"""Distillation: the student starts as the teacher's chosen layers, the losses are the ones the
papers define, unlabelled text teaches through the teacher, and distill.sh's output folder is
a run folder like any other (export, predict)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"


def _teacher(tmp_path, layers=4, hidden=64, seed=0, head_kind="multiclass", data=None):
    """A random-weight teacher run folder (what train.sh writes) of ``layers`` layers."""
    data = data or DEMO
    import keras

    from classifier.checkpoints.tiny import randomize_weights, tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
    from classifier.trained_model import build_classifier, save_trained_model

    texts = [(data / f"{split}.tsv").read_text(encoding="utf-8") for split in ("train", "dev")]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    write_vocab(tmp_path / "vocab_source.txt", vocab)
    keras.utils.set_random_seed(seed)
    labels = tuple((data / "labels.txt").read_text(encoding="utf-8").split())
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab), num_layers=layers, hidden_size=hidden),
        labels=labels,
        head_kind=head_kind,
        max_seq_length=64,
        task_name="multilabel" if head_kind == "multilabel" else "tsv",
    )
    model = build_classifier(spec)
    randomize_weights(model, seed, scale=0.5)
    out = tmp_path / "teacher"
    save_trained_model(out, model, spec, tmp_path / "vocab_source.txt")
    return out


@pytest.fixture(scope="module")
def trained_teacher(tmp_path_factory) -> Path:
    """A 4-layer teacher fine-tuned on the demo data by train.sh's own run (in process)."""
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab
    from classifier.training.run import RunOptions, run
    from classifier.training.training_config import TrainingConfig
    from processors import get_processor

    root = tmp_path_factory.mktemp("teacher")
    texts = [(DEMO / f"{split}.tsv").read_text(encoding="utf-8") for split in ("train", "dev")]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    checkpoint = write_google_bert_folder(
        root / "checkpoint", vocab, tiny_bert_config(len(vocab), num_layers=4, hidden_size=64)
    )
    options = RunOptions(
        output_dir=str(root / "run"),
        do_train=True,
        model_dir=str(checkpoint),
        max_seq_length=64,
        training=TrainingConfig(learning_rate=2e-3, num_train_epochs=6),
    )
    run(options, get_processor("tsv")(str(DEMO)))
    return root / "run"


def _batch(vocab_size, rows=4, length=12, seed=0):
    from tests.support.samples import padded_batch

    token_ids, segment_ids, mask = padded_batch(vocab_size, seed)
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}


def test_default_layers_are_evenly_spaced_and_end_at_the_top():
    from classifier.distillation import default_student_layers

    assert default_student_layers(12, 3) == [3, 7, 11]
    assert default_student_layers(12, 4) == [2, 5, 8, 11]
    assert default_student_layers(4, 2) == [1, 3]
    assert default_student_layers(6, 6) == list(range(6))
    with pytest.raises(ValueError, match="cannot come from"):
        default_student_layers(4, 5)


def test_a_student_of_every_teacher_layer_is_the_teacher(tmp_path):
    """Every weight is copied where it belongs: same logits as the teacher."""
    from classifier.distillation import build_student
    from classifier.distillation.student import student_spec
    from classifier.trained_model import load_trained_model

    teacher, spec = load_trained_model(_teacher(tmp_path, layers=3))
    student = build_student(teacher, student_spec(spec, [0, 1, 2], {}), [0, 1, 2])
    x = _batch(spec.model.vocab_size)
    np.testing.assert_allclose(np.asarray(student(x)), np.asarray(teacher(x)), rtol=1e-6, atol=1e-6)


def test_a_shallow_student_runs_the_chosen_teacher_layers(tmp_path):
    """Student layer j computes what teacher layer layers[j] computes on the same input."""
    from classifier.distillation import build_student
    from classifier.distillation.distiller import logits_and_layers
    from classifier.distillation.student import student_spec
    from classifier.trained_model import load_trained_model

    teacher, spec = load_trained_model(_teacher(tmp_path, layers=4))
    student = build_student(teacher, student_spec(spec, [1, 3], {}), [1, 3])
    assert student.backbone.num_hidden_layers == 2
    x = _batch(spec.model.vocab_size)
    _, teacher_states = logits_and_layers(teacher, x, False, [0, 1, 2, 3])
    # Feed teacher layer 0's output through student layer 0 (= teacher layer 1).
    from classifier.backbones.packing import PackedPlan

    lengths = x["padding_mask"].sum(axis=1)
    plan = PackedPlan.from_row_lengths(lengths)
    rows = int(plan.num_rows)
    start = teacher_states[0]
    start = np.concatenate([start, np.zeros((rows - start.shape[0], start.shape[1]), "float32")])
    block = student.backbone.transformer_layers[0]
    out = block(start, None, training=False, layer_index=0, packed=plan)
    np.testing.assert_allclose(
        np.asarray(out)[: int(plan.num_tokens)], teacher_states[1], rtol=1e-5, atol=1e-5
    )
    logits, states = logits_and_layers(student, x, False, [0, 1])
    np.testing.assert_allclose(np.asarray(logits), np.asarray(student(x)), atol=1e-5)
    assert [s.shape for s in states] == [teacher_states[0].shape] * 2


@pytest.mark.parametrize("kind", ["multiclass", "multilabel"])
def test_soft_target_loss_is_the_tempered_kl_times_t_squared(kind):
    from classifier.heads import make_head

    head = make_head(kind, ("a", "b", "c"))
    rng = np.random.default_rng(0)
    student, teacher = rng.normal(size=(5, 3)) * 2, rng.normal(size=(5, 3)) * 2
    temperature = 3.0
    got = np.asarray(head.soft_target_loss(student, teacher, temperature))
    s, t = student / temperature, teacher / temperature
    if kind == "multiclass":
        p = np.exp(t) / np.exp(t).sum(1, keepdims=True)
        q = np.exp(s) / np.exp(s).sum(1, keepdims=True)
        expected = (p * np.log(p / q)).sum(1)
    else:
        p, q = 1 / (1 + np.exp(-t)), 1 / (1 + np.exp(-s))
        expected = (p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))).mean(1)
    np.testing.assert_allclose(got, expected * temperature**2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(head.soft_target_loss(teacher, teacher, temperature)), 0.0, atol=1e-6
    )


def test_unlabelled_rows_do_not_enter_the_hard_loss(tmp_path):
    """The hard loss is the mean over labelled rows, whatever filler label the others carry."""
    import keras

    from classifier.distillation import Distiller, build_student
    from classifier.distillation.student import student_spec
    from classifier.trained_model import load_trained_model
    from classifier.training.optimizer import create_optimizer

    teacher, spec = load_trained_model(_teacher(tmp_path, layers=2))
    x = _batch(spec.model.vocab_size)
    weights = np.array([1, 1, 0, 0], np.float32)
    losses = []
    for filler in (0, 3):
        keras.utils.set_random_seed(1)
        student = build_student(teacher, student_spec(spec, [1], {}), [1])
        distiller = Distiller(
            student, teacher, spec.head, kd_loss_weight=0.0, hard_label_weight=1.0
        )
        distiller.compile(optimizer=create_optimizer(1e-9, 10, 0.0))
        labels = np.array([1, 2, filler, filler], np.int32)
        losses.append(float(distiller.train_step((x, labels, weights))["hard_loss"]))
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)


def _distill(tmp_path, teacher_dir, task="tsv", **settings):
    from classifier.distillation import DistillConfig, DistillOptions, distill
    from classifier.training.training_config import TrainingConfig
    from processors import get_processor

    data = settings.pop("data_dir", DEMO)
    training = TrainingConfig(
        learning_rate=settings.pop("learning_rate", 3e-3),
        num_train_epochs=settings.pop("epochs", 4),
        train_batch_size=32,
        calibration="none",
    )
    options = DistillOptions(
        teacher_dir=str(teacher_dir),
        output_dir=str(tmp_path / settings.pop("name", "student")),
        unlabeled_files=tuple(settings.pop("unlabeled", ())),
        distill=DistillConfig(**settings),
        training=training,
    )
    return distill(options, get_processor(task)(str(data)))


@pytest.mark.slow
def test_unlabelled_text_alone_teaches_the_student_the_teacher(tmp_path, trained_teacher):
    """No gold label is used: a one-layer student started from the bottom layer of a
    fine-tuned 4-layer teacher comes to predict what the teacher predicts on dev texts it
    never saw (the divergence falls; the argmax agrees)."""
    from classifier.inference import predict_logits
    from classifier.trained_model import load_trained_model
    from classifier.training.data import encode_examples
    from processors import get_processor

    data = tmp_path / "data"
    data.mkdir()
    # Labels only: no gold label reaches the student, and no dev set picks its epoch.
    (data / "labels.txt").write_bytes((DEMO / "labels.txt").read_bytes())
    unlabeled = tmp_path / "unlabeled.txt"
    rows = (DEMO / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    unlabeled.write_text("\n".join(r.split("\t")[1] for r in rows) + "\n", encoding="utf-8")

    teacher, spec = load_trained_model(trained_teacher)
    dev = get_processor("tsv")(str(DEMO)).get_dev_examples()
    encoded = encode_examples(spec.text_encoder(trained_teacher / "vocab.txt"), dev, spec)
    teacher_logits = predict_logits(teacher, encoded, 64)
    assert (teacher_logits.argmax(1) == encoded.labels).mean() > 0.9  # worth learning from

    def divergence_and_agreement(folder):
        model, _ = load_trained_model(folder)
        logits = predict_logits(model, encoded, 64)
        kl = float(np.mean(spec.head.soft_target_loss(logits, teacher_logits, 1.0)))
        return kl, float((logits.argmax(1) == teacher_logits.argmax(1)).mean())

    settings = dict(data_dir=data, unlabeled=[unlabeled], student_layers=(0,), temperature=1.0)
    before = _distill(
        tmp_path, trained_teacher, epochs=0.01, learning_rate=1e-9, name="start", **settings
    )
    summary = _distill(tmp_path, trained_teacher, epochs=6, **settings)
    assert before["labelled_rows"] == 0 and summary["unlabelled_rows"] == len(rows)
    (kl_start, _), (kl_end, agreement) = (
        divergence_and_agreement(tmp_path / "start"),
        divergence_and_agreement(tmp_path / "student"),
    )
    assert kl_end < 0.1 * kl_start, (kl_start, kl_end)
    assert agreement >= 0.95, agreement


def test_hidden_loss_pulls_the_student_layers_toward_the_teachers(tmp_path):
    teacher_dir = _teacher(tmp_path, layers=4)
    summary = _distill(
        tmp_path,
        teacher_dir,
        student_layers=(1, 3),
        hidden_loss_weight=1.0,
        hard_label_weight=0.5,
        epochs=3,
    )
    hidden = summary["loss_history"]["hidden_loss"]
    assert hidden[-1] < hidden[0], hidden
    assert summary["teacher_layers"] == [1, 3]
    spec = json.loads((tmp_path / "student" / "classifier_config.json").read_text())
    assert spec["model"]["num_hidden_layers"] == 2
    assert spec["base_model"]["teacher_layers"] == [1, 3]


def test_a_multilabel_teacher_distils_with_unlabelled_rows(tmp_path):
    """Multi-hot labels, filler rows for unlabelled text, thresholds fitted for the student."""
    data = ROOT / "data" / "demo_multilabel"
    teacher_dir = _teacher(tmp_path, layers=3, head_kind="multilabel", data=data)
    unlabeled = tmp_path / "more.txt"
    rows = (data / "test.tsv").read_text(encoding="utf-8").splitlines()
    unlabeled.write_text("\n".join(r.split("\t")[1] for r in rows) + "\n", encoding="utf-8")
    summary = _distill(
        tmp_path,
        teacher_dir,
        task="multilabel",
        data_dir=data,
        unlabeled=[unlabeled],
        num_student_layers=1,
        hard_label_weight=0.5,
        epochs=1,
    )
    assert summary["unlabelled_rows"] == len(rows) and summary["labelled_rows"] > 0
    assert "micro_f1" in summary["student_dev"] and summary["teacher_layers"] == [2]
    spec = json.loads((tmp_path / "student" / "classifier_config.json").read_text())
    assert spec["head_kind"] == "multilabel" and len(spec["thresholds"]) == len(spec["labels"])
    with pytest.raises(ValueError, match="holds a multilabel model"):
        _distill(tmp_path, teacher_dir, name="wrong", epochs=1)


def test_bad_layer_choices_and_task_mismatch_are_named(tmp_path):
    teacher_dir = _teacher(tmp_path, layers=2)
    with pytest.raises(ValueError, match=r"--student_layers \[5\]"):
        _distill(tmp_path, teacher_dir, student_layers=(0, 5))
    with pytest.raises(ValueError, match="increasing"):
        _distill(tmp_path, teacher_dir, student_layers=(1, 0))
    assert not (tmp_path / "student").exists()  # nothing written before the checks

    from classifier.distillation.unlabeled import UnlabeledTextError, read_unlabeled

    bad = tmp_path / "bad.txt"
    bad.write_bytes("好的\n".encode() + b"\xff\xfe bad\n")
    with pytest.raises(UnlabeledTextError, match=r"bad.txt:2: not valid UTF-8"):
        read_unlabeled([bad], is_pair=False)
    with pytest.raises(UnlabeledTextError, match=r"bad.txt:1: a pair task"):
        read_unlabeled([bad], is_pair=True)
    with pytest.raises(UnlabeledTextError, match="does not exist"):
        read_unlabeled([tmp_path / "missing.txt"], is_pair=False)


@pytest.mark.slow
def test_distill_sh_writes_a_run_folder_that_exports_and_serves(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    teacher_dir = _teacher(tmp_path, layers=4)
    out = tmp_path / "student"
    command = [
        str(ROOT / "scripts" / "distill.sh"),
        f"--teacher_dir={teacher_dir}",
        f"--data_dir={DEMO}",
        f"--output_dir={out}",
        "--num_student_layers=2",
        "--num_train_epochs=2",
        "--learning_rate=2e-3",
        "--hard_label_weight=0.5",
        "--do_predict",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("eval_results.json", "test_predictions.tsv", "distill_summary.json", "run.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "distill_summary.json").read_text())
    assert summary["teacher_layers"] == [1, 3] and summary["student_num_layers"] == 2
    assert "accuracy" in summary["teacher_dev"] and "accuracy" in summary["student_dev"]

    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 2 and "--overwrite" in again.stderr

    export = tmp_path / "export"
    exported = subprocess.run(
        [str(ROOT / "scripts" / "export.sh"), f"--output_dir={out}", f"--export_dir={export}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    from serving import Predictor
    from tests.support.serving import in_memory_probabilities

    texts = ["这场比赛太精彩了", "股市今天大涨"]
    served = Predictor(export / "1").run(texts)["probabilities"]
    np.testing.assert_allclose(served, in_memory_probabilities(out, texts)[0], atol=1e-5)


def test_distill_sh_names_a_teacher_folder_without_a_model(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "distill.sh"),
            f"--teacher_dir={tmp_path}",
            f"--data_dir={DEMO}",
            f"--output_dir={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2
    assert "holds no trained classifier" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def _distill_sh_flags(teacher_dir: Path, out: Path, learning_rate: str = "2e-3") -> list[str]:
    return [
        f"--teacher_dir={teacher_dir}",
        f"--data_dir={DEMO}",
        f"--output_dir={out}",
        "--num_student_layers=1",
        "--num_train_epochs=2",
        f"--learning_rate={learning_rate}",
        "--hard_label_weight=0.5",
        "--save_checkpoints_steps=7",
        "--keep_checkpoints=2",
        "--do_predict",
    ]


def _distill_outcome(out: Path) -> dict:
    summary = json.loads((out / "distill_summary.json").read_text())
    return {
        "eval": json.loads((out / "eval_results.json").read_text()),
        "predictions": (out / "test_predictions.tsv").read_text(),
        "dev_history": summary["dev_history"],
        "best_epoch": summary["best_epoch"],
        "steps_done": summary["steps_done"],
        "config": json.loads((out / "classifier_config.json").read_text()),
        "loss_history": {
            name: [round(value, 4) for value in values]
            for name, values in summary["loss_history"].items()
        },
    }


@pytest.mark.slow
def test_a_killed_distill_sh_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL mid-epoch 2 (600 demo rows, batches of 32: 19 steps an epoch, checkpoints every
    7): the same command goes on from step 21 and ends where a run never interrupted ends;
    other settings are refused naming the difference; a finished run keeps no checkpoints."""
    env = {**os.environ, "PYTHON": sys.executable}
    teacher_dir = _teacher(tmp_path, layers=2, hidden=32)

    def distill_sh(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "scripts" / "distill.sh"), *flags],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    whole = tmp_path / "whole"
    result = distill_sh(*_distill_sh_flags(teacher_dir, whole))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((whole / "distill_summary.json").read_text())["resumes"] == []

    out = tmp_path / "killed"
    killed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.killed_run",
            "batch:26",
            "scripts.distill",
            *_distill_sh_flags(teacher_dir, out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoints").is_dir()

    refused = distill_sh(*_distill_sh_flags(teacher_dir, out, learning_rate="1e-3"))
    assert refused.returncode == 2 and "unfinished run of another configuration" in refused.stderr
    assert "learning_rate" in refused.stderr and "Traceback" not in refused.stderr

    resumed = distill_sh(*_distill_sh_flags(teacher_dir, out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from step 21 of 38" in resumed.stderr
    summary = json.loads((out / "distill_summary.json").read_text())
    assert summary["resumed_from_step"] == 21 and summary["resumes"] == [21]
    assert _distill_outcome(out) == _distill_outcome(whole)
    assert not (out / "checkpoints").exists()


def test_the_default_student_fits_any_teacher():
    from classifier.distillation.config import DistillConfig

    config = DistillConfig()
    assert [config.student_depth(n) for n in (1, 2, 3, 4, 12, 24)] == [1, 1, 2, 3, 3, 3]
    assert DistillConfig(num_student_layers=5).student_depth(12) == 5
