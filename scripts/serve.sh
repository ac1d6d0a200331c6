#!/usr/bin/env bash
# Serve an export (a SavedModel, or an ONNX export: told from its files) over HTTP (Flask on
# waitress), bound to 127.0.0.1 by default:
#   scripts/serve.sh --export_dir exported/demo [--host 127.0.0.1] [--port 8501]
# POST /predict, POST /v1/models/<name>:predict (TF Serving's REST shape), GET /health,
# GET /metadata, and a web page at /. SIGTERM / Ctrl-C shut down gracefully.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.serve "$@"
