#!/usr/bin/env bash
# The whole product on the bundled demo data, on a fresh machine:
# set up .venv, write a tiny Google-format BERT checkpoint, fine-tune on data/demo (train,
# dev evaluation, test predictions), export a SavedModel that takes raw text, predict with it.
#   scripts/demo.sh            # outputs under output/demo/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh" requirements.txt
source "$ROOT/scripts/_bootstrap.sh"
cd "$ROOT"
OUT="${DEMO_OUTPUT:-output/demo}"

echo "== 1. a tiny BERT checkpoint in Google's release layout (random weights)"
"$PYTHON" -m scripts.make_tiny_checkpoint --output_dir "$OUT/tiny_bert" \
  --vocab_texts data/demo/train.tsv data/demo/dev.tsv data/demo/test.tsv

echo "== 2. fine-tune, evaluate on dev, predict test"
scripts/train.sh --task_name=tsv --do_train --do_eval --do_predict \
  --data_dir=data/demo --model_dir="$OUT/tiny_bert" --output_dir="$OUT/model" --overwrite \
  --max_seq_length=64 --train_batch_size=32 --learning_rate=2e-3 --num_train_epochs=10

echo "== 3. export a SavedModel that takes raw text"
scripts/export.sh --output_dir "$OUT/model" --export_dir "$OUT/export"

echo "== 4. predict with the exported model"
printf '%s\n' \
  "国足主帅赛后表示球队需要加强防守" \
  "央行宣布下调存款准备金率0.5个百分点" \
  "新款折叠屏手机搭载自研芯片正式发布" \
  "这部电影首周票房突破五亿元" |
  scripts/predict.sh --export_dir "$OUT/export"

echo
echo "dev results:        $OUT/model/eval_results.json ($OUT/model/classification_report.txt)"
echo "test predictions:   $OUT/model/test_predictions.tsv"
echo "exported model:     $OUT/export/"
echo "serve it over HTTP: scripts/serve.sh --export_dir $OUT/export"
