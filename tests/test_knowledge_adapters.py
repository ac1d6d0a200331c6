"""K-Adapter at tiny size: tagging data, knowledge infusion (phase 1) and knowledge adapters
beside a fine-tuned or frozen backbone (phase 2): frozen adapters stay bitwise unchanged, the
export serves what the in-memory model predicts, another base is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.support.serving import in_memory_probabilities

pytestmark = pytest.mark.slow  # runs scripts in subprocesses or trains for long

ROOT = Path(__file__).resolve().parent.parent

TAGGED = [
    "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n  ——/w  一九九八年/t  新年/t  讲话/n  。/w",
    "中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr  发表/v  讲话/n  。/w",
    "[中央/n  人民/n  广播/vn  电台/n]nt  向/p  全国/n  人民/n  致以/v  问候/vn  ！/w",
    "北京/ns  的/u  天气/n  很/d  好/a  ，/w  我们/r  去/v  公园/n  散步/v  吧/y  。/w",
]


def test_tagged_lines_become_place_and_tag_labels_per_token(tmp_path):
    from classifier.pretraining.tagging_data import LabelSet, encode_sentence, parse_tagged_line
    from classifier.text.tokenizer import FullTokenizer
    from classifier.text.vocab import build_tiny_chinese_vocab

    pairs = parse_tagged_line(TAGGED[2], tmp_path / "x.txt", 3)
    assert pairs[:4] == [("中央", "n"), ("人民", "n"), ("广播", "vn"), ("电台", "n")]
    tokenizer = FullTokenizer(build_tiny_chinese_vocab(extra_texts=["".join(w for w, _ in pairs)]))
    labels = LabelSet()
    ids, tags = encode_sentence(
        parse_tagged_line(TAGGED[3], tmp_path / "x.txt", 4), tokenizer, labels
    )
    names = [labels.names[t] for t in tags]
    assert len(ids) == len(names)
    assert names[:5] == ["B-ns", "E-ns", "S-u", "B-n", "E-n"]  # 北京 的 天气
    assert names[-2:] == ["S-y", "S-w"]


def test_a_line_that_is_not_word_slash_tag_names_file_and_line(tmp_path):
    from classifier.pretraining.corpus import CorpusError
    from classifier.pretraining.tagging_data import tagged_sentences

    path = tmp_path / "tagged.txt"
    path.write_text(TAGGED[0] + "\n\n这一行没有词性标注\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"tagged\.txt:3: .* is not word/tag"):
        list(tagged_sentences(path))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny random BERT whose vocab covers the demo data and the tagged lines."""
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "data" / "demo").glob("*.tsv")]
    texts += ["".join(t.split("/")[0] for t in line.split()) for line in TAGGED]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(tmp_path_factory.mktemp("base"), vocab, config, seed=5)


def infuse(base: Path, out: Path, task: str, corpus: Path, steps: int = 30) -> dict:
    from classifier.adapters import KAdapterConfig
    from classifier.pretraining.run import PretrainOptions, run_pretraining

    options = PretrainOptions(
        input_file=str(corpus),
        output_dir=str(out),
        model_dir=str(base),
        max_seq_length=64,
        train_batch_size=8,
        learning_rate=3e-3,
        num_train_steps=steps,
        save_checkpoints_steps=15,
        log_every_steps=15,
        eval_fraction=0.2,
        knowledge_task=task,
        adapter_config=KAdapterConfig(size=16, num_transformer_layers=1, layers=(0, 1)),
    )
    return run_pretraining(options)


@pytest.fixture(scope="module")
def adapters(base, tmp_path_factory):
    folder = tmp_path_factory.mktemp("knowledge")
    tagged = folder / "tagged.txt"
    rng = np.random.default_rng(0)
    words = sorted({token.strip("[]") for line in TAGGED for token in line.split()} - {"。/w"})
    lines = [
        "  ".join(rng.choice(words, int(rng.integers(5, 12)))) + "  。/w" for _ in range(300)
    ]  # distinct paragraphs, so that the held-out ones are new text of the same kind
    tagged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = folder / "domain.txt"
    demo = (ROOT / "data" / "demo" / "train.tsv").read_text(encoding="utf-8").splitlines()
    text.write_text("\n".join(row.split("\t", 1)[1] for row in demo) + "\n", encoding="utf-8")
    tagging = infuse(base, folder / "tagging", "tagging", tagged)
    mlm = infuse(base, folder / "mlm", "mlm", text)
    return folder / "tagging", folder / "mlm", tagging, mlm


def test_infusion_learns_its_task_and_saves_an_adapter_for_its_base(adapters, base):
    from classifier.adapter_config.saved_knowledge import read_knowledge_config
    from classifier.adapters import base_fingerprint
    from classifier.checkpoints import load_backbone

    tagging_dir, mlm_dir, tagging, mlm = adapters
    history = tagging["history"]
    assert history[-1]["eval_loss"] < history[0]["eval_loss"]
    assert history[-1]["eval_accuracy"] > 0.3
    assert "S-w" in tagging["labels"]
    assert mlm["head"] == "checkpoint" and mlm["task"] == "mlm"
    saved = read_knowledge_config(tagging_dir / "knowledge_adapter")
    assert saved["task"]["name"] == "tagging"
    assert saved["adapter"]["layers"] == [0, 1] and saved["adapter"]["count"] == 1
    assert saved["base_fingerprint"] == base_fingerprint(load_backbone(base))
    assert not (tagging_dir / "bert_config.json").exists()  # the base model is not rewritten


def train_sh(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "train.sh"), *flags], capture_output=True, text=True, timeout=900
    )


@pytest.mark.parametrize(
    "task,data,extra",
    [
        ("tsv", "data/demo", []),
        ("multilabel", "data/demo_multilabel", ["--freeze_backbone"]),
    ],
)
def test_knowledge_adapters_beside_the_backbone_train_export_and_stay_frozen(
    adapters, base, tmp_path, task, data, extra
):
    tagging_dir, mlm_dir, _, _ = adapters
    out = tmp_path / "run"
    result = train_sh(
        f"--task_name={task}",
        "--do_train",
        "--do_eval",
        f"--data_dir={ROOT / data}",
        f"--model_dir={base}",
        f"--output_dir={out}",
        f"--knowledge_adapters={tagging_dir},{mlm_dir}",
        "--num_train_epochs=2",
        "--learning_rate=2e-3",
        *extra,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    from classifier.checkpoints import load_backbone
    from classifier.trained_model import load_trained_model

    model, spec = load_trained_model(out)
    assert spec.adapter["kind"] == "knowledge" and len(spec.adapter["members"]) == 2
    knowledge = model.backbone.adapter
    assert model.head.dense.kernel.shape[0] == 32 * 3  # backbone + two knowledge features
    for m, folder in enumerate((tagging_dir, mlm_dir)):
        saved = load_file(str(folder / "knowledge_adapter" / "knowledge_adapter.safetensors"))
        for key, layer in knowledge.named_layers().items():
            if key.startswith(f"member{m}_"):
                stem = key[len(f"member{m}_") :]
                for i, variable in enumerate(layer.weights):
                    np.testing.assert_array_equal(
                        np.asarray(variable), saved[f"{stem}/{i:02d}.{variable.name}"]
                    )
    base_weights = load_backbone(base).weights
    changed = [
        not np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(model.backbone.backbone.weights, base_weights, strict=True)
    ]
    if "--freeze_backbone" in extra:
        assert not any(changed)
    else:
        assert any(changed)  # fully fine-tuned beside the adapters

    exported = tmp_path / "export"
    result = subprocess.run(
        [str(ROOT / "scripts" / "export.sh"), f"--output_dir={out}", f"--export_dir={exported}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from serving import Predictor

    texts = ["北京的天气很好", "股票市场今天大涨，投资者非常高兴。", "好"]
    predictor = Predictor(exported / "1")
    served = np.array([[p.probabilities[n] for n in spec.labels] for p in predictor.predict(texts)])
    expected, _, _ = in_memory_probabilities(out, texts)
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_a_knowledge_adapter_from_another_base_is_refused(adapters, tmp_path):
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab()
    other = write_google_bert_folder(
        tmp_path / "other", vocab, tiny_bert_config(len(vocab), 2, 32), seed=99
    )
    out = tmp_path / "never"
    result = train_sh(
        "--do_train",
        f"--data_dir={ROOT / 'data' / 'demo'}",
        f"--model_dir={other}",
        f"--output_dir={out}",
        f"--knowledge_adapters={adapters[0]}",
    )
    assert result.returncode == 2
    assert "was infused on base model" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()

    missing = train_sh(
        "--do_train",
        f"--data_dir={ROOT / 'data' / 'demo'}",
        f"--model_dir={other}",
        f"--output_dir={out}",
        f"--knowledge_adapters={tmp_path}",
    )
    assert missing.returncode == 2 and "holds no knowledge adapter" in missing.stderr
