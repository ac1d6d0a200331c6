#!/usr/bin/env bash
# Predict with an export (a SavedModel, needing tensorflow and tensorflow_text, or an ONNX export,
# needing onnxruntime; told from its files) or a train.sh
# run folder (predicted in memory, with the decisions its export would make):
#   scripts/predict.sh --export_dir exported/demo                 # interactive REPL
#   scripts/predict.sh --export_dir exported/demo --text 股市大涨 --text 中超开赛
#   scripts/predict.sh --export_dir exported/demo < texts.txt     # TSV of predictions on stdout
#   scripts/predict.sh --export_dir exported/demo --text 股市大涨 --top_k 3   # the 3 best labels
#   scripts/predict.sh --run_dir output/demo --input_file reviews.csv --id_column id \
#       --output_file predictions.jsonl                           # CSV in, JSONL out
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.predict "$@"
