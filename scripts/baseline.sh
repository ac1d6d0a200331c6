#!/usr/bin/env bash
# The quick baseline to beat before fine-tuning: jieba words + TF-IDF + logistic regression.
#   scripts/baseline.sh --data_dir data/demo [--task_name tsv] [--output_dir output/baseline]
#   (--output_dir: the reports a fine-tuned run writes for the split, through the same code)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.baseline "$@"
