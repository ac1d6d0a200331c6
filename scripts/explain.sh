#!/usr/bin/env bash
# Why a run's model says what it says: per text its prediction, the nearest training rows
# (cosine over pooled representations) with their labels, and the words that drove it:
#   scripts/explain.sh --output_dir=output/demo --index          # once: the support index
#   scripts/explain.sh --output_dir=output/demo --input_file=texts.txt [--top_k=3] \
#       [--output_file=why.jsonl] [--no_words] [--ig_steps=50] [--ig_baseline=pad|mask]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.explain "$@"
