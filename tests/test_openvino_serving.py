"""predict.sh / serve.sh --runtime=openvino (issue 25, item 3): OpenVINO compiles an ONNX
export's model.onnx (the fused one export.sh writes; no second graph) and serves it behind the
same OnnxPredictor: the same tokenizer, batching, window pooling and decisions. In f32 its
probabilities equal ONNX Runtime's within 1e-4; in bf16 within 2e-2."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

from export import export_trained_model  # noqa: E402
from serving.loader import load_predictor  # noqa: E402
from serving.versions import ModelVersion  # noqa: E402
from tests.test_onnx_serving import TEXTS, write_run  # noqa: E402

TOLERANCE = 1e-4
BF16_TOLERANCE = 2e-2


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A multilabel run (thresholds, temperatures, bounds, sliding windows) exported as ONNX
    (abstaining below 0.1), and that export on ONNX Runtime."""
    root = tmp_path_factory.mktemp("openvino")
    run = write_run(
        root / "run",
        head_kind="multilabel",
        thresholds=(0.35, 0.45, 0.5, 0.6),
        temperatures=(1.3, 0.9, 1.1, 2.0),
        label_bounds={"min_labels": 1, "max_labels": 2},
        long_text="sliding_window",
        doc_stride=9,
        seed=8,
    )
    result = export_trained_model(
        run, root / "export", export_format="onnx", abstain_threshold=0.1, abstain_label="其他"
    )
    return result.path.parent, load_predictor(result.path.parent, batch_size=8)


def test_f32_equals_onnx_runtime_and_decides_the_same(exported):
    export_dir, onnxruntime = exported
    openvino = load_predictor(export_dir, batch_size=8, runtime="openvino", precision="f32")
    assert (openvino.runtime, openvino.precision) == ("openvino", "f32")
    got, expected = openvino.run(TEXTS), onnxruntime.run(TEXTS)
    assert np.abs(got["probabilities"] - expected["probabilities"]).max() < TOLERANCE
    for key in ("label", "labels", "predicted", "abstained"):
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_bf16_stays_within_2e_2(exported):
    export_dir, onnxruntime = exported
    openvino = load_predictor(export_dir, batch_size=8, runtime="openvino", precision="bf16")
    got = openvino.run(TEXTS)["probabilities"]
    assert np.abs(got - onnxruntime.run(TEXTS)["probabilities"]).max() < BF16_TOLERANCE
    # OpenVINO computes in bf16 where the CPU has bfloat16 kernels, in f32 elsewhere
    assert openvino.precision in ("bf16", "f32")


def test_threads_each_get_their_own_infer_request(exported):
    export_dir, onnxruntime = exported
    openvino = load_predictor(export_dir, runtime="openvino")
    expected = onnxruntime.run(TEXTS[:12])["probabilities"]
    results, errors = [], []

    def call():
        try:
            for _ in range(3):
                results.append(openvino.run(TEXTS[:12])["probabilities"])
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 12
    assert max(np.abs(r - expected).max() for r in results) < TOLERANCE


def test_an_int8_export_is_refused_by_name(exported, tmp_path):
    """OpenVINO has no conversion for onnxruntime's QAttention: one clear error, not its
    converter's report."""
    export_dir, _ = exported
    int8 = export_trained_model(
        export_dir.parent / "run", tmp_path / "int8", export_format="onnx", quantize="int8"
    )
    with pytest.raises(ValueError, match="--quantize=int8 ONNX export.*onnxruntime only"):
        load_predictor(int8.path, runtime="openvino")


def test_a_model_openvino_cannot_read_is_one_line_naming_it(exported, tmp_path):
    from serving.onnx_predictor import OnnxExportError, open_session

    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(OnnxExportError, match="model.onnx: OpenVINO cannot load it"):
        open_session(broken, runtime="openvino")


def test_wrong_runtime_settings_are_named(exported, tmp_path):
    from serving.loader import load_version

    export_dir, _ = exported
    with pytest.raises(ValueError, match="--precision=bf16 applies to --runtime=openvino"):
        load_predictor(export_dir, precision="bf16")
    with pytest.raises(ValueError, match="--runtime must be one of"):
        load_predictor(export_dir, runtime="tensorrt")
    with pytest.raises(ValueError, match="--precision must be one of"):
        load_predictor(export_dir, runtime="openvino", precision="fp8")
    saved_model = tmp_path / "1"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")  # told from its files; never loaded
    with pytest.raises(ValueError, match="SavedModel, served by TensorFlow; --runtime=openvino"):
        load_version(ModelVersion(1, saved_model), runtime="openvino")


def test_predict_sh_takes_the_runtime_flags(exported, tmp_path, caplog):
    from scripts.predict import main

    export_dir, onnxruntime = exported
    outputs = {}
    for name, flags in (
        ("onnxruntime", []),
        ("openvino", ["--runtime=openvino", "--precision=f32"]),
    ):
        target = tmp_path / f"{name}.jsonl"
        argv = [f"--export_dir={export_dir}", f"--output_file={target}", "--verbosity=warning"]
        assert main([*argv, *flags, *(f"--text={t}" for t in TEXTS[:6])]) == 0
        outputs[name] = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines()]
    decided = {name: [r["predicted_labels"] for r in rows] for name, rows in outputs.items()}
    assert decided["openvino"] == decided["onnxruntime"]
    assert main([f"--export_dir={export_dir}", "--precision=bf16", "--text=x"]) == 2
    assert "--precision=bf16 applies to --runtime=openvino" in caplog.text


def test_serve_sh_serves_on_openvino(exported, tmp_path):
    from tests.support.serving import ServerProcess, http_call

    export_dir, onnxruntime = exported
    log = tmp_path / "serve.log"
    server = ServerProcess(export_dir, log, "--poll_seconds", "0", "--runtime", "openvino")
    try:
        reply = http_call(server, "POST", "/predict", {"texts": [TEXTS[0]]})
        assert reply.status == 200
        (got,) = reply.json()["predictions"]
        assert got["label"] == onnxruntime.predict_one(TEXTS[0]).label
    finally:
        assert server.stop() == 0, log.read_text()[-3000:]
    assert "ONNX on openvino" in log.read_text()


def test_an_auto_export_is_served_by_the_fastest_runtime_of_the_serving_cpu(
    exported, tmp_path, fake_cpu
):
    """export.sh --format=onnx --dtype=auto writes the float32 graph marked serve_dtype auto;
    loading it picks OpenVINO bf16 on an AMX CPU and ONNX Runtime elsewhere, unless asked."""
    from scripts.export import main as export_main

    export_dir, onnxruntime = exported
    auto_dir = tmp_path / "auto"
    argv = [f"--output_dir={export_dir.parent / 'run'}", f"--export_dir={auto_dir}"]
    assert export_main([*argv, "--format=onnx", "--dtype=auto", "--verbosity=warning"]) == 0
    metadata = json.loads((auto_dir / "1" / "metadata.json").read_text(encoding="utf-8"))
    assert (metadata["dtype"], metadata["serve_dtype"]) == ("float32", "auto")
    expected = onnxruntime.run(TEXTS)["probabilities"]

    fake_cpu("amx_tile", "amx_bf16")
    fast = load_predictor(auto_dir, batch_size=8)
    assert (fast.runtime, fast.precision) == ("openvino", "bf16")
    assert np.abs(fast.run(TEXTS)["probabilities"] - expected).max() < BF16_TOLERANCE
    asked = load_predictor(auto_dir, dtype="float32")  # the flag wins over the metadata
    assert (asked.runtime, asked.precision) == ("onnxruntime", "f32")
    precise = load_predictor(auto_dir, runtime="openvino", precision="f32")  # so does this
    assert (precise.runtime, precise.precision) == ("openvino", "f32")

    fake_cpu("avx512_bf16")  # no AMX: bfloat16 does not pay at batch 1
    plain = load_predictor(auto_dir, batch_size=8)
    assert plain.runtime == "onnxruntime"
    assert np.abs(plain.run(TEXTS)["probabilities"] - expected).max() < TOLERANCE
    # an export without --dtype=auto stays on ONNX Runtime float32 unless asked
    fake_cpu("amx_bf16")
    assert load_predictor(export_dir).runtime == "onnxruntime"
    assert load_predictor(export_dir, dtype="auto").runtime == "openvino"


def test_predict_sh_and_serve_sh_take_dtype(exported, tmp_path, caplog):
    from scripts.predict import main
    from serving.loader import load_version

    export_dir, onnxruntime = exported
    target = tmp_path / "bf16.jsonl"
    argv = [f"--export_dir={export_dir}", f"--output_file={target}", "--verbosity=warning"]
    assert main([*argv, "--dtype=bfloat16", *(f"--text={t}" for t in TEXTS[:4])]) == 0
    rows = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and rows[0]["text"] == TEXTS[0]
    assert main([f"--export_dir={export_dir}", "--dtype=auto", "--precision=f32",
                 "--runtime=openvino", "--text=x"]) == 2  # fmt: skip
    assert "give --dtype or --precision, not both" in caplog.text
    saved_model = tmp_path / "1"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")  # told from its files; never loaded
    with pytest.raises(ValueError, match="--dtype=bfloat16 applies to an ONNX export"):
        load_version(ModelVersion(1, saved_model), dtype="bfloat16")
    from scripts.serve import build_parser

    assert build_parser().parse_args([f"--export_dir={export_dir}", "--dtype=auto"]).dtype == "auto"
