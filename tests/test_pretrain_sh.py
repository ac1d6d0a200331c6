"""pretrain.sh end to end at tiny size: loss falls, the output folder loads into train.sh and
transformers, runs resume after a kill, bad inputs get clear errors and write nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "这家餐厅的菜太难吃了，服务也很差。",
    "苹果发布了新款手机，价格很高。",
    "中国足球队在比赛中获得了冠军。",
    "股票市场今天大涨，投资者非常高兴。",
    "学校的老师和学生都去参加考试了。",
    "北京的交通很拥挤，我们坐地铁吧。",
    "这部电影的导演和演员都很有名。",
]


def write_corpus(path: Path, documents: int = 240, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(documents):  # one document per line, two or three sentences each
        picks = rng.choice(len(SENTENCES), size=int(rng.integers(2, 4)))
        lines.append("".join(SENTENCES[i] for i in picks))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.txt")


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab(extra_texts=SENTENCES)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(tmp_path_factory.mktemp("bert"), vocab, config, seed=1)


def pretrain(*flags: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "pretrain.sh"), *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def common(corpus: Path, out: Path, steps: int = 40) -> list[str]:
    return [
        f"--input_file={corpus}",
        f"--output_dir={out}",
        f"--num_train_steps={steps}",
        "--save_checkpoints_steps=20",
        "--log_every_steps=20",
        "--train_batch_size=16",
        "--learning_rate=2e-3",
        "--max_seq_length=64",
        "--eval_fraction=0.1",
    ]


def summary(out: Path) -> dict:
    return json.loads((out / "pretrain_summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def continued(corpus, bert_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("continued") / "run"
    result = pretrain(*common(corpus, out, steps=60), f"--model_dir={bert_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_continued_pretraining_lowers_the_held_out_mlm_loss(continued):
    out, result = continued
    figures = summary(out)
    assert figures["head"] == "checkpoint"  # Google's cls/predictions/* was loaded
    assert figures["no_next_sentence_prediction"] is True
    history = figures["history"]
    assert [h["step"] for h in history] == [20, 40, 60]
    assert history[-1]["eval_loss"] < history[0]["eval_loss"] - 0.5, history
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.5, history
    assert history[-1]["tokens_seen"] > 60 * 16 * 10
    assert "tokens/s" in result.stderr and "held-out mlm loss" in result.stderr


def test_output_folder_loads_into_train_sh(continued, tmp_path):
    out, _ = continued
    data = tmp_path / "data"
    data.mkdir()
    rows = [f"{'pos' if i % 2 else 'neg'}\t{SENTENCES[i % len(SENTENCES)]}" for i in range(40)]
    for split in ("train", "dev"):
        (data / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "train.sh"),
            "--do_train",
            "--do_eval",
            f"--data_dir={data}",
            f"--model_dir={out}",
            f"--output_dir={tmp_path / 'clf'}",
            "--num_train_epochs=1",
            "--learning_rate=1e-3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped 0 optimizer slots and 5 pretraining-head tensors" in result.stderr
    assert (tmp_path / "clf" / "eval_results.json").is_file()


def test_pretraining_again_from_the_output_continues_with_its_head(continued, corpus, tmp_path):
    out, _ = continued
    again = tmp_path / "again"
    result = pretrain(*common(corpus, again, steps=20), f"--model_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    first = summary(out)["final_eval"]["loss"]
    assert summary(again)["head"] == "checkpoint"
    # It starts where the first run ended, not from a fresh head.
    assert summary(again)["history"][0]["eval_loss"] < first + 0.5


def test_from_scratch_with_built_vocab_writes_a_transformers_masked_lm(corpus, tmp_path):
    vocab = tmp_path / "vocab.txt"
    config = tmp_path / "bert_config.json"
    built = subprocess.run(
        [
            str(ROOT / "scripts" / "build_vocab.sh"),
            f"--input_file={corpus}",
            f"--output_file={vocab}",
            "--vocab_size=300",
            f"--config_file={config}",
            "--model_size=tiny",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    size = len(vocab.read_text(encoding="utf-8").splitlines())
    written = json.loads(config.read_text(encoding="utf-8"))
    assert written["vocab_size"] == size  # the config fits the vocab it was written with
    assert (written["num_hidden_layers"], written["hidden_size"]) == (2, 128)
    out = tmp_path / "scratch"
    result = pretrain(
        *common(corpus, out, steps=20),
        f"--bert_config_file={config}",
        f"--vocab_file={vocab}",
        "--output_format=hf",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(out)["head"] == "initialised"
    assert {"config.json", "model.safetensors", "vocab.txt"} <= {p.name for p in out.iterdir()}

    from transformers import BertForMaskedLM

    model, info = BertForMaskedLM.from_pretrained(out, output_loading_info=True)
    assert info["missing_keys"] == set() or info["missing_keys"] == []
    assert model.config.architectures == ["BertForMaskedLM"]


def test_mlm_head_matches_transformers_bert_and_albert(tmp_path):
    """Our logits at masked positions equal BertForMaskedLM's / AlbertForMaskedLM's (1e-4) on
    the same random weights, through a TF1 head load and our HF writer."""
    import torch
    from transformers import AutoModelForMaskedLM

    from classifier.checkpoints.loader import load_pretrained
    from classifier.checkpoints.tiny import tiny_albert_config, tiny_bert_config, write_tiny_folder
    from classifier.pretraining.mlm_model import load_masked_lm
    from classifier.pretraining.run import write_model_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab()
    for family, config, scheme in (
        ("bert", tiny_bert_config(len(vocab), 2, 64), "google_bert_tf1"),
        ("albert", tiny_albert_config(len(vocab), 2, 64, 32), "google_albert_tf1"),
    ):
        folder = write_tiny_folder(tmp_path / family, vocab, config, scheme, seed=3)
        model, loaded = load_masked_lm(folder)
        assert loaded
        pretrained = load_pretrained(folder)
        hf_dir = write_model_folder(
            tmp_path / f"{family}_hf", model, pretrained.config, pretrained.files.vocab_file, "hf"
        )
        reference, info = AutoModelForMaskedLM.from_pretrained(hf_dir, output_loading_info=True)
        assert not info["missing_keys"], info
        reference.eval()
        rng = np.random.default_rng(0)
        ids = rng.integers(106, len(vocab), (3, 16)).astype("int32")
        ids[:, 0], ids[:, -1] = 101, 102
        mask = np.ones_like(ids)
        mask[2, 10:] = 0
        positions = np.array([[1, 3, 5], [2, 4, 6], [1, 2, 9]], "int32")
        ours = model(
            {
                "token_ids": ids,
                "segment_ids": np.zeros_like(ids),
                "padding_mask": mask,
                "masked_positions": positions,
            },
            training=False,
        ).numpy()
        with torch.no_grad():
            logits = reference(
                input_ids=torch.from_numpy(ids.astype("int64")),
                attention_mask=torch.from_numpy(mask.astype("int64")),
            ).logits.numpy()
        expected = np.take_along_axis(logits, positions[:, :, None].astype("int64"), axis=1)
        np.testing.assert_allclose(ours, expected, atol=1e-4, err_msg=family)


def test_hugging_face_heads_load_under_their_names(tmp_path):
    from classifier.checkpoints.tiny import tiny_albert_config, tiny_bert_config, write_tiny_folder
    from classifier.pretraining.mlm_model import load_masked_lm
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab()
    bert = write_tiny_folder(
        tmp_path / "b", vocab, tiny_bert_config(len(vocab)), "hf_bert", hf_prefix="bert."
    )
    albert = write_tiny_folder(
        tmp_path / "a",
        vocab,
        tiny_albert_config(len(vocab), 2, 64, 32),
        "hf_albert",
        hf_prefix="albert.",
    )
    plain = write_tiny_folder(tmp_path / "p", vocab, tiny_bert_config(len(vocab)), "hf_bert")
    assert load_masked_lm(bert)[1] and load_masked_lm(albert)[1]
    assert not load_masked_lm(plain)[1]  # BertModel weights: no head, a new one


def test_a_killed_run_resumes_from_its_last_checkpoint(corpus, bert_dir, tmp_path):
    out = tmp_path / "killed"
    flags = [*common(corpus, out, steps=60), f"--model_dir={bert_dir}"]
    flags = [
        f if not f.startswith("--save_checkpoints") else "--save_checkpoints_steps=10"
        for f in flags
    ]
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "pretrain.sh"), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not (out / "checkpoints" / "ckpt-20.index").is_file():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "bert_config.json").exists()  # no model folder from a killed run

    refused = pretrain(*[f if "learning_rate" not in f else "--learning_rate=1e-3" for f in flags])
    assert refused.returncode == 2
    assert "unfinished run of another configuration" in refused.stderr
    assert "learning_rate: 0.002 -> 0.001" in refused.stderr

    resumed = pretrain(*flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    figures = summary(out)
    assert figures["resumed_from_step"] >= 20
    assert figures["resumes"] == [figures["resumed_from_step"]]
    assert f"resuming from step {figures['resumed_from_step']}" in resumed.stderr
    assert figures["steps_done"] == 60
    assert [h["step"] for h in figures["history"]] == [10, 20, 30, 40, 50, 60]

    again = pretrain(*flags)
    assert again.returncode == 2 and "holds a finished run" in again.stderr


def test_a_run_killed_while_writing_its_model_resumes_to_the_same_result(
    continued, corpus, bert_dir, tmp_path
):
    """Killed after the model folder is written but before the run is marked finished (the
    4th summary write of 60 steps saved every 20): rerun, it ends as the uninterrupted run."""
    out = tmp_path / "run"
    flags = [*common(corpus, out, steps=60), f"--model_dir={bert_dir}"]
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", "write:pretrain_summary.json:4"]
        + ["scripts.pretrain", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert json.loads((out / "run.json").read_text())["finished"] is False
    resumed = pretrain(*flags)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    figures, whole = summary(out), summary(continued[0])
    assert figures["resumed_from_step"] == 60
    assert figures["history"] == whole["history"]
    assert figures["final_eval"] == whole["final_eval"]
    assert not list(out.rglob("*.tmp"))


def test_gradient_accumulation_counts_batches(corpus, bert_dir, tmp_path):
    """--gradient_accumulation_steps 2: 40 batches make 20 updates; steps, checkpoints and
    the stop all count batches."""
    out = tmp_path / "run"
    result = pretrain(
        *common(corpus, out, steps=40), f"--model_dir={bert_dir}", "--gradient_accumulation_steps=2"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = summary(out)
    assert figures["steps_done"] == 40
    assert [h["step"] for h in figures["history"]] == [20, 40]


def test_resumed_data_stream_continues_exactly(corpus, tmp_path):
    """The batches after skipping k steps' sequences are the uninterrupted stream's."""
    from classifier.pretraining.data import DataSettings, prepare_data, training_batches
    from classifier.pretraining.masking import MaskingConfig
    from classifier.pretraining.words import WordPieceWords
    from classifier.text.tokenizer import FullTokenizer
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab(extra_texts=SENTENCES)
    words = WordPieceWords(FullTokenizer(vocab))
    settings = DataSettings((str(corpus),), "x", True, 64, "whole_word", sequences_per_shard=100)
    manifest = prepare_data(tmp_path, settings, words)
    assert len(manifest.train_shards) > 1
    config = MaskingConfig(mask_id=vocab.index("[MASK]"), random_ids=tuple(range(200, 300)))
    full = list(training_batches(tmp_path, manifest, 8, config, seed=3).take(5))
    resumed = list(
        training_batches(tmp_path, manifest, 8, config, seed=3, skip_sequences=24).take(2)
    )
    for a, b in zip(full[3:], resumed[:2], strict=False):
        for x, y in zip([*a[0].values(), a[1], a[2]], [*b[0].values(), b[1], b[2]], strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_bad_inputs_stop_with_a_message_and_write_nothing(corpus, bert_dir, tmp_path):
    out = tmp_path / "never"
    result = pretrain(
        f"--input_file={tmp_path}/*.nothing", f"--output_dir={out}", f"--model_dir={bert_dir}"
    )
    assert result.returncode == 2
    assert "--input_file" in result.stderr and "matches no file" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()

    scratch = pretrain(f"--input_file={corpus}", f"--output_dir={out}")
    assert scratch.returncode == 2 and "--bert_config_file and --vocab_file" in scratch.stderr

    bad = tmp_path / "bad.txt"
    bad.write_bytes("好的\n".encode() + b"\xffbroken\n")
    result = pretrain(f"--input_file={bad}", f"--output_dir={out}", f"--model_dir={bert_dir}")
    assert result.returncode == 2 and "bad.txt:2: not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_flags_match_run_pretraining_names():
    from scripts.pretrain import build_parser

    flags = {a for action in build_parser()._actions for a in action.option_strings}
    expected = {
        "--input_file",
        "--output_dir",
        "--max_seq_length",
        "--train_batch_size",
        "--learning_rate",
        "--num_train_steps",
        "--num_warmup_steps",
        "--save_checkpoints_steps",
        "--max_predictions_per_seq",
        "--masked_lm_prob",
        "--bert_config_file",
        "--config_file",
        "--vocab_file",
        "--model_dir",
        "--jieba_user_dict",
        "--masking",
        "--bf16",
        "--output_format",
    }
    assert expected <= flags


def test_default_learning_rate_follows_the_start_and_the_model_size():
    from classifier.config import ModelConfig
    from classifier.pretraining.run import PretrainOptions, default_learning_rate

    def config(hidden: int) -> ModelConfig:
        return ModelConfig(vocab_size=100, hidden_size=hidden, num_attention_heads=2)

    scratch = PretrainOptions(input_file="c.txt", output_dir="o", config_file="b.json")
    assert default_learning_rate(scratch, config(128)) == 1e-3
    assert default_learning_rate(scratch, config(256)) == 5e-4
    assert default_learning_rate(scratch, config(768)) == 1e-4
    continued = PretrainOptions(input_file="c.txt", output_dir="o", model_dir="bert")
    assert default_learning_rate(continued, config(128)) == 1e-4
    adapter = PretrainOptions(
        input_file="c.txt", output_dir="o", model_dir="bert", knowledge_task="tagging"
    )
    assert default_learning_rate(adapter, config(128)) == 1e-4
    with pytest.raises(ValueError, match="--learning_rate"):
        PretrainOptions(input_file="c.txt", output_dir="o", learning_rate=0.0)
