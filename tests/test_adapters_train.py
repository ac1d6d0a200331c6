"""Every adapter kind trains on data/demo (128 examples, 8 epochs): the loss drops, every
trainable weight moves, and every frozen weight (backbone, fusion members) stays bitwise
the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_adapters import KINDS, perturb

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES, BATCH, EPOCHS = 128, 32, 8


@pytest.fixture(scope="module")
def demo(demo_bert_dir):
    from classifier.batching import pad_batch
    from classifier.checkpoints import load_pretrained
    from classifier.classifier_spec import ClassifierSpec
    from classifier.training.data import encode_examples
    from processors import TsvProcessor

    pretrained = load_pretrained(demo_bert_dir)
    processor = TsvProcessor(str(ROOT / "data" / "demo"))
    spec = ClassifierSpec(
        model=pretrained.config,
        labels=tuple(processor.get_labels()),
        head_kind="multiclass",
        max_seq_length=48,
    )
    encoder = spec.text_encoder(pretrained.files.vocab_file)
    train = encode_examples(encoder, processor.get_train_examples()[:EXAMPLES], spec)
    # one padded length: a single trace keeps the test fast
    return {
        "dir": demo_bert_dir,
        "spec": spec,
        "x": pad_batch(train, np.arange(EXAMPLES)),
        "y": train.labels,
    }


def fusion_members(demo, tmp_path) -> tuple[str, str]:
    """Two (untrained but non-zero) Pfeiffer adapters saved on the demo base."""
    from dataclasses import replace

    from classifier.adapters import apply_adapters, make_adapter_config, save_adapter
    from classifier.checkpoints import load_backbone
    from classifier.trained_model import build_classifier

    folders = []
    for seed in (1, 2):
        adapted = apply_adapters(load_backbone(demo["dir"]), make_adapter_config("pfeiffer"))
        spec = replace(
            demo["spec"],
            adapter=adapted.adapter_config.to_dict(),
            base_model={"fingerprint": adapted.base_fingerprint},
        )
        model = build_classifier(spec, adapted)
        perturb(adapted.adapter_weights(), seed=seed, scale=0.1)
        folders.append(str(tmp_path / f"member{seed}"))
        save_adapter(Path(folders[-1]) / "adapter", model, spec)
    return tuple(folders)


@pytest.mark.parametrize("name", [*KINDS, "fusion"])
def test_training_lowers_the_loss_and_touches_only_trainable_weights(name, demo, tmp_path):
    import keras

    from classifier.adapters import apply_adapters, make_adapter_config
    from classifier.checkpoints import load_backbone
    from classifier.losses import SoftmaxLoss
    from classifier.text_classifier import TextClassifier

    keras.utils.set_random_seed(0)
    if name == "fusion":
        config = make_adapter_config("fusion", adapter_dirs=fusion_members(demo, tmp_path))
    else:
        kind, options = KINDS[name]
        config = make_adapter_config(kind, **options)
    adapted = apply_adapters(load_backbone(demo["dir"]), config)
    model = TextClassifier(adapted, len(demo["spec"].labels))

    trainable = model.trainable_weights
    own = adapted.adapter_weights() + adapted.adapter.backbone_trainable() + model.head.weights
    assert {id(v) for v in trainable} == {id(v) for v in own if v.trainable}
    frozen = [(v, np.asarray(v).copy()) for v in model.weights if not v.trainable]
    assert len(frozen) >= len(adapted.backbone.weights) - 2 * 2 * 2 - 2  # Houlsby's LNs aside
    start = [np.asarray(v).copy() for v in trainable]

    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=SoftmaxLoss())
    before = model.evaluate(demo["x"], demo["y"], verbose=0)
    model.fit(demo["x"], demo["y"], batch_size=BATCH, epochs=EPOCHS, verbose=0)
    after = model.evaluate(demo["x"], demo["y"], verbose=0)

    assert after < before - 0.02, (before, after)
    for variable, value in frozen:
        np.testing.assert_array_equal(np.asarray(variable), value, err_msg=variable.path)
    moved = [not np.array_equal(np.asarray(v), s) for v, s in zip(trainable, start, strict=True)]
    assert all(moved), [v.path for v, m in zip(trainable, moved, strict=True) if not m]
