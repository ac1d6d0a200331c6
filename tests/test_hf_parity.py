"""Our backbone on Hugging Face folders equals transformers' own from_pretrained on them.

The reference is transformers reading the very same folder (config.json + safetensors) with its
own loader, so the files are proven to be what transformers writes and reads: BertModel state
dicts without prefix, with the "bert." prefix, MLM/NSP heads and pytorch-pretrained-bert's
LayerNorm.gamma/beta names, sharded with an index; AlbertModel state dicts with and without
the "albert." prefix and SOP/MLM heads. HF's "gelu" (exact erf) is the BERT configs' activation.
"""

from __future__ import annotations

import json

import pytest

from tests.support.parity import our_outputs, report_diffs
from tests.support.samples import padded_batch

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CASES = [
    ("hf_bert", "BertModel"),
    ("hf_bert_prefixed_legacy", "BertModel"),
    ("hf_bert_sharded", "BertModel"),
    ("hf_albert", "AlbertModel"),
    ("hf_albert_prefixed", "AlbertModel"),
]


def reference_outputs(model_dir, model_class: str, batch):
    cls = getattr(transformers, model_class)
    model, info = cls.from_pretrained(
        str(model_dir), attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"], info["missing_keys"]
    model.eval()
    token_ids, segment_ids, mask = batch
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(token_ids).long(),
            token_type_ids=torch.from_numpy(segment_ids).long(),
            attention_mask=torch.from_numpy(mask).long(),
        )
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


@pytest.mark.parametrize("variant, model_class", CASES)
def test_hf_folder_matches_transformers(zoo_dirs, variant, model_class):
    model_dir = zoo_dirs[variant]
    cfg = json.loads((model_dir / "config.json").read_text())
    batch = padded_batch(cfg["vocab_size"], seed=3)
    ours = our_outputs(model_dir, batch)
    seq, pooled = report_diffs(variant, ours, reference_outputs(model_dir, model_class, batch))
    assert seq < 1e-4
    assert pooled < 1e-4


def test_hf_bert_activation_is_exact_gelu(zoo_dirs):
    """HF "gelu" is read as the erf form: the config says so and the backbone computes it."""
    from classifier.checkpoints import load_pretrained
    from classifier.config import GELU_EXACT

    pretrained = load_pretrained(zoo_dirs["hf_bert"])
    assert json.loads((zoo_dirs["hf_bert"] / "config.json").read_text())["hidden_act"] == "gelu"
    assert pretrained.config.hidden_act == GELU_EXACT
    assert pretrained.backbone.transformer_layers[0].hidden_act == GELU_EXACT


@pytest.mark.parametrize(
    "variant, task_class",
    [
        ("hf_bert_prefixed_legacy", "BertForPreTraining"),
        ("hf_albert_prefixed", "AlbertForPreTraining"),
    ],
)
def test_prefixed_folders_are_complete_task_models(zoo_dirs, variant, task_class):
    """The prefixed tiny folders hold exactly what transformers' pretraining model has."""
    cls = getattr(transformers, task_class)
    _, info = cls.from_pretrained(str(zoo_dirs[variant]), output_loading_info=True)
    assert not any(info.values()), info
