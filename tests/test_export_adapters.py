"""Adapters are part of the exported graph: LoRA merged into the kernels, bottleneck adapters
run inside the SavedModel; either way the served probabilities equal the trained model's."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.adapters import AdaptedBackbone, make_adapter_config
from classifier.batching import EncodedExamples
from classifier.checkpoints.tiny import randomize_weights, tiny_bert_config
from classifier.classifier_spec import ClassifierSpec
from classifier.inference import predict_logits
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
from classifier.trained_model import build_classifier, load_trained_model, save_trained_model
from export import build_serving_module, export_trained_model
from serving import Predictor
from tests.support.samples import SERVING_TEXTS

LABELS = ("体育", "财经", "科技")


def adapted_output_dir(root, kind: str, options: dict):
    root.mkdir(parents=True)
    vocab = build_tiny_chinese_vocab(extra_texts=SERVING_TEXTS)
    write_vocab(root / "source_vocab.txt", vocab)
    adapter = make_adapter_config(kind, **options).to_dict()
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab), num_layers=2, hidden_size=32),
        labels=LABELS,
        head_kind="multiclass",
        max_seq_length=32,
        adapter=adapter,
    )
    model = build_classifier(spec)
    assert isinstance(model.backbone, AdaptedBackbone)
    randomize_weights(model, seed=5, scale=0.3)  # "trained" adapters: far from identity
    save_trained_model(root, model, spec, root / "source_vocab.txt")
    return root


@pytest.mark.parametrize(
    ("kind", "options", "merged"), [("lora", {"rank": 4}, True), ("houlsby", {"size": 8}, False)]
)
def test_adapted_model_exports_with_its_adapters(tmp_path, kind, options, merged):
    out = adapted_output_dir(tmp_path / "output", kind, options)
    module, _ = build_serving_module(out)
    assert isinstance(module.model.backbone, AdaptedBackbone) is not merged

    result = export_trained_model(out, tmp_path / "export")
    predictor = Predictor(result.path, version=result.version)
    served = np.array([list(p.probabilities.values()) for p in predictor.predict(SERVING_TEXTS)])

    model, spec = load_trained_model(out)  # as trained: adapters unmerged
    encoder = spec.text_encoder(out / "vocab.txt")
    token_ids, segment_ids = encoder.encode_many(SERVING_TEXTS)
    logits = predict_logits(model, EncodedExamples(token_ids, segment_ids), batch_size=8)
    expected = spec.head.probabilities(logits)
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)
    assert result.metadata["adapter"]["kind"] == kind
