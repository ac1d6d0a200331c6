#!/usr/bin/env bash
# Sets up .venv with the test requirements, then lints and runs the whole test suite.
#   scripts/test.sh [--fast] [extra pytest arguments]
# --fast leaves out the tests marked slow (scripts run in subprocesses, servers, browsers,
# trainings of a minute or more): a few minutes instead of the whole suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup_env.sh" requirements-dev.txt
cd "$ROOT"

if [ "${1:-}" = "--fast" ]; then SKIP_BROWSER_SETUP=1; fi
# The browser test (tests/test_browser.py) drives Debian's Chromium through chromedriver, with a
# CJK font so Chinese renders; install them when missing. If that is impossible (no root, no
# apt), the test skips and says why.
if [ -z "${SKIP_BROWSER_SETUP:-}" ] && { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! fc-list 2>/dev/null | grep -qi "wenquanyi"; }; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  echo "installing chromium, chromium-driver and fonts-wqy-microhei for the browser test"
  if ! { $SUDO apt-get update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium chromium-driver fonts-wqy-microhei >/dev/null; }; then
    echo "WARNING: could not install chromium/chromium-driver: the browser test will skip" >&2
  fi
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
export TF_CPP_MIN_LOG_LEVEL=2
# One pytest worker per core, at most 4 (each holds TensorFlow and starts script processes);
# a test file stays on one worker, so its module fixtures are built once. PYTEST_WORKERS=0
# runs everything in this process.
WORKERS="${PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}"
if [ "$WORKERS" -gt 4 ]; then WORKERS=4; fi
PARALLEL=()
if [ "$WORKERS" -gt 1 ]; then PARALLEL=(-n "$WORKERS" --dist loadfile); fi
if [ "${1:-}" = "--fast" ]; then
  shift
  exec .venv/bin/python -m pytest "${PARALLEL[@]}" -m "not slow" "$@"
fi
exec .venv/bin/python -m pytest "${PARALLEL[@]}" "$@"
