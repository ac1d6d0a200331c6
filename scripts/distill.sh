#!/usr/bin/env bash
# Knowledge distillation: a small student (a few of the teacher's layers) trained on a
# fine-tuned teacher's predictions, over the task's training data plus any unlabelled text:
#   scripts/distill.sh --teacher_dir=output/demo --data_dir=data/demo \
#     --unlabeled_file=more_reviews.txt --output_dir=output/demo_student
# The student's folder is a run folder like train.sh's: export.sh, predict.sh, serve.sh take it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.distill "$@"
