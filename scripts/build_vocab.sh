#!/usr/bin/env bash
# Build a Chinese WordPiece vocab.txt from a corpus: scripts/build_vocab.sh --input_file=... --output_file=...
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.build_vocab "$@"
