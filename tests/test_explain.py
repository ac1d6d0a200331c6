"""Token and word attributions by integrated gradients (classifier.explain, serving.explaining).

Specifications: completeness (a row's attributions add up to logit(input) - logit(baseline)
within 5% at the default steps) on every backbone family, adapters and long-text mode;
symmetry on a model that cannot tell two positions apart; the rows explained are exactly the
rows predicted; word scores are the sums of their tokens; and an export explains exactly as
its run folder does in memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from classifier.adapters import make_adapter_config
from classifier.checkpoints.tiny import randomize_weights, tiny_albert_config, tiny_bert_config
from classifier.classifier_spec import ClassifierSpec
from classifier.estimator import FineTuner
from classifier.explain.explanation import TextExplainer
from classifier.explain.integrated_gradients import (
    gradient_times_input,
    integrated_gradients,
    model_attribution,
)
from classifier.text.long_text import LongTextPolicy
from classifier.text.row_encoder import RowEncoder
from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
from classifier.trained_model import VOCAB_FILE, build_classifier, save_trained_model
from export.exporter import export_metadata
from serving import Predictor
from serving.explaining import ExplainSettings, ExplainUnavailable, labels_to_explain
from serving.in_memory import InMemoryPredictor
from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS

TEXTS = [
    "这家餐厅的菜太难吃了，服务也很差。",
    "今天天气很好，我们去公园散步吧！",
    "苹果发布了新款iPhone手机",
    "中國的繁體字也應該被正確處理。" * 4,
]
LABELS = ("体育", "财经", "科技")


def run_folder(root, *, family="bert", adapter=None, head_kind="multiclass", seed=3, **fields):
    """A train.sh-like run folder holding a tiny random classifier (see write_serving_output_dir)."""
    root.mkdir(parents=True, exist_ok=True)
    vocab = build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES + SERVING_TEXTS + TEXTS)
    write_vocab(root / "source_vocab.txt", vocab)
    if family == "albert":
        model = tiny_albert_config(len(vocab), num_layers=3, hidden_size=32, embedding_size=16)
    else:
        model = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    spec = ClassifierSpec(
        model=model,
        labels=LABELS,
        head_kind=head_kind,
        max_seq_length=fields.pop("max_seq_length", 32),
        adapter=None if adapter is None else make_adapter_config(*adapter).to_dict(),
        task_name="multilabel" if head_kind == "multilabel" else "tsv",
        **fields,
    )
    built = build_classifier(spec)
    randomize_weights(built, seed, scale=0.3)
    save_trained_model(root, built, spec, root / "source_vocab.txt")
    return root


def in_memory(run) -> InMemoryPredictor:
    tuner = FineTuner.load(run)
    return InMemoryPredictor(
        lambda texts, texts_b, *rest: tuner.predict_outputs(texts, texts_b),
        export_metadata(tuner.spec_, run),
        run,
        attribute=lambda: model_attribution(tuner.model_),
        vocab_file=run / VOCAB_FILE,
    )


CASES = {
    "bert": {},
    "albert": {"family": "albert"},
    "multilabel": {"head_kind": "multilabel", "thresholds": (0.3, 0.5, 0.4)},
    "lora": {"adapter": ("lora",)},
    "houlsby": {"adapter": ("houlsby",)},
    "k_adapter": {"adapter": ("k_adapter",)},
    "sliding_window": {"long_text": "sliding_window", "max_seq_length": 16},
    "sliding_window_max": {
        "long_text": "sliding_window",
        "window_pooling": "max",
        "max_seq_length": 16,
    },
    "head_tail": {"long_text": "head_tail", "max_seq_length": 16},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_attributions_add_up_to_the_logit_difference(tmp_path, case):
    predictor = in_memory(run_folder(tmp_path / "run", **CASES[case]))
    explained = predictor.explain(TEXTS)
    for text, attributions in zip(TEXTS, explained, strict=True):
        assert attributions, text
        for attribution in attributions:
            total = sum(token.score for token in attribution.tokens)
            gap = attribution.logit - attribution.baseline_logit
            assert abs(total - gap) <= 0.05 * abs(gap) + 1e-4, (case, text, total, gap)
            # word scores are the sums of their tokens
            words = sum(w.score for w in attribution.words)
            assert words == pytest.approx(total, abs=1e-5)


def test_the_explained_rows_are_the_predicted_rows(tmp_path):
    """TextExplainer rows texts as RowEncoder does (truncation, head + tail, windows)."""
    run = run_folder(tmp_path / "run")
    tuner = FineTuner.load(run)
    tokenizer = tuner._encoder.tokenizer
    seen = {}

    def attribute(input_ids, input_mask, segment_ids, target, baseline_ids, steps):
        rows = [list(ids[mask > 0]) for ids, mask in zip(input_ids, input_mask, strict=True)]
        seen.setdefault("rows", []).extend(rows)
        for ids, base in zip(input_ids, baseline_ids, strict=True):
            special = np.isin(ids, [tokenizer.cls_id, tokenizer.sep_id])
            assert np.all((base == ids) == special | (ids == tokenizer.pad_id))
        zeros = np.zeros(len(input_ids), np.float32)
        return {"attributions": np.zeros(input_ids.shape), "logit": zeros, "baseline_logit": zeros}

    for policy in (
        LongTextPolicy(),
        LongTextPolicy("head_tail"),
        LongTextPolicy("sliding_window", doc_stride=3),
    ):
        explainer = TextExplainer(tokenizer, 12, policy, LABELS, attribute)
        encoder = RowEncoder(tokenizer.vocab, max_seq_length=12, long_text=policy)
        for text in TEXTS:
            seen.clear()
            explainer.explain(text, ["财经"])
            assert seen["rows"] == [ids for ids, _ in encoder.encode_rows(text)], policy


def test_symmetric_tokens_get_equal_attributions(tmp_path):
    """With position embeddings zeroed, the model cannot tell two equal tokens apart: swapping
    them changes nothing, so integrated gradients must give them the same score."""
    run = run_folder(tmp_path / "run")
    tuner = FineTuner.load(run)
    model = tuner.model_
    for weight in model.weights:
        if "position_embeddings" in weight.path:
            weight.assign(np.zeros(weight.shape, np.float32))
    explainer = TextExplainer(
        tuner._encoder.tokenizer, 32, LongTextPolicy(), LABELS, model_attribution(model)
    )
    attribution = explainer.explain("好天好", ["体育"])[0]
    scores = {t.start: t.score for t in attribution.tokens}
    assert scores[0] == pytest.approx(scores[2], rel=1e-4, abs=1e-6)
    assert abs(scores[0]) > 1e-4  # not trivially equal


def test_integrated_gradients_beats_one_step_on_completeness(tmp_path):
    run = run_folder(tmp_path / "run")
    tuner = FineTuner.load(run)
    ids, segments = tuner._encoder.encode_rows(TEXTS[0])[0]
    ids = np.asarray([ids], np.int32)
    segments = np.asarray([segments], np.int32)
    mask = np.ones_like(ids)
    tokenizer = tuner._encoder.tokenizer
    base = np.where(np.isin(ids, [tokenizer.cls_id, tokenizer.sep_id]), ids, tokenizer.pad_id)
    target = np.asarray([1], np.int32)
    out = integrated_gradients(tuner.model_, ids, segments, mask, target, base, 50)
    gap = float(out["logit"][0] - out["baseline_logit"][0])
    assert float(np.sum(out["attributions"])) == pytest.approx(gap, rel=0.02, abs=1e-4)
    plain = gradient_times_input(tuner.model_, ids, segments, mask, target).numpy()
    assert plain.shape == ids.shape and np.all(np.isfinite(plain))


@pytest.mark.parametrize("case", ["multilabel", "sliding_window"])
def test_an_export_explains_as_its_run_folder(tmp_path, case):
    run = run_folder(tmp_path / "run", **CASES[case])
    memory = in_memory(run)
    exported = Predictor(FineTuner.load(run).export(tmp_path / "export"))
    for settings in (ExplainSettings(), ExplainSettings(20, "mask", "科技")):
        a = memory.explain(TEXTS, settings=settings)
        b = exported.explain(TEXTS, settings=settings)
        for left, right in zip(a, b, strict=True):
            assert [x.label for x in left] == [x.label for x in right]
            for x, y in zip(left, right, strict=True):
                assert [t.token for t in x.tokens] == [t.token for t in y.tokens]
                np.testing.assert_allclose(
                    [t.score for t in x.tokens], [t.score for t in y.tokens], atol=1e-5
                )
                assert [w.word for w in x.words] == [w.word for w in y.words]


def test_labels_explained_follow_the_prediction(tmp_path):
    run = run_folder(tmp_path / "run", head_kind="multilabel", thresholds=(0.0, 0.0, 1.0))
    memory = in_memory(run)
    prediction = memory.predict([TEXTS[0]])[0]
    assert labels_to_explain(prediction, ExplainSettings()) == [
        item.label for item in prediction.labels
    ]
    assert set(labels_to_explain(prediction, ExplainSettings())) == {"体育", "财经"}
    assert labels_to_explain(prediction, ExplainSettings(label="科技")) == ["科技"]
    nothing = dataclasses.replace(prediction, labels=())
    top = max(prediction.probabilities, key=prediction.probabilities.get)
    assert labels_to_explain(nothing, ExplainSettings()) == [top]
    explained = memory.explain([TEXTS[0]])[0]
    assert [a.label for a in explained] == [item.label for item in prediction.labels]


def test_bad_settings_and_labels_get_clear_errors(tmp_path):
    memory = in_memory(run_folder(tmp_path / "run"))
    with pytest.raises(ValueError, match="unknown label '足球' to explain"):
        memory.explain(TEXTS[:1], settings=ExplainSettings(label="足球"))
    with pytest.raises(ValueError, match="ig_steps"):
        ExplainSettings(steps=0)
    with pytest.raises(ValueError, match="ig_baseline"):
        ExplainSettings(baseline="zero")


def test_frozen_and_onnx_exports_say_they_cannot_explain(tmp_path):
    run = run_folder(tmp_path / "run")
    tuner = FineTuner.load(run)
    frozen = Predictor(tuner.export(tmp_path / "frozen", freeze_weights=True))
    with pytest.raises(ExplainUnavailable, match="--freeze_weights"):
        frozen.explain(TEXTS[:1])
    pytest.importorskip("onnxruntime")
    from export.exporter import export_trained_model

    result = export_trained_model(run, tmp_path / "onnx", export_format="onnx")
    with pytest.raises(ExplainUnavailable, match="ONNX"):
        Predictor(result.path).explain(TEXTS[:1])
