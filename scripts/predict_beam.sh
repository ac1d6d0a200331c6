#!/usr/bin/env bash
# Bulk prediction through Apache Beam (pip install -r requirements-beam.txt):
#   scripts/predict_beam.sh --export_dir exported/demo --input 'texts/*.txt' --output out/pred
# Any Beam pipeline option passes through (--runner DataflowRunner --project ... on a cluster).
set -euo pipefail
REQUIREMENTS=requirements-beam.txt
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
exec "$PYTHON" -m scripts.predict_beam "$@"
