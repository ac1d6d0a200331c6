"""Hot reload memory: the resident size of serve.sh while new versions keep arriving.

    python benchmarks/bench_reload_memory.py [--tiny] [--reloads 20] [--output F]

A BERT-base export (random weights; --tiny: 2 layers, hidden 32) is served with a 0.5 s poll;
``--reloads`` times a new version folder appears (a copy of the first, renamed into place as
export.sh does), the server swaps to it, and one request runs on it. The server's RSS is read
from /proc after each swap. The goal (issue 22): RSS after the last reload within 10% of the
RSS after the second, i.e. a replaced model is given back, not kept.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_inference import build_export
from common import ROOT, machine, save_json

TEXTS = ["这家餐厅的菜太难吃了，服务也很差。", "物流很快，包装完好，质量不错，下次还会再来买。" * 4]


def rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096 / 2**20


def call(address: str, method: str, path: str, body: dict | None = None) -> dict:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        connection.request(method, path, body=data, headers=headers)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2 layers, hidden 32: smoke run")
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--output", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.reloads < 2:
        parser.error("--reloads must be at least 2")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, exports = build_export(work, TEXTS, args.tiny, ["float32"])
        served = work / "served"
        served.mkdir()
        shutil.copytree(exports["float32"], served / "1")
        log = work / "serve.log"
        cmd = [str(ROOT / "scripts" / "serve.sh"), "--export_dir", str(served), "--port", "0"]
        proc = subprocess.Popen(
            [*cmd, "--poll_seconds=0.5"], stdout=subprocess.PIPE, stderr=log.open("w"), text=True
        )
        try:
            address = None
            for line in proc.stdout:
                match = re.search(r" on http://([\d.]+):(\d+)", line)
                if match:
                    address = f"{match.group(1)}:{match.group(2)}"
                    break
            if address is None:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            call(address, "POST", "/predict", {"texts": TEXTS})
            rss = [round(rss_mib(proc.pid), 1)]
            for version in range(2, args.reloads + 2):
                staging = served / f".tmp-{version}"
                shutil.copytree(exports["float32"], staging)
                staging.rename(served / str(version))
                deadline = time.monotonic() + 300
                while call(address, "GET", "/health")["model_version"] != version:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"version {version} was not loaded")
                    time.sleep(0.2)
                call(address, "POST", "/predict", {"texts": TEXTS})
                time.sleep(1.6)  # the poller's releases after a swap
                rss.append(round(rss_mib(proc.pid), 1))
                shutil.rmtree(served / str(version - 1))  # as a rollout keeps few versions
                print(f"reload {version - 1}: RSS {rss[-1]:.0f} MiB", flush=True)
        finally:
            proc.terminate()
            proc.wait(60)
    ratio = rss[-1] / rss[2]
    print(
        f"RSS after 2 reloads {rss[2]:.0f} MiB, after {args.reloads} {rss[-1]:.0f} MiB: "
        f"{ratio:.3f}x (goal <= 1.10)"
    )
    if args.output:
        save_json(
            args.output,
            {
                "machine": machine(),
                "tiny": args.tiny,
                "reloads": args.reloads,
                "rss_mib_after_each_reload": rss,
                "ratio_last_to_second": round(ratio, 4),
            },
        )


if __name__ == "__main__":
    main()
