"""Shared fixtures: tiny checkpoints in the real release formats, written once per session."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest  # noqa: E402

CHINESE_SAMPLES = [
    "今天天气很好，我们去公园散步吧！",
    "这家餐厅的菜太难吃了，服务也很差。",
    "苹果发布了新款iPhone手机",
    "中國的繁體字也應該被正確處理。",
    "2019年NBA总决赛",
    "好",
]


def tiny_vocab() -> list[str]:
    from classifier.text.vocab import build_tiny_chinese_vocab

    return build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES)


@pytest.fixture(scope="session")
def google_bert_dir(tmp_path_factory):
    """A Google-format BERT folder with random weights everywhere (biases and LayerNorm too)."""
    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder

    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=64)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("google_bert"), vocab, config, seed=7, randomize=True
    )


# === Model zoo: every checkpoint naming scheme, tiny and random everywhere ===
# (classifier.checkpoints parity, detection, conversion and preset tests share these.)

ZOO_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def zoo_vocab() -> list[str]:
    """Special tokens, ASCII letters and digits, and every character of CHINESE_SAMPLES."""
    chars = sorted({c for text in CHINESE_SAMPLES for c in text.lower()} - {" "})
    ascii_ = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    return ZOO_SPECIAL_TOKENS + sorted(set(chars) | set(ascii_))


def padded_batch(vocab_size: int, seed: int = 0):
    """token_ids, segment_ids, padding_mask [4, 12]: three rows padded, two with a second segment."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = [12, 9, 5, 3]
    token_ids = np.zeros((4, 12), np.int32)
    segment_ids = np.zeros_like(token_ids)
    mask = np.zeros_like(token_ids)
    for row, length in enumerate(lengths):
        token_ids[row, :length] = rng.integers(5, vocab_size, length)
        token_ids[row, 0], token_ids[row, length - 1] = 2, 3  # [CLS] ... [SEP]
        mask[row, :length] = 1
        if row < 2:
            segment_ids[row, length // 2 : length] = 1
    return token_ids, segment_ids, mask


def our_outputs(model_dir, batch, **kwargs):
    """sequence_output and pooled_output of our backbone loaded from ``model_dir``."""
    import numpy as np

    import classifier

    token_ids, segment_ids, mask = batch
    backbone = classifier.load_backbone(model_dir, **kwargs)
    out = backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, training=False
    )
    return np.asarray(out["sequence_output"]), np.asarray(out["pooled_output"])


def report_diffs(label: str, ours, reference) -> tuple[float, float]:
    """Max abs differences of (sequence, pooled), printed for the record (pytest -s)."""
    import numpy as np

    seq = float(np.abs(ours[0] - reference[0]).max())
    pooled = float(np.abs(ours[1] - reference[1]).max())
    scale = float(np.abs(reference[0]).max())
    print(
        f"\n[parity] {label}: max abs diff sequence_output {seq:.2e}, pooled_output {pooled:.2e}"
        f" (max |sequence_output| {scale:.1f})"
    )
    # Random weights everywhere make activations O(1); a wrong mapping gives O(1) errors.
    assert np.abs(reference[0]).mean() > 0.1
    return seq, pooled


@pytest.fixture(scope="session")
def zoo_dirs(tmp_path_factory):
    """name -> folder, one per scheme variant, in the exact file layout of a real release."""
    import dataclasses

    from classifier.checkpoints.tiny import tiny_albert_config, tiny_bert_config, write_tiny_folder
    from classifier.checkpoints.writer import FolderLayout
    from classifier.config import GELU_EXACT

    vocab = zoo_vocab()
    size = len(vocab)
    bert = tiny_bert_config(size, num_layers=2, hidden_size=64)
    hf_bert = dataclasses.replace(bert, hidden_act=GELU_EXACT)  # HF "gelu" is the erf form
    albert = tiny_albert_config(size, num_layers=3, hidden_size=64, embedding_size=32)
    brightmart_layout = FolderLayout("albert_config_tiny.json", "albert_model.ckpt")
    variants = {
        "google_bert_tf1": (bert, "google_bert_tf1", {"optimizer_slots": True}),
        "google_albert_tf1": (albert, "google_albert_tf1", {}),
        "google_albert_tf1_grouped": (
            tiny_albert_config(size, 4, 32, 16, num_hidden_groups=2, inner_group_num=2),
            "google_albert_tf1",
            {"optimizer_slots": True},
        ),
        "google_albert_tf1_sparse_groups": (
            tiny_albert_config(size, 2, 32, 16, num_hidden_groups=4),
            "google_albert_tf1",
            {},
        ),
        "brightmart_albert_tf1": (albert, "brightmart_albert_tf1", {"layout": brightmart_layout}),
        "brightmart_albert_tf1_preln": (
            dataclasses.replace(albert, ln_type="preln"),
            "brightmart_albert_tf1",
            {"layout": brightmart_layout},
        ),
        "hf_bert": (hf_bert, "hf_bert", {}),
        "hf_bert_prefixed_legacy": (
            hf_bert,
            "hf_bert",
            {"hf_prefix": "bert.", "legacy_layer_norm": True},
        ),
        "hf_bert_sharded": (hf_bert, "hf_bert", {"num_shards": 3}),
        "hf_albert": (albert, "hf_albert", {}),
        "hf_albert_prefixed": (albert, "hf_albert", {"hf_prefix": "albert."}),
    }
    root = tmp_path_factory.mktemp("zoo")
    return {
        name: write_tiny_folder(root / name, vocab, config, scheme, seed=seed, **kwargs)
        for seed, (name, (config, scheme, kwargs)) in enumerate(variants.items())
    }


# === Serving: tiny classifiers trained-in-form (random weights), exported once per session ===
# (export, serving, REPL, HTTP and browser tests share these.)

SERVING_TEXTS = [
    "中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",
    "5G基站总数突破117万个，多模态AI模型应用加速落地",
    "网络综艺《歌手之夜》播放量破3.2亿，观众好评如潮",
    "央行宣布降准0.5个百分点，A股三大指数集体高开",
    "Hello世界 naïve Ωmega 123",
    "物流很快，隔天就到，售后态度很差",
]


def write_serving_output_dir(
    root,
    *,
    head_kind: str,
    is_pair: bool,
    labels: tuple[str, ...],
    thresholds: tuple[float, ...] | None = None,
    max_seq_length: int = 32,
    seed: int = 0,
):
    """A training output folder (classifier_config.json, weights, vocab, labels) holding a tiny
    random classifier: what train.sh writes, in a second instead of a training run."""
    from pathlib import Path

    import keras

    from classifier.checkpoints.tiny import randomize_weights, tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
    from classifier.trained_model import build_classifier, save_trained_model

    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    vocab = build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES + SERVING_TEXTS)
    write_vocab(out / "source_vocab.txt", vocab)
    keras.utils.set_random_seed(seed)
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab), num_layers=2, hidden_size=32),
        labels=labels,
        head_kind=head_kind,
        is_pair=is_pair,
        max_seq_length=max_seq_length,
        thresholds=thresholds,
        task_name="pair" if is_pair else ("multilabel" if head_kind == "multilabel" else "tsv"),
    )
    model = build_classifier(spec)
    randomize_weights(model, seed, scale=0.3)
    save_trained_model(out, model, spec, out / "source_vocab.txt")
    return out


@pytest.fixture(scope="session")
def serving_models(tmp_path_factory):
    """name -> SimpleNamespace(output_dir, export_dir, version_dir, export_stdout).

    "multiclass": single texts, 4 labels, exported by scripts/export.sh (its stdout kept);
    "multilabel_pair": text pairs, 3 labels with tuned-style thresholds, exported in-process.
    """
    import subprocess
    from pathlib import Path
    from types import SimpleNamespace

    from export import export_trained_model

    root = tmp_path_factory.mktemp("serving_models")
    repo = Path(__file__).resolve().parent.parent
    models = {}

    out = write_serving_output_dir(
        root / "multiclass_output",
        head_kind="multiclass",
        is_pair=False,
        labels=("体育", "财经", "科技", "娱乐"),
        seed=1,
    )
    export_dir = root / "multiclass_export"
    # scripts/export.sh runs in its own process while the second model exports here.
    cli_log = open(root / "export_sh.log", "w+", encoding="utf-8")  # noqa: SIM115
    cli = subprocess.Popen(
        [
            str(repo / "scripts/export.sh"),
            "--output_dir",
            str(out),
            "--export_dir",
            str(export_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=cli_log,
        text=True,
    )
    models["multiclass"] = SimpleNamespace(
        output_dir=out, export_dir=export_dir, version_dir=export_dir / "1", export_stdout=None
    )

    out = write_serving_output_dir(
        root / "multilabel_pair_output",
        head_kind="multilabel",
        is_pair=True,
        labels=("物流", "质量", "服务"),
        thresholds=(0.25, 0.4, 0.45),
        max_seq_length=24,
        seed=2,
    )
    export_dir = root / "multilabel_pair_export"
    result = export_trained_model(out, export_dir)
    models["multilabel_pair"] = SimpleNamespace(
        output_dir=out, export_dir=export_dir, version_dir=result.path, export_stdout=None
    )
    stdout, _ = cli.communicate(timeout=300)
    cli_log.close()
    assert cli.returncode == 0, (root / "export_sh.log").read_text()[-3000:]
    models["multiclass"].export_stdout = stdout
    return models


class ServerProcess:
    """scripts/serve.sh as a real process on 127.0.0.1 and a free port (--port 0)."""

    def __init__(self, export_dir, log_path, *args: str, timeout: float = 180.0) -> None:
        import queue
        import re
        import subprocess
        import threading
        import time
        from pathlib import Path

        repo = Path(__file__).resolve().parent.parent
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        cmd = [str(repo / "scripts/serve.sh"), "--export_dir", str(export_dir), "--port", "0"]
        self.proc = subprocess.Popen(
            [*cmd, *args], stdout=subprocess.PIPE, stderr=self._log, text=True, encoding="utf-8"
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True
        ).start()
        deadline = time.monotonic() + timeout
        self.url = None
        while self.url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            match = re.search(r" on (http://\S+)", line)
            if match:
                self.url = match.group(1)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code (SIGKILL if it does not end in time)."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def http_server(serving_models, tmp_path_factory):
    """One server over the multiclass export for the HTTP and browser tests."""
    log = tmp_path_factory.mktemp("http_server") / "serve.log"
    server = ServerProcess(serving_models["multiclass"].export_dir, log, "--poll_seconds", "0")
    yield server
    code = server.stop()
    assert code == 0, log.read_text()[-3000:]


def in_memory_probabilities(output_dir, texts, texts_b=None):
    """(probabilities, token_ids, segment_ids) of the trained Keras model in ``output_dir``, fed
    as training feeds it: Python tokenizer, length-sorted batches padded to their longest."""
    from classifier.batching import EncodedExamples
    from classifier.inference import predict_logits
    from classifier.trained_model import VOCAB_FILE, inference_model, load_trained_model

    model, spec = load_trained_model(output_dir)
    model = inference_model(model, spec)
    encoder = spec.text_encoder(output_dir / VOCAB_FILE)
    token_ids, segment_ids = encoder.encode_many(texts, texts_b)
    logits = predict_logits(model, EncodedExamples(token_ids, segment_ids), batch_size=4)
    return spec.head.probabilities(logits), token_ids, segment_ids


# === Adapters: a tiny random BERT whose vocab covers data/demo and data/demo_multilabel ===

DEMO_DATA_DIRS = ("data/demo", "data/demo_multilabel")


@pytest.fixture(scope="session")
def demo_bert_dir(tmp_path_factory):
    """Google-format BERT (2 layers, hidden 32), random everywhere, for training on demo data."""
    from pathlib import Path

    from classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    root = Path(__file__).resolve().parent.parent
    texts = [
        (root / folder / f"{split}.tsv").read_text(encoding="utf-8")
        for folder in DEMO_DATA_DIRS
        for split in ("train", "dev", "test")
    ]
    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    return write_google_bert_folder(
        tmp_path_factory.mktemp("demo_bert"), vocab, config, seed=11, randomize=True
    )


class HttpReply:
    """Status, headers and body of one HTTP response (http_call)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        import json

        return json.loads(self.body.decode("utf-8"))


def http_call(
    server, method: str, path: str, body=None, headers: dict | None = None, raw=None
) -> HttpReply:
    """One request to ``server.url`` on a fresh connection; ``body`` goes as JSON, ``raw``
    as given (malformed bodies included)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return HttpReply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()
