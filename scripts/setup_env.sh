#!/usr/bin/env bash
# Creates .venv (if missing) and installs a requirements file into it.
#   scripts/setup_env.sh [requirements.txt|requirements-dev.txt]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="${1:-requirements.txt}"
BASE_PYTHON="${BASE_PYTHON:-python3.11}"
command -v "$BASE_PYTHON" >/dev/null 2>&1 || BASE_PYTHON=python3
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "creating $ROOT/.venv with $($BASE_PYTHON --version)"
  "$BASE_PYTHON" -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
fi
# A stamp per requirements file skips the install when nothing changed since the last one.
STAMP="$ROOT/.venv/.installed-$(basename "$REQUIREMENTS")"
HASH="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-beam.txt" "$ROOT/$REQUIREMENTS" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  echo "installing $REQUIREMENTS into .venv"
  "$ROOT/.venv/bin/python" -m pip install --quiet -r "$ROOT/$REQUIREMENTS"
  # The project itself, editable: its packages and zh-textclf-* commands, without re-resolving
  # the pinned dependencies installed just above.
  "$ROOT/.venv/bin/python" -m pip install --quiet --no-deps -e "$ROOT"
  echo "$HASH" > "$STAMP"
fi
