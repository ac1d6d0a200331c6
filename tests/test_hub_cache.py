"""--model_dir=owner/name (or a preset's name): the model from the Hugging Face cache, offline.

The cache is built on disk in the real layout (blobs/, snapshots/<commit>/ of symlinks into
blobs/, refs/<branch>); huggingface_hub is replaced by a fake module, so nothing here can reach
the network.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import types
from pathlib import Path

import pytest

from classifier.checkpoints.hub_cache import HubModel, parse_model_name, resolve_model_dir
from classifier.checkpoints.model_files import ModelFilesError, find_model_files

COMMIT = "a" * 40
OTHER_COMMIT = "b" * 40
TINY_FILES = {"config.json": b"{}", "vocab.txt": b"[PAD]\n", "model.safetensors": b"weights"}


def cache_model(
    cache: Path,
    repo_id: str,
    files: dict[str, bytes],
    commit: str = COMMIT,
    refs: tuple[str, ...] = ("main",),
) -> Path:
    """Lays ``files`` out as huggingface_hub does; returns the snapshot folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data + name.encode()).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob.name))
    (repo / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (repo / "refs" / ref).write_text(commit)  # no newline, as huggingface_hub writes it
    return snapshot


def cache_folder(cache: Path, repo_id: str, folder: Path, **kwargs) -> Path:
    return cache_model(cache, repo_id, {p.name: p.read_bytes() for p in folder.iterdir()}, **kwargs)


class FakeHub(types.ModuleType):
    """huggingface_hub with a snapshot_download that records its calls and, when given files,
    'downloads' them into the cache (only those the patterns allow)."""

    def __init__(self, files: dict[str, bytes] | None = None, error: Exception | None = None):
        super().__init__("huggingface_hub")
        self.calls: list[dict] = []
        self.files, self.error = files, error

    def snapshot_download(self, repo_id, *, revision, cache_dir, allow_patterns):
        from fnmatch import fnmatch

        self.calls.append(
            {"repo_id": repo_id, "revision": revision, "cache_dir": cache_dir,
             "allow_patterns": allow_patterns}
        )  # fmt: skip
        if self.error is not None:
            raise self.error
        if self.files is None:
            raise AssertionError("no download expected in this test")
        snapshot = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}" / "snapshots" / COMMIT
        snapshot.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            if any(fnmatch(name, pattern) for pattern in allow_patterns):
                (snapshot / name).write_bytes(data)
        return str(snapshot)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty hub cache in HF_HUB_CACHE, offline by default, and a huggingface_hub that
    refuses to download."""
    folder = tmp_path / "hf_cache"
    folder.mkdir()
    for name in ("HF_HOME", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(sys.modules, "huggingface_hub", FakeHub())
    return folder


def test_owner_name_resolves_to_the_snapshot(cache, caplog):
    snapshot = cache_model(cache, "hfl/chinese-roberta-wwm-ext", TINY_FILES)
    with caplog.at_level(logging.INFO, logger="classifier.checkpoints.hub_cache"):
        assert resolve_model_dir("hfl/chinese-roberta-wwm-ext") == snapshot
    assert f"--model_dir hfl/chinese-roberta-wwm-ext: Hugging Face cache {snapshot}" in caplog.text
    assert (snapshot / "model.safetensors").is_symlink()  # the real layout: links into blobs/


def test_hf_home_holds_the_cache_in_hub(cache, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    snapshot = cache_model(tmp_path / "home" / "hub", "owner/model", TINY_FILES)
    assert resolve_model_dir("owner/model") == snapshot


def test_a_revision_picks_a_branch_tag_or_commit(cache):
    main = cache_model(cache, "owner/model", TINY_FILES)
    tagged = cache_model(cache, "owner/model", TINY_FILES, commit=OTHER_COMMIT, refs=("v1",))
    assert resolve_model_dir("owner/model") == main
    assert resolve_model_dir("owner/model@main") == main
    assert resolve_model_dir("owner/model@v1") == tagged
    assert resolve_model_dir(f"owner/model@{OTHER_COMMIT}") == tagged
    with pytest.raises(FileNotFoundError, match="owner/model@v2: not a folder"):
        resolve_model_dir("owner/model@v2")


@pytest.mark.parametrize(
    "name", ["roberta-wwm-ext", "chinese-roberta-wwm-ext", "hfl_chinese_roberta_wwm_ext"]
)
def test_a_preset_name_resolves_to_its_hub_repository(cache, name, caplog):
    snapshot = cache_model(cache, "hfl/chinese-roberta-wwm-ext", TINY_FILES)
    with caplog.at_level(logging.INFO, logger="classifier.checkpoints.hub_cache"):
        assert resolve_model_dir(name) == snapshot
    assert f"{name} (hfl/chinese-roberta-wwm-ext): Hugging Face cache" in caplog.text


def test_a_preset_is_found_under_its_older_hub_id_too(cache):
    assert parse_model_name("bert-base-chinese") == HubModel(
        ("google-bert/bert-base-chinese", "bert-base-chinese"), "main", "google_bert_base_chinese"
    )
    legacy = cache_model(cache, "bert-base-chinese", TINY_FILES)
    assert resolve_model_dir("bert-base-chinese") == legacy
    current = cache_model(cache, "google-bert/bert-base-chinese", TINY_FILES)
    assert resolve_model_dir("google_bert_base_chinese") == current  # the current id first


def test_preset_names_are_unambiguous():
    from classifier.presets import PRESETS

    names = [name for preset in PRESETS for name in preset.names]
    assert len(names) == len(set(names))


def test_a_missing_model_offline_is_one_clear_line(cache):
    hub = sys.modules["huggingface_hub"]
    with pytest.raises(ModelFilesError) as err:
        find_model_files("hfl/chinese-macbert-base")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("--model_dir hfl/chinese-macbert-base: not a folder")
    assert f"not in the Hugging Face cache at {cache / 'models--hfl--chinese-macbert-base'}" in (
        message
    )
    assert "`hf download hfl/chinese-macbert-base`" in message
    assert "HF_HUB_OFFLINE=0" in message
    assert hub.calls == []  # offline: no download tried


def test_a_snapshot_without_weights_offline_says_so(cache):
    cache_model(cache, "owner/model", {"config.json": b"{}", "vocab.txt": b"[PAD]\n"})
    with pytest.raises(FileNotFoundError, match="owner/model: not a folder, and the model holds "):
        resolve_model_dir("owner/model")


def test_a_local_folder_of_the_same_name_wins(cache, tmp_path, monkeypatch):
    cache_model(cache, "hfl/chinese-roberta-wwm-ext", TINY_FILES)
    local = tmp_path / "work" / "hfl" / "chinese-roberta-wwm-ext"
    local.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    assert resolve_model_dir("hfl/chinese-roberta-wwm-ext") == Path("hfl/chinese-roberta-wwm-ext")


@pytest.mark.parametrize(
    "value", ["/no/such/folder", "a/b/c", "not_a_preset", "owner/na me", "own--er/x", "o/x@../y"]
)
def test_a_string_that_is_neither_folder_nor_name_is_a_clear_error(cache, value):
    with pytest.raises(ModelFilesError) as err:
        find_model_files(value)
    assert str(err.value) == (
        f"--model_dir {value} is not a directory, a Hugging Face model id "
        "(owner/name[@revision]) or a preset name (docs/model_zoo.md)"
    )


def test_a_preset_without_a_hub_repository_says_so(cache):
    with pytest.raises(ModelFilesError, match="brightmart_albert_tiny_zh is not on the Hugging"):
        find_model_files("brightmart_albert_tiny_zh")


def test_errors_name_the_flag_they_came_from(cache):
    with pytest.raises(ModelFilesError, match="^--input_dir owner/model: not a folder"):
        find_model_files("owner/model", model_dir_flag="--input_dir")


def test_online_a_missing_model_is_downloaded_with_only_the_files_the_loader_reads(
    cache, monkeypatch, caplog
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    files = {**TINY_FILES, "pytorch_model.bin": b"pickle", "tf_model.h5": b"h5"}
    hub = FakeHub(files)
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    with caplog.at_level(logging.INFO, logger="classifier.checkpoints.hub_cache"):
        snapshot = resolve_model_dir("owner/model@v1")
    assert [call["repo_id"] for call in hub.calls] == ["owner/model"]  # safetensors: one pass
    call = hub.calls[0]
    assert call["revision"] == "v1" and Path(call["cache_dir"]) == cache
    assert {"*.json", "vocab*.txt", "model*.safetensors", "*.ckpt*"} <= set(call["allow_patterns"])
    assert sorted(p.name for p in snapshot.iterdir()) == [
        "config.json",
        "model.safetensors",
        "vocab.txt",
    ]
    assert "owner/model@v1: downloaded from the Hugging Face Hub into" in caplog.text


def test_pytorch_model_bin_is_downloaded_only_without_safetensors(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    hub = FakeHub({"config.json": b"{}", "vocab.txt": b"x", "pytorch_model.bin": b"pickle"})
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    snapshot = resolve_model_dir("hfl/rbt3")
    assert len(hub.calls) == 2 and "pytorch_model*.bin" in hub.calls[1]["allow_patterns"]
    assert "pytorch_model*.bin" not in hub.calls[0]["allow_patterns"]
    assert (snapshot / "pytorch_model.bin").is_file()


def test_transformers_offline_is_honoured_too(cache, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE=0"):
        resolve_model_dir("owner/model")
    assert sys.modules["huggingface_hub"].calls == []


def test_a_failed_download_is_one_line(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    error = OSError("404 Client Error.\n\nRepository Not Found for url: https://...")
    monkeypatch.setitem(sys.modules, "huggingface_hub", FakeHub(error=error))
    with pytest.raises(ModelFilesError) as err:
        find_model_files("owner/typo")
    assert "\n" not in str(err.value)
    assert str(err.value).endswith("downloading it failed: OSError: 404 Client Error.")


def test_without_huggingface_hub_the_cache_works_and_a_download_says_what_to_install(
    cache, monkeypatch
):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    snapshot = cache_model(cache, "owner/model", TINY_FILES)
    assert resolve_model_dir("owner/model") == snapshot
    with pytest.raises(ModelFilesError, match="needs huggingface_hub: pip install huggingface_hub"):
        find_model_files("owner/other")


@pytest.fixture
def tiny_hf_folder(tmp_path):
    from classifier.checkpoints.tiny import tiny_bert_config, write_tiny_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab()
    config = tiny_bert_config(len(vocab), num_layers=1, hidden_size=32)
    return write_tiny_folder(tmp_path / "tiny_hf", vocab, config, "hf_bert")


def test_a_tiny_checkpoint_in_the_cache_loads_by_name(cache, tiny_hf_folder):
    import numpy as np

    from classifier.checkpoints import load_pretrained
    from tests.support.samples import padded_batch

    snapshot = cache_folder(cache, "someone/tiny-bert", tiny_hf_folder)
    pretrained = load_pretrained("someone/tiny-bert")
    assert pretrained.files.checkpoint == snapshot / "model.safetensors"
    assert pretrained.files.vocab_file == snapshot / "vocab.txt"
    assert pretrained.scheme.name == "hf_bert"
    token_ids, segment_ids, mask = padded_batch(pretrained.config.vocab_size)
    out = pretrained.backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}
    )
    assert np.isfinite(np.asarray(out["pooled_output"])).all()


def test_convert_checkpoint_reads_a_cached_model_and_names_its_flag(
    cache, tiny_hf_folder, tmp_path, caplog
):
    from scripts.convert_checkpoint import main as convert_main

    cache_folder(cache, "someone/tiny-bert", tiny_hf_folder)
    out = tmp_path / "tf1"
    assert convert_main(["--input_dir", "someone/tiny-bert", "--output_dir", str(out)]) == 0
    assert (out / "bert_config.json").is_file()
    caplog.clear()
    assert (
        convert_main(["--input_dir", "someone/missing", "--output_dir", str(tmp_path / "x")]) == 2
    )
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("--input_dir someone/missing: not a folder")
