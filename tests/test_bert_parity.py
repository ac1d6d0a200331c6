"""Our backbone loaded from a Google TF1 checkpoint equals transformers' BertModel on it.

The reference side maps Google's names to Hugging Face's with its own rules here, independent
of the project's mapping code, and runs torch on CPU.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from tests.support.samples import CHINESE_SAMPLES

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def google_to_hf_state_dict(prefix: str) -> dict[str, torch.Tensor]:
    reader = tf.train.load_checkpoint(prefix)
    state = {}
    for name in reader.get_variable_to_shape_map():
        if not name.startswith("bert/"):
            continue
        value = reader.get_tensor(name)
        hf = name[len("bert/") :]
        hf = re.sub(r"layer_(\d+)", r"layer.\1", hf).replace("/", ".")
        if hf.endswith(".kernel"):
            hf, value = hf[: -len(".kernel")] + ".weight", value.T
        elif hf.endswith(".gamma"):
            hf = hf[: -len(".gamma")] + ".weight"
        elif hf.endswith(".beta"):
            hf = hf[: -len(".beta")] + ".bias"
        elif hf.startswith("embeddings.") and not hf.endswith(".bias"):
            hf += ".weight"
        state[hf] = torch.from_numpy(np.ascontiguousarray(value))
    return state


def reference_outputs(model_dir, token_ids, segment_ids, mask):
    import json

    cfg = json.loads((model_dir / "bert_config.json").read_text())
    config = transformers.BertConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_act="gelu_new",  # Google's "gelu" is the tanh approximation
        max_position_embeddings=cfg["max_position_embeddings"],
        type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=1e-12,
        attn_implementation="eager",
    )
    model = transformers.BertModel(config).eval()
    missing, unexpected = model.load_state_dict(
        google_to_hf_state_dict(str(model_dir / "bert_model.ckpt")), strict=False
    )
    assert not unexpected, unexpected
    assert all("position_ids" in m for m in missing), missing
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(token_ids).long(),
            token_type_ids=torch.from_numpy(segment_ids).long(),
            attention_mask=torch.from_numpy(mask).long(),
        )
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


def encode_batch(model_dir):
    from classifier.text import FullTokenizer, pack

    tokenizer = FullTokenizer(str(model_dir / "vocab.txt"))
    pairs = [(CHINESE_SAMPLES[0], None), (CHINESE_SAMPLES[2], CHINESE_SAMPLES[3])]
    pairs += [(text, None) for text in CHINESE_SAMPLES[4:]]
    rows = []
    for a, b in pairs:
        ids_a = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(a))
        ids_b = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(b)) if b else None
        rows.append(pack(ids_a, ids_b, 64, tokenizer.cls_id, tokenizer.sep_id))
    length = max(len(ids) for ids, _ in rows)
    token_ids = np.zeros((len(rows), length), np.int32)
    segment_ids = np.zeros_like(token_ids)
    mask = np.zeros_like(token_ids)
    for i, (ids, segs) in enumerate(rows):
        token_ids[i, : len(ids)] = ids
        segment_ids[i, : len(segs)] = segs
        mask[i, : len(ids)] = 1
    assert mask.min() == 0, "the batch must contain padding"
    assert (token_ids == tokenizer.unk_id).sum() == 0
    return token_ids, segment_ids, mask


def test_google_tf1_checkpoint_matches_transformers(google_bert_dir):
    import classifier

    token_ids, segment_ids, mask = encode_batch(google_bert_dir)
    backbone = classifier.load_backbone(google_bert_dir)
    ours = backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, training=False
    )
    ref_seq, ref_pooled = reference_outputs(google_bert_dir, token_ids, segment_ids, mask)
    seq_diff = np.abs(np.asarray(ours["sequence_output"]) - ref_seq).max()
    pooled_diff = np.abs(np.asarray(ours["pooled_output"]) - ref_pooled).max()
    print(f"max abs diff: sequence_output {seq_diff:.2e}, pooled_output {pooled_diff:.2e}")
    # Random weights everywhere make the activations O(1); a wrong mapping gives O(1) errors.
    assert np.abs(ref_seq).mean() > 0.1
    assert seq_diff < 1e-4
    assert pooled_diff < 1e-4
