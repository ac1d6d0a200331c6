#!/usr/bin/env bash
# Choose what to label next: the pool's texts the model is least sure of (or a spread-out set of
# them), best first, as a TSV to hand to annotators:
#   scripts/select_for_labeling.sh --export_dir exported/demo --input_file pool.txt \
#       --output_file to_label.tsv --num 200 --strategy entropy|margin|least_confidence|diverse
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.select_for_labeling "$@"
