#!/usr/bin/env bash
# More training rows from a small data set: jieba word swaps, deletions, insertions and
# masked-LM replacements, labels kept, exact duplicates dropped.
#   scripts/augment.sh --input_file=train.tsv --output_file=train_aug.tsv --num_aug=4 \
#     [--methods=swap,delete,insert,mlm --model_dir=$BERT_BASE_DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.augment "$@"
