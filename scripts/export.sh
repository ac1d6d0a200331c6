#!/usr/bin/env bash
# Export a training output as a versioned SavedModel that takes raw text:
#   scripts/export.sh --output_dir output/demo --export_dir exported/demo [--version N]
# writes exported/demo/<N>/ atomically (N: the next integer unless given).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.export "$@"
