"""Our backbone on a Google ALBERT TF1 checkpoint equals transformers' AlbertModel on it.

The reference side maps google-research/albert's names to AlbertModel's with its own rules here,
independent of the project's mapping code, and runs torch on CPU. Three layouts of the encoder:
one shared block; 2 groups of 2 inner blocks; 4 groups for 2 layers (groups 0 and 2 only run).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.support.parity import our_outputs, report_diffs
from tests.support.samples import padded_batch

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

BLOCK = [
    ("attention_1/self/query", "attention.query"),
    ("attention_1/self/key", "attention.key"),
    ("attention_1/self/value", "attention.value"),
    ("attention_1/output/dense", "attention.dense"),
    ("ffn_1/intermediate/output/dense", "ffn_output"),
    ("ffn_1/intermediate/dense", "ffn"),
    ("LayerNorm_1", "full_layer_layer_norm"),
    ("LayerNorm", "attention.LayerNorm"),
]


def to_hf_name(name: str) -> tuple[str, bool]:
    """(AlbertModel parameter name, whether to transpose) for a google-research/albert name."""
    name = name[len("bert/") :]
    name = name.replace(
        "encoder/embedding_hidden_mapping_in", "encoder.embedding_hidden_mapping_in"
    )
    name = name.replace("pooler/dense", "pooler")
    m = re.match(r"encoder/transformer/group_(\d+)/inner_group_(\d+)/(.*)", name)
    if m:
        rest = m.group(3)
        for tf_scope, hf_module in BLOCK:
            if rest.startswith(tf_scope + "/"):
                rest = hf_module + rest[len(tf_scope) :]
                break
        name = f"encoder.albert_layer_groups.{m.group(1)}.albert_layers.{m.group(2)}.{rest}"
    name = name.replace("/", ".")
    if name.endswith(".kernel"):
        return name[: -len("kernel")] + "weight", True
    if name.endswith(".gamma"):
        return name[: -len("gamma")] + "weight", False
    if name.endswith(".beta"):
        return name[: -len("beta")] + "bias", False
    if name.startswith("embeddings.") and "LayerNorm" not in name:
        return name + ".weight", False
    return name, False


def reference_outputs(model_dir, batch):
    cfg = json.loads((model_dir / "albert_config.json").read_text())
    config = transformers.AlbertConfig(
        vocab_size=cfg["vocab_size"],
        embedding_size=cfg["embedding_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_hidden_groups=cfg["num_hidden_groups"],
        inner_group_num=cfg["inner_group_num"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_act="gelu_new",  # google-research's "gelu" is the tanh approximation
        max_position_embeddings=cfg["max_position_embeddings"],
        type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=1e-12,
        attn_implementation="eager",
    )
    model = transformers.AlbertModel(config).eval()
    reader = tf.train.load_checkpoint(str(model_dir / "model.ckpt-best"))
    state = {}
    for name in reader.get_variable_to_shape_map():
        if not name.startswith("bert/") or name.endswith(("adam_m", "adam_v")):
            continue
        hf_name, transpose = to_hf_name(name)
        value = reader.get_tensor(name)
        state[hf_name] = torch.from_numpy(np.ascontiguousarray(value.T if transpose else value))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    layers = range(config.num_hidden_layers)
    groups = {int(i / config.num_hidden_layers * config.num_hidden_groups) for i in layers}
    for name in missing:  # only buffers and the groups no layer runs may be absent
        group = re.search(r"albert_layer_groups\.(\d+)\.", name)
        assert (
            "position_ids" in name
            or "token_type_ids" in name
            or (group and int(group.group(1)) not in groups)
        ), name
    token_ids, segment_ids, mask = batch
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(token_ids).long(),
            token_type_ids=torch.from_numpy(segment_ids).long(),
            attention_mask=torch.from_numpy(mask).long(),
        )
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


@pytest.mark.parametrize(
    "variant",
    ["google_albert_tf1", "google_albert_tf1_grouped", "google_albert_tf1_sparse_groups"],
)
def test_google_albert_tf1_matches_transformers(zoo_dirs, variant):
    model_dir = zoo_dirs[variant]
    cfg = json.loads((model_dir / "albert_config.json").read_text())
    batch = padded_batch(cfg["vocab_size"], seed=1)
    ours = our_outputs(model_dir, batch)
    seq, pooled = report_diffs(variant, ours, reference_outputs(model_dir, batch))
    assert seq < 1e-4
    assert pooled < 1e-4
