#!/usr/bin/env bash
# Fine-tune, evaluate and predict: the flags of google-research/bert's run_classifier.py.
#   scripts/train.sh --task_name=tsv --do_train --do_eval --do_predict \
#     --data_dir=data/demo --model_dir=$BERT_BASE_DIR --output_dir=output/demo
# BERT_BASE_DIR and DATA_DIR stand in for --model_dir and --data_dir when those are not given.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.train "$@"
