# Sourced by the scripts/*.sh entry points: picks the project's Python and import path.
# With no $PYTHON given and no installed .venv yet, it creates .venv and installs what the
# command uses first (scripts/setup_env.sh; a script may set REQUIREMENTS before sourcing this),
# with the installer's lines on stderr so that a command's own output stays clean.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="${REQUIREMENTS:-requirements.txt}"
if [ -z "${PYTHON:-}" ]; then
  # requirements-dev.txt includes the others; requirements-beam.txt includes requirements.txt.
  installed=""
  for stamp in "$REQUIREMENTS" requirements-dev.txt; do
    if [ -f "$ROOT/.venv/.installed-$stamp" ]; then installed=yes; fi
  done
  if [ "$REQUIREMENTS" = requirements.txt ] && [ -f "$ROOT/.venv/.installed-requirements-beam.txt" ]; then
    installed=yes
  fi
  if [ -z "$installed" ]; then
    echo "$(basename "$0"): first run: setting up $ROOT/.venv with $REQUIREMENTS (a few minutes, once)" >&2
    if ! "$ROOT/scripts/setup_env.sh" "$REQUIREMENTS" >&2; then
      echo "$(basename "$0"): could not set up .venv; run scripts/setup_env.sh $REQUIREMENTS and fix what it reports, or set PYTHON to a Python that has the packages of $REQUIREMENTS" >&2
      exit 1
    fi
  fi
  PYTHON="$ROOT/.venv/bin/python"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
