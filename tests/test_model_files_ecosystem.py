"""Folders as the Hub and users have them: tokenizer.json without vocab.txt, no vocab at all."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.samples import padded_batch


@pytest.fixture
def hf_folder(tmp_path):
    from classifier.checkpoints.tiny import tiny_bert_config, write_tiny_folder
    from classifier.text.vocab import build_tiny_chinese_vocab

    vocab = build_tiny_chinese_vocab()
    return write_tiny_folder(tmp_path / "hf", vocab, tiny_bert_config(len(vocab)), "hf_bert"), vocab


def tokenizer_json(vocab: list[str]) -> dict:
    """The shape transformers' BertTokenizerFast saves (only what we read matters)."""
    return {
        "version": "1.0",
        "normalizer": {"type": "BertNormalizer", "lowercase": True},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "vocab": {t: i for i, t in enumerate(vocab)},
        },
    }


def test_a_folder_with_tokenizer_json_and_no_vocab_txt_loads(hf_folder, tmp_path):
    from classifier.checkpoints import find_model_files, load_pretrained
    from classifier.classifier_spec import ClassifierSpec
    from classifier.text.tokenizer import FullTokenizer
    from classifier.text.vocab import load_vocab
    from classifier.trained_model import build_classifier, save_trained_model

    folder, vocab = hf_folder
    (folder / "vocab.txt").unlink()
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(vocab)), encoding="utf-8")
    files = find_model_files(folder)
    assert files.vocab_file.name == "tokenizer.json"
    assert load_vocab(files.vocab_file) == vocab
    assert FullTokenizer(files.vocab_file).tokenize("手机好用") == ["手", "机", "好", "用"]
    pretrained = load_pretrained(folder)
    spec = ClassifierSpec(model=pretrained.config, labels=("a", "b"), head_kind="multiclass")
    save_trained_model(tmp_path / "run", build_classifier(spec), spec, files.vocab_file)
    assert load_vocab(tmp_path / "run" / "vocab.txt") == vocab  # a run folder has a vocab.txt


def test_a_non_wordpiece_tokenizer_json_is_a_clear_error(tmp_path):
    from classifier.text.vocab import load_vocab

    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"type": "BPE", "vocab": {}}}), encoding="utf-8")
    with pytest.raises(ValueError, match="a BPE tokenizer; BERT-family models need a WordPiece"):
        load_vocab(path)


def test_load_backbone_needs_no_vocab(hf_folder):
    import classifier
    from classifier.checkpoints import ModelFilesError, load_pretrained

    folder, vocab = hf_folder
    (folder / "vocab.txt").unlink()
    backbone = classifier.load_backbone(folder)
    token_ids, segment_ids, mask = padded_batch(len(vocab))
    out = backbone({"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask})
    assert np.isfinite(np.asarray(out["pooled_output"])).all()
    with pytest.raises(ModelFilesError, match="no vocab.txt"):
        load_pretrained(folder)  # fine-tuning does need one
