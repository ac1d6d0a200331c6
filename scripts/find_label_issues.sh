#!/usr/bin/env bash
# The train.tsv rows that look mislabelled: out-of-fold predictions + cleanlab's confident learning.
#   scripts/find_label_issues.sh --task_name=tsv --data_dir=data/demo --output_file=issues.tsv
#   [--model_dir=CKPT] [--detector=model|tfidf] [--num_folds=5] [--write_cleaned=DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.find_label_issues "$@"
