"""Serving helpers: a trained-in-form output folder, a server process, HTTP calls, and the
in-memory predictions an export must equal."""

from __future__ import annotations

from tests.support.samples import CHINESE_SAMPLES, SERVING_TEXTS


def write_serving_output_dir(
    root,
    *,
    head_kind: str,
    is_pair: bool,
    labels: tuple[str, ...],
    thresholds: tuple[float, ...] | None = None,
    max_seq_length: int = 32,
    seed: int = 0,
    **spec_fields,
):
    """A training output folder (classifier_config.json, weights, vocab, labels) holding a tiny
    random classifier: what train.sh writes, in a second instead of a training run.
    ``spec_fields``: further ClassifierSpec fields (temperatures, long_text, ...)."""
    from pathlib import Path

    import keras

    from classifier.checkpoints.tiny import randomize_weights, tiny_bert_config
    from classifier.classifier_spec import ClassifierSpec
    from classifier.text.vocab import build_tiny_chinese_vocab, write_vocab
    from classifier.trained_model import build_classifier, save_trained_model

    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    vocab = build_tiny_chinese_vocab(extra_texts=CHINESE_SAMPLES + SERVING_TEXTS)
    write_vocab(out / "source_vocab.txt", vocab)
    keras.utils.set_random_seed(seed)
    spec = ClassifierSpec(
        model=tiny_bert_config(len(vocab), num_layers=2, hidden_size=32),
        labels=labels,
        head_kind=head_kind,
        is_pair=is_pair,
        max_seq_length=max_seq_length,
        thresholds=thresholds,
        task_name="pair" if is_pair else ("multilabel" if head_kind == "multilabel" else "tsv"),
        **spec_fields,
    )
    model = build_classifier(spec)
    randomize_weights(model, seed, scale=0.3)
    save_trained_model(out, model, spec, out / "source_vocab.txt")
    return out


class ServerProcess:
    """scripts/serve.sh as a real process on 127.0.0.1 and a free port (--port 0)."""

    def __init__(self, export_dir, log_path, *args: str, timeout: float = 180.0) -> None:
        import queue
        import re
        import subprocess
        import threading
        import time
        from pathlib import Path

        repo = Path(__file__).resolve().parents[2]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        cmd = [str(repo / "scripts/serve.sh"), "--export_dir", str(export_dir), "--port", "0"]
        self.proc = subprocess.Popen(
            [*cmd, *args], stdout=subprocess.PIPE, stderr=self._log, text=True, encoding="utf-8"
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True
        ).start()
        deadline = time.monotonic() + timeout
        self.url = None
        while self.url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            match = re.search(r" on (http://\S+)", line)
            if match:
                self.url = match.group(1)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code (SIGKILL if it does not end in time)."""
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def in_memory_probabilities(output_dir, texts, texts_b=None):
    """(probabilities, token_ids, segment_ids) of the trained Keras model in ``output_dir``, fed
    as training feeds it: Python tokenizer, length-sorted batches padded to their longest."""
    from classifier.batching import EncodedExamples
    from classifier.inference import predict_logits
    from classifier.trained_model import VOCAB_FILE, inference_model, load_trained_model

    model, spec = load_trained_model(output_dir)
    model = inference_model(model, spec)
    encoder = spec.text_encoder(output_dir / VOCAB_FILE)
    token_ids, segment_ids = encoder.encode_many(texts, texts_b)
    logits = predict_logits(model, EncodedExamples(token_ids, segment_ids), batch_size=4)
    return spec.head.probabilities(logits), token_ids, segment_ids


class HttpReply:
    """Status, headers and body of one HTTP response (http_call)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        import json

        return json.loads(self.body.decode("utf-8"))


def http_call(
    server, method: str, path: str, body=None, headers: dict | None = None, raw=None
) -> HttpReply:
    """One request to ``server.url`` on a fresh connection; ``body`` goes as JSON, ``raw``
    as given (malformed bodies included)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return HttpReply(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()
