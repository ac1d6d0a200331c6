#!/usr/bin/env bash
# Convert a checkpoint folder between Google TF1 and Hugging Face safetensors:
#   scripts/convert_checkpoint.sh --input_dir $BERT_BASE_DIR --output_dir converted/ [--to hf|tf1]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.convert_checkpoint "$@"
