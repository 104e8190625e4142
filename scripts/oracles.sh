#!/usr/bin/env bash
# Installs the providers' own SDKs (PyPI) into .venv-oracles, for the tests that sign or
# check webhooks with them. Prints the venv's python path. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=".venv-oracles"
REQ="tests/oracles/requirements.txt"
PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV" >&2
fi
stamp="$VENV/.installed"
if [[ ! -f "$stamp" ]] || ! cmp -s "$REQ" "$stamp"; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2
    cp "$REQ" "$stamp"
fi
echo "$PWD/$VENV/bin/python"
