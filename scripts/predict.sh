#!/usr/bin/env bash
# Predict with an exported SavedModel (needs only tensorflow and tensorflow_text):
#   scripts/predict.sh --export_dir exported/demo                 # interactive REPL
#   scripts/predict.sh --export_dir exported/demo < texts.txt     # TSV of predictions on stdout
#   scripts/predict.sh --export_dir exported/demo --input_file texts.txt --output_file out.tsv
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.predict "$@"
