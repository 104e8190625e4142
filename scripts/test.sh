#!/usr/bin/env bash
# The project's one test command (the README's second line; .ci/run calls it):
# formatting, lints, and every test of the workspace, the DynamoDB ones against a real
# DynamoDB API (moto server, installed into .venv-moto and started here, stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== template.yaml: cfn-lint (pinned), sam validate --lint, broken copies refused"
scripts/template-lint.sh

echo "== DynamoDB endpoint (moto server)"
export MOTO_PORT="${MOTO_PORT:-5055}"
started_moto=no
if ! scripts/moto.sh status >/dev/null 2>&1; then
    scripts/moto.sh start
    started_moto=yes
fi
stop_moto() {
    if [[ "$started_moto" == yes ]]; then
        scripts/moto.sh stop || true
    fi
}
trap stop_moto EXIT
export REPLYLINE_DYNAMODB_ENDPOINT="http://127.0.0.1:${MOTO_PORT}"

echo "== provider SDK oracles (PyPI)"
REPLYLINE_ORACLE_PYTHON="$(scripts/oracles.sh)"
export REPLYLINE_ORACLE_PYTHON

echo "== cargo test"
cargo test --workspace --locked --no-fail-fast

echo "== API fuzzing: schemathesis against openapi.yaml on the dev server (short run)"
scripts/schemathesis.sh
