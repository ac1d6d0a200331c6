#!/usr/bin/env bash
# Annotation tools' files to label-text TSV and back, with a model's predictions as pre-annotations:
#   scripts/convert_annotations.sh --from=label_studio --to=tsv --input_file=export.json --output_file=train.tsv
#   scripts/convert_annotations.sh --from=tsv --to=doccano --input_file=to_label.tsv \
#       --output_file=import.jsonl --export_dir=exported/my_task
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.convert_annotations "$@"
