"""Family, format and naming scheme come from the folder alone; every mismatch is explained."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from classifier.checkpoints import (
    CheckpointMismatchError,
    ModelFilesError,
    UnknownSchemeError,
    find_model_files,
    load_pretrained,
    write_tf1_checkpoint,
)
from classifier.checkpoints.pytorch_checkpoint import PickleNotAllowedError
from classifier.checkpoints.safetensors_checkpoint import SafetensorsCheckpoint, write_safetensors
from classifier.config import ConfigError
from tests.support.samples import padded_batch

EXPECTED = {
    "google_bert_tf1": ("bert", "google_bert_tf1"),
    "google_albert_tf1": ("albert", "google_albert_tf1"),
    "google_albert_tf1_grouped": ("albert", "google_albert_tf1"),
    "google_albert_tf1_sparse_groups": ("albert", "google_albert_tf1"),
    "brightmart_albert_tf1": ("albert", "brightmart_albert_tf1"),
    "brightmart_albert_tf1_preln": ("albert", "brightmart_albert_tf1"),
    "hf_bert": ("bert", "hf_bert"),
    "hf_bert_prefixed_legacy": ("bert", "hf_bert"),
    "hf_bert_sharded": ("bert", "hf_bert"),
    "hf_albert": ("albert", "hf_albert"),
    "hf_albert_prefixed": ("albert", "hf_albert"),
}


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_each_release_layout_is_detected(zoo_dirs, variant):
    family, scheme = EXPECTED[variant]
    pretrained = load_pretrained(zoo_dirs[variant])
    assert pretrained.config.family == family
    assert pretrained.scheme.name == scheme
    assert not pretrained.report.unexpected
    layout = "brightmart" if scheme.startswith("brightmart") else "google"
    assert pretrained.config.embedding_layout == layout
    if variant.endswith("_preln"):
        assert pretrained.config.ln_type == "preln"


def test_optimizer_slots_and_heads_are_skipped(zoo_dirs):
    report = load_pretrained(zoo_dirs["google_albert_tf1_grouped"]).report
    assert report.skipped_optimizer and "global_step" in report.skipped_optimizer
    assert any(name.startswith("cls/") for name in report.skipped_heads)


def test_release_unpacked_into_a_subfolder_is_found(zoo_dirs, tmp_path):
    """Google's albert_base_zh.tar.gz unpacks to albert_base/; the parent folder works too."""
    shutil.copytree(zoo_dirs["google_albert_tf1"], tmp_path / "albert_base")
    files = find_model_files(tmp_path)
    assert files.checkpoint == tmp_path / "albert_base" / "model.ckpt-best"
    assert files.vocab_file.name == "vocab_chinese.txt"


def test_garbage_names_list_every_expected_scheme(tmp_path, zoo_dirs):
    shutil.copy(zoo_dirs["google_bert_tf1"] / "bert_config.json", tmp_path)
    shutil.copy(zoo_dirs["google_bert_tf1"] / "vocab.txt", tmp_path)
    write_tf1_checkpoint(
        tmp_path / "bert_model.ckpt",
        {"model/dense/kernel": np.zeros((2, 2), np.float32), "model/dense/bias": np.zeros(2)},
    )
    with pytest.raises(UnknownSchemeError) as err:
        load_pretrained(tmp_path)
    message = str(err.value)
    for scheme in ("google_bert_tf1", "google_albert_tf1", "brightmart_albert_tf1"):
        assert scheme in message
    assert "bert/encoder/layer_shared/attention/self/query/kernel" in message
    assert "model/dense/kernel" in message


def test_garbage_hf_names_list_the_hf_schemes(tmp_path, zoo_dirs):
    shutil.copy(zoo_dirs["hf_bert"] / "config.json", tmp_path)
    shutil.copy(zoo_dirs["hf_bert"] / "vocab.txt", tmp_path)
    write_safetensors(tmp_path / "model.safetensors", {"weird.weight": np.zeros(3, np.float32)})
    with pytest.raises(UnknownSchemeError, match="hf_albert") as err:
        load_pretrained(tmp_path)
    assert "hf_bert" in str(err.value)


def test_albert_config_with_bert_checkpoint_is_a_clear_error(tmp_path, zoo_dirs):
    shutil.copytree(zoo_dirs["google_bert_tf1"], tmp_path / "m")
    (tmp_path / "m" / "bert_config.json").unlink()
    shutil.copy(zoo_dirs["google_albert_tf1"] / "albert_config.json", tmp_path / "m")
    with pytest.raises(ConfigError, match="describes a albert model.*google_bert_tf1"):
        load_pretrained(tmp_path / "m")


def test_config_of_another_size_names_the_shapes(tmp_path, zoo_dirs):
    shutil.copytree(zoo_dirs["google_bert_tf1"], tmp_path / "m")
    config = json.loads((tmp_path / "m" / "bert_config.json").read_text())
    config["hidden_size"], config["intermediate_size"] = 32, 128
    (tmp_path / "m" / "bert_config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointMismatchError, match="hidden 32") as err:
        load_pretrained(tmp_path / "m")
    assert "bert/embeddings/word_embeddings: checkpoint" in str(err.value)


def test_preln_config_with_google_albert_names_is_rejected(tmp_path, zoo_dirs):
    shutil.copytree(zoo_dirs["google_albert_tf1"], tmp_path / "m")
    path = tmp_path / "m" / "albert_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "ln_type": "preln"}))
    with pytest.raises(ConfigError, match="post-LayerNorm only"):
        load_pretrained(tmp_path / "m")


def hf_folder_with_bin(tmp_path, zoo_dirs):
    torch = pytest.importorskip("torch")
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("config.json", "vocab.txt"):
        shutil.copy(zoo_dirs["hf_bert_prefixed_legacy"] / name, folder)
    tensors = SafetensorsCheckpoint(zoo_dirs["hf_bert_prefixed_legacy"] / "model.safetensors")
    state = {name: torch.from_numpy(np.array(tensors[name])) for name in tensors}
    torch.save(state, folder / "pytorch_model.bin")
    return folder


def test_pytorch_bin_needs_the_opt_in(tmp_path, zoo_dirs):
    folder = hf_folder_with_bin(tmp_path, zoo_dirs)
    with pytest.raises(PickleNotAllowedError) as err:
        load_pretrained(folder)
    message = str(err.value)
    assert "--allow_pytorch_pickle" in message
    assert "convert_checkpoint.sh" in message
    assert "safe_serialization=True" in message


def test_pytorch_bin_with_opt_in_equals_safetensors(tmp_path, zoo_dirs):
    folder = hf_folder_with_bin(tmp_path, zoo_dirs)
    from_bin = load_pretrained(folder, allow_pickle=True)
    from_safetensors = load_pretrained(zoo_dirs["hf_bert_prefixed_legacy"])
    assert from_bin.scheme.name == "hf_bert"
    token_ids, segment_ids, mask = padded_batch(from_bin.config.vocab_size)
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}
    a = np.asarray(from_bin.backbone(inputs)["pooled_output"])
    b = np.asarray(from_safetensors.backbone(inputs)["pooled_output"])
    np.testing.assert_array_equal(a, b)


def test_tf2_h5_only_folder_says_what_to_use(tmp_path, zoo_dirs):
    shutil.copy(zoo_dirs["hf_bert"] / "config.json", tmp_path)
    shutil.copy(zoo_dirs["hf_bert"] / "vocab.txt", tmp_path)
    (tmp_path / "tf_model.h5").write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ModelFilesError, match="tf_model.h5.*not supported"):
        load_pretrained(tmp_path)


def test_bfloat16_safetensors_are_read_exactly(tmp_path):
    values = np.array([[1.0, -2.5], [3.140625, 1e-3]], np.float32)
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file({"w": torch.from_numpy(values).bfloat16()}, str(tmp_path / "m.safetensors"))
    read = SafetensorsCheckpoint(tmp_path / "m.safetensors")["w"]
    expected = torch.from_numpy(values).bfloat16().float().numpy()
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, expected)


def test_google_albert_with_embedding_equal_hidden_has_no_projection(tmp_path):
    """google-research skips embedding_hidden_mapping_in when E == H; it reads as identity."""
    from classifier.checkpoints import TF1Checkpoint
    from classifier.checkpoints.tiny import tiny_albert_config, write_tiny_folder
    from classifier.checkpoints.writer import backbone_tensors
    from tests.support.samples import zoo_vocab

    vocab = zoo_vocab()
    config = tiny_albert_config(len(vocab), num_layers=2, hidden_size=32, embedding_size=32)
    folder = write_tiny_folder(tmp_path / "m", vocab, config, "google_albert_tf1")
    names = set(TF1Checkpoint(folder / "model.ckpt-best"))
    assert not any("embedding_hidden_mapping_in" in name for name in names)
    pretrained = load_pretrained(folder)
    np.testing.assert_array_equal(pretrained.backbone.embeddings.projection.kernel, np.eye(32))
    assert len(pretrained.report.defaulted) == 2
    pretrained.backbone.embeddings.projection.bias.assign(np.ones(32, np.float32))
    with pytest.raises(CheckpointMismatchError, match="embedding_hidden_mapping_in/bias"):
        backbone_tensors(pretrained.backbone, "google_albert_tf1")


def test_masked_lm_state_dict_without_pooler_loads(tmp_path, zoo_dirs, caplog):
    """BertForMaskedLM saves no pooler; like transformers, it is left initialised, with a warning."""
    folder = tmp_path / "mlm"
    folder.mkdir()
    for name in ("config.json", "vocab.txt"):
        shutil.copy(zoo_dirs["hf_bert_prefixed_legacy"] / name, folder)
    tensors = SafetensorsCheckpoint(zoo_dirs["hf_bert_prefixed_legacy"] / "model.safetensors")
    kept = {name: tensors[name] for name in tensors if ".pooler." not in name}
    write_safetensors(folder / "model.safetensors", kept)
    report = load_pretrained(folder).report
    assert report.left_initialised == ["pooler.dense.weight", "pooler.dense.bias"]
    assert "left randomly initialised" in caplog.text


def damage(path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[:40])
    else:  # a safetensors header whose length points past the file
        path.write_bytes((10**9).to_bytes(8, "little") + data[8:])


@pytest.mark.parametrize(
    ("folder", "file_glob", "how"),
    [
        ("google_bert_tf1", "*.index", "truncate"),  # "file is too short to be an sstable"
        ("google_bert_tf1", "*.data-*", "truncate"),
        ("hf_bert_prefixed_legacy", "model.safetensors", "truncate"),
        ("hf_bert_prefixed_legacy", "model.safetensors", "header"),
    ],
)
def test_a_damaged_checkpoint_file_is_named_as_damaged(tmp_path, zoo_dirs, folder, file_glob, how):
    from classifier.checkpoints.tf1_checkpoint import DamagedCheckpointError

    shutil.copytree(zoo_dirs[folder], tmp_path / "m")
    target = next((tmp_path / "m").glob(file_glob))
    damage(target, how)
    with pytest.raises(DamagedCheckpointError) as err:
        load_pretrained(tmp_path / "m")
    message = str(err.value)
    assert "truncated or damaged" in message or "damaged" in message
    assert str(tmp_path / "m") in message


def test_a_damaged_pytorch_file_is_named_as_damaged(tmp_path, zoo_dirs):
    from classifier.checkpoints.tf1_checkpoint import DamagedCheckpointError

    folder = hf_folder_with_bin(tmp_path, zoo_dirs)
    damage(folder / "pytorch_model.bin", "truncate")
    with pytest.raises(DamagedCheckpointError, match="pytorch_model.bin cannot be read"):
        load_pretrained(folder, allow_pickle=True)
