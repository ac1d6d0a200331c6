#!/usr/bin/env bash
# Masked-LM pretraining (whole-word masking with jieba) of a BERT or ALBERT backbone:
#   scripts/pretrain.sh --input_file='corpus/*.txt' --model_dir=$BERT_BASE_DIR \
#     --output_dir=output/domain_bert --num_train_steps=10000
# or from scratch with --bert_config_file and --vocab_file (see scripts/build_vocab.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.pretrain "$@"
