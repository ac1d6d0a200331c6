"""Our backbone on brightmart's albert_zh TF1 checkpoints equals an independent reference.

transformers has no albert_zh loader, and albert_zh cannot be renamed to Google's ALBERT: it
projects the word vectors first (word_embeddings_2, no bias) and adds position and token-type
tables of width H, where Google adds width-E tables and projects after LayerNorm(E). What it
is, exactly, is a BERT whose word table is W_E @ W_2 and whose layers all share one block:
  post-LN (modeling.py transformer_model) = transformers' BertModel with those weights;
  pre-LN (prelln_transformer_model) = transformers' RobertaPreLayerNormModel with those weights,
  explicit positions 0..n-1 and no final LayerNorm (albert_zh has none; it is replaced by the
  identity, so the pooler sees the raw last layer as albert_zh's does).
The weights are read from the checkpoint with names written out here, independently of the
project's mapping code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.support.parity import our_outputs, report_diffs
from tests.support.samples import padded_batch

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def read_checkpoint(model_dir):
    reader = tf.train.load_checkpoint(str(model_dir / "albert_model.ckpt"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def shared(tensors, scope: str, kind: str = "dense") -> dict[str, np.ndarray]:
    """weight/bias of one brightmart sub-layer under bert/encoder/layer_shared (torch layout)."""
    base = f"bert/encoder/layer_shared/{scope}/"
    if kind == "dense":
        return {"weight": tensors[base + "kernel"].T, "bias": tensors[base + "bias"]}
    return {"weight": tensors[base + "gamma"], "bias": tensors[base + "beta"]}


def reference_state(tensors, num_layers: int, pre_ln: bool) -> dict[str, np.ndarray]:
    word = tensors["bert/embeddings/word_embeddings"] @ tensors["bert/embeddings/word_embeddings_2"]
    state = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": tensors["bert/embeddings/position_embeddings"],
        "embeddings.token_type_embeddings.weight": tensors["bert/embeddings/token_type_embeddings"],
        "embeddings.LayerNorm.weight": tensors["bert/embeddings/LayerNorm/gamma"],
        "embeddings.LayerNorm.bias": tensors["bert/embeddings/LayerNorm/beta"],
        "pooler.dense.weight": tensors["bert/pooler/dense/kernel"].T,
        "pooler.dense.bias": tensors["bert/pooler/dense/bias"],
    }
    modules = {
        "attention.self.query": ("attention/self/query", "dense"),
        "attention.self.key": ("attention/self/key", "dense"),
        "attention.self.value": ("attention/self/value", "dense"),
        "attention.output.dense": ("attention/output/dense", "dense"),
        "intermediate.dense": ("intermediate/dense", "dense"),
        "output.dense": ("output/dense", "dense"),
    }
    if pre_ln:  # LayerNorm of the block input before attention, of the attention result before FFN
        modules["attention.LayerNorm"] = ("attention/output/LayerNorm", "norm")
        modules["intermediate.LayerNorm"] = ("output/LayerNorm", "norm")
    else:  # LayerNorm after each residual sum
        modules["attention.output.LayerNorm"] = ("attention/output/LayerNorm", "norm")
        modules["output.LayerNorm"] = ("output/LayerNorm", "norm")
    for i in range(num_layers):
        for module, (scope, kind) in modules.items():
            for param, value in shared(tensors, scope, kind).items():
                state[f"encoder.layer.{i}.{module}.{param}"] = value
    return state


def reference_outputs(model_dir, batch, pre_ln: bool):
    cfg = json.loads((model_dir / "albert_config_tiny.json").read_text())
    assert cfg["ln_type"] == ("preln" if pre_ln else "postln")
    common = {
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "intermediate_size": cfg["intermediate_size"],
        "hidden_act": "gelu_new",  # albert_zh's gelu is the tanh approximation
        "max_position_embeddings": cfg["max_position_embeddings"],
        "type_vocab_size": cfg["type_vocab_size"],
        "layer_norm_eps": 1e-12,
        "attn_implementation": "eager",
    }
    if pre_ln:
        model = transformers.RobertaPreLayerNormModel(
            transformers.RobertaPreLayerNormConfig(**common)
        )
        model.LayerNorm = torch.nn.Identity()
    else:
        model = transformers.BertModel(transformers.BertConfig(**common))
    model.eval()
    state = reference_state(read_checkpoint(model_dir), cfg["num_hidden_layers"], pre_ln)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False
    )
    assert not unexpected, unexpected
    assert all("position_ids" in m or "token_type_ids" in m for m in missing), missing
    token_ids, segment_ids, mask = batch
    positions = np.broadcast_to(np.arange(token_ids.shape[1]), token_ids.shape)
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(token_ids).long(),
            token_type_ids=torch.from_numpy(segment_ids).long(),
            attention_mask=torch.from_numpy(mask).long(),
            position_ids=torch.from_numpy(positions.copy()).long(),
        )
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


@pytest.mark.parametrize(
    "variant, pre_ln",
    [("brightmart_albert_tf1", False), ("brightmart_albert_tf1_preln", True)],
)
def test_brightmart_albert_matches_reference(zoo_dirs, variant, pre_ln):
    model_dir = zoo_dirs[variant]
    cfg = json.loads((model_dir / "albert_config_tiny.json").read_text())
    batch = padded_batch(cfg["vocab_size"], seed=2)
    ours = our_outputs(model_dir, batch)
    seq, pooled = report_diffs(variant, ours, reference_outputs(model_dir, batch, pre_ln))
    assert seq < 1e-4
    assert pooled < 1e-4


def test_pre_ln_and_post_ln_differ(zoo_dirs):
    """The ln_type of the config really changes the math (same names in both checkpoints)."""
    import dataclasses

    from classifier.backbones import build_backbone
    from classifier.checkpoints import load_pretrained

    pretrained = load_pretrained(zoo_dirs["brightmart_albert_tf1_preln"])
    flipped = build_backbone(dataclasses.replace(pretrained.config, ln_type="postln"))
    flipped.set_weights(pretrained.backbone.get_weights())
    token_ids, segment_ids, mask = padded_batch(pretrained.config.vocab_size)
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}
    a = np.asarray(pretrained.backbone(inputs)["sequence_output"])
    b = np.asarray(flipped(inputs)["sequence_output"])
    assert np.abs(a - b).max() > 0.1
