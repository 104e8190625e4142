#!/usr/bin/env bash
# API fuzzing: schemathesis (pinned, installed into .venv-schemathesis) against openapi.yaml
# on a freshly started dev server (its own free port on 127.0.0.1, a throwaway SQLite file,
# the provider sandbox). Fails on any 5xx and on any response the schema does not describe.
#
#   scripts/schemathesis.sh            # short run (CI): 50 examples per operation, ~1 min
#   scripts/schemathesis.sh 500        # long run: 500 examples per operation
#   scripts/schemathesis.sh 100 --seed 42 --workers 1   # more `st run` options pass through
#
# Environment: PYTHON (default python3), SCHEMATHESIS_TIMEOUT (seconds for the whole
# `st run`, default 300 + 2 s per example), SCHEMATHESIS_REPORT_DIR (keep the JUnit and
# NDJSON reports there; default: a temporary directory removed on exit).
#
# What it does: builds and starts target/debug/replyline-devserver with a copy of
# config/dev.toml pointed at that port and a temporary store; posts three Telegram updates
# signed with the channel's secret token (the README's curl story) so that contacts exist;
# then runs every phase of `st run` (coverage, fuzzing, stateful; positive and negative
# data) with the agent's bearer token, feeding those contact ids (and the configured
# channel, agent and closing-category ids) into most generated requests so the deep paths
# run and not only the 404s. The server is stopped by its PID on exit. Exit status: st's
# (non-zero on any failed check), 124 on timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
VENV=".venv-schemathesis"
PYTHON="${PYTHON:-python3}"
MAX_EXAMPLES="${1:-50}"
shift || true
if ! [[ "$MAX_EXAMPLES" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/schemathesis.sh [MAX_EXAMPLES] [st run options...]" >&2
    exit 2
fi
TIMEOUT="${SCHEMATHESIS_TIMEOUT:-$((300 + 2 * MAX_EXAMPLES))}"

# 1. The pinned schemathesis (idempotent: the stamp file names the installed version).
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV" >&2
fi
stamp="$VENV/.installed"
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "schemathesis==$SCHEMATHESIS_VERSION" ]]; then
    echo "schemathesis.sh: installing schemathesis==$SCHEMATHESIS_VERSION into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" >&2
    echo "schemathesis==$SCHEMATHESIS_VERSION" >"$stamp"
fi
PY="$VENV/bin/python"

# 2. The dev server binary.
echo "== cargo build -p replyline-devserver"
cargo build --locked -p replyline-devserver
SERVER_BIN="$PWD/target/debug/replyline-devserver"

# 3. A temporary directory, configuration and free port; the server, stopped on exit.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/replyline-schemathesis.XXXXXX")"
SERVER_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 40); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.25
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$TMP/server.log" ]]; then
        echo "schemathesis.sh: last lines of the dev server's log:" >&2
        tail -n 20 "$TMP/server.log" >&2 || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
"$PY" - "$PORT" "$TMP" <<'PY'
# config/dev.toml with every 127.0.0.1:8080 (listen, public_url, sandbox api_base and
# callback URLs) moved to the chosen port and the store moved into the temp directory.
import re, sys
port, tmp = sys.argv[1], sys.argv[2]
text = open("config/dev.toml", encoding="utf-8").read()
text = text.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
text, n = re.subn(r'(?m)^path = "[^"]*"', f'path = "{tmp}/replyline.db"', text)
assert n == 1 and "8080" not in text, "config/dev.toml changed shape; update scripts/schemathesis.sh"
open(f"{tmp}/dev.toml", "w", encoding="utf-8").write(text)
PY

echo "== dev server on $BASE (store $TMP/replyline.db)"
RUST_LOG="${RUST_LOG:-warn}" "$SERVER_BIN" --config "$TMP/dev.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
answers() {
    # Any HTTP answer will do (401 without a token included).
    "$PY" - "$BASE" <<'PY' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/v1/channels", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}
for i in $(seq 1 100); do
    answers && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "schemathesis.sh: the dev server exited" >&2
        exit 1
    fi
    if [[ $i -eq 100 ]]; then
        echo "schemathesis.sh: the dev server did not answer on $BASE within 25 s" >&2
        exit 1
    fi
    sleep 0.25
done

# 4. Seed: three customers write on Telegram (signed with the secret token, as the README's
#    curl story does), then the agent finds their contact ids in the inbox. Each gets its
#    own operations, so that blocking one does not turn every other test into a 409:
#    Carlos for reads, profile edits, sends and assignment; Dana for close, open and
#    snooze; Bo for block and unblock.
read -r CONTACT_ID LIFECYCLE_ID BLOCKING_ID < <("$PY" - "$BASE" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
people = [(1111111, "Carlos", "Mendoza"), (2222222, "Dana", "Okafor"), (3333333, "Bo", "Lindqvist")]
for n, (chat, first, last) in enumerate(people, start=1):
    update = {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": first, "last_name": last},
            "text": "My order #123 never arrived",
        },
    }
    req = urllib.request.Request(
        base + "/webhooks/tg",
        data=json.dumps(update).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "dev-secret-token"},
    )
    urllib.request.urlopen(req, timeout=10).read()
req = urllib.request.Request(
    base + "/v1/inbox?view=all&status=open&limit=100",
    headers={"Authorization": "Bearer dev-token-alice"},
)
page = json.load(urllib.request.urlopen(req, timeout=10))
ids = {i["contact"]["first_name"]: i["contact"]["id"] for i in page["items"]}
print(" ".join(ids[first] for _, first, _ in people))
PY
)
if [[ -z "${BLOCKING_ID:-}" ]]; then
    echo "schemathesis.sh: seeding the contacts failed" >&2
    exit 1
fi
echo "== seeded contacts $CONTACT_ID (reads, sends) $LIFECYCLE_ID (close/open/snooze) $BLOCKING_ID (block/unblock)"

# 5. schemathesis. Most generated requests use a real contact, channel, agent and closing
#    category (the rest stay random, for the 404 and 422 paths); the bearer scheme gets
#    alice's token, and security parameters are not fuzzed (ignored_auth checks that a
#    request without a token is refused), so most requests get past authentication.
REPORT_DIR="${SCHEMATHESIS_REPORT_DIR:-$TMP/report}"
mkdir -p "$REPORT_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
cat >"$TMP/schemathesis.toml" <<TOML
[auth.openapi.bearer]
bearer = "dev-token-alice"

[dictionaries.contacts]
values = ["$CONTACT_ID"]

[dictionaries.lifecycle]
values = ["$LIFECYCLE_ID"]

[dictionaries.blocking]
values = ["$BLOCKING_ID"]

[dictionaries.channels]
values = ["tg", "web", "sms"]

[dictionaries.agents]
values = ["alice", "bob"]

[dictionaries.categories]
values = ["resolved", "follow_up", "spam"]

[parameters]
"path.contact_id" = { dictionary = "contacts", probability = 0.8 }
"path.channel_id" = { dictionary = "channels", probability = 0.8 }
"body.channel" = { dictionary = "channels", probability = 0.8 }
"body.agent_id" = { dictionary = "agents", probability = 0.5 }
"body.category" = { dictionary = "categories", probability = 0.5 }

[[operations]]
include-path = ["/v1/contacts/{contact_id}/close", "/v1/contacts/{contact_id}/open", "/v1/contacts/{contact_id}/snooze"]
parameters = { "path.contact_id" = { dictionary = "lifecycle", probability = 0.8 } }

[[operations]]
include-path = ["/v1/contacts/{contact_id}/block", "/v1/contacts/{contact_id}/unblock"]
parameters = { "path.contact_id" = { dictionary = "blocking", probability = 0.8 } }

# Telegram's webhook "signature" is a fixed header: with it, generated bodies reach the
# Telegram parser and the store instead of stopping at 401 (web and sms stay unsigned).
[[operations]]
include-path = "/webhooks/{channel_id}"
headers = { "X-Telegram-Bot-Api-Secret-Token" = "dev-secret-token" }

# Ids seen in responses are not reused as inputs: they would spread /block to every
# contact (the inbox lists them all), and the dictionaries above already give real ids.
[phases.coverage.extra-data-sources]
responses = false

[phases.fuzzing.extra-data-sources]
responses = false

# Crash files (for st replay) go with the reports, not into the work tree.
[cache]
directory = "$REPORT_DIR/cache"

[generation]
database = "$REPORT_DIR/examples"
with-security-parameters = false
TOML
# Hypothesis' own files too.
export HYPOTHESIS_STORAGE_DIRECTORY="$REPORT_DIR/hypothesis"

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance"
CHECKS+=",response_schema_conformance,response_headers_conformance"
CHECKS+=",negative_data_rejection,missing_required_header,ignored_auth,unsupported_method"

echo "== st run: $MAX_EXAMPLES examples per operation, timeout ${TIMEOUT}s"
start=$(date +%s)
set +e
timeout --kill-after=10 "$TIMEOUT" "$VENV/bin/st" --config-file "$TMP/schemathesis.toml" run \
    openapi.yaml \
    --url "$BASE" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --report junit,ndjson --report-dir "$REPORT_DIR" \
    --no-color \
    "$@"
rc=$?
set -e
echo "== st run took $(($(date +%s) - start)) s (exit $rc)"
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "schemathesis.sh: st run did not finish within ${TIMEOUT}s" >&2
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the dev server died during the run" >&2
    rc=1
fi
exit "$rc"
