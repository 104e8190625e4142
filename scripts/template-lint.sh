#!/usr/bin/env bash
# Lints template.yaml offline with a pinned cfn-lint and `sam validate --lint`, and checks
# that deliberately broken copies (tests/template/broken.tsv) are refused, so the lint can
# fail. Each tool lives in its own virtualenv (aws-sam-cli pins its own cfn-lint and boto3).
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION="1.51.0"
SAM_CLI_VERSION="1.170.0"
PYTHON="${PYTHON:-python3}"

venv_with() {
    local venv="$1" requirement="$2"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$PYTHON" -m venv "$venv"
    fi
    if [[ "$(cat "$venv/.installed" 2>/dev/null)" != "$requirement" ]]; then
        echo "template-lint.sh: installing $requirement into $venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
        echo "$requirement" >"$venv/.installed"
    fi
}

venv_with .venv-cfn-lint "cfn-lint==$CFN_LINT_VERSION"
venv_with .venv-sam "aws-sam-cli==$SAM_CLI_VERSION"

export SAM_CLI_TELEMETRY=0
"$PYTHON" scripts/lint_template.py --cfn-lint .venv-cfn-lint/bin/cfn-lint --sam .venv-sam/bin/sam
