#!/usr/bin/env bash
# A local DynamoDB endpoint for the store's DynamoDB tests: moto's server mode, in a
# virtualenv at .venv-moto (ignored by git).
#
#   scripts/moto.sh start    # create the venv if needed, start moto, wait until it answers
#   scripts/moto.sh stop     # stop the moto started by `start` (by its PID)
#   scripts/moto.sh status   # say whether it runs
#
# Then: export REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:${MOTO_PORT:-5055}
#       cargo test -p replyline-store
#
# Environment: MOTO_PORT (default 5055), PYTHON (default python3), MOTO_SERIAL (default 1).
#
# Why not plain `moto_server`: it serves each request on its own thread without locking
# its backends, so two concurrent TransactWriteItems can both pass the same
# `attribute_not_exists(PK)` condition, and a cancelled transaction restores a snapshot
# of the whole table over writes committed meanwhile. DynamoDB serialises conflicting
# writes and the store's concurrency tests rely on it. So by default this script runs
# moto's own server app (same version, same endpoints) behind one lock per request.
# MOTO_SERIAL=0 runs `moto_server` as is.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.1"
PORT="${MOTO_PORT:-5055}"
HOST="127.0.0.1"
VENV=".venv-moto"
PID_FILE="$VENV/moto.pid"
LOG_FILE="$VENV/moto.log"
LAUNCHER="$VENV/serial_moto_server.py"
PYTHON="${PYTHON:-python3}"
SERIAL="${MOTO_SERIAL:-1}"

port_answers() {
    # Any HTTP answer will do: moto replies to GET / once it is up.
    "$VENV/bin/python" - "$HOST" "$PORT" <<'PY' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

running_pid() {
    if [[ -f "$PID_FILE" ]]; then
        local pid
        pid="$(cat "$PID_FILE")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            echo "$pid"
            return 0
        fi
    fi
    return 1
}

install() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "moto.sh: creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        echo "moto.sh: installing moto[server]==$MOTO_VERSION"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
}

write_launcher() {
    cat >"$LAUNCHER" <<'PY'
"""moto's server app with one lock around each request (see scripts/moto.sh)."""
import argparse
import os
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class Serialized:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # The whole body is produced inside the lock: a request is done when it is sent.
            return list(self.app(environ, start_response))


parser = argparse.ArgumentParser()
parser.add_argument("-H", "--host", default="127.0.0.1")
parser.add_argument("-p", "--port", type=int, default=5055)
args = parser.parse_args()
os.environ.setdefault("MOTO_PORT", str(args.port))
app = DomainDispatcherApplication(create_backend_app)
run_simple(args.host, args.port, Serialized(app), threaded=True)
PY
}

start() {
    if pid="$(running_pid)"; then
        echo "moto.sh: already running (pid $pid) on http://$HOST:$PORT"
        return 0
    fi
    install
    if port_answers; then
        echo "moto.sh: something else already answers on $HOST:$PORT; set MOTO_PORT or stop it" >&2
        exit 1
    fi
    if [[ "$SERIAL" == "0" ]]; then
        echo "moto.sh: starting moto_server on http://$HOST:$PORT (log: $LOG_FILE)"
        nohup "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" >"$LOG_FILE" 2>&1 &
    else
        write_launcher
        echo "moto.sh: starting moto (one request at a time) on http://$HOST:$PORT (log: $LOG_FILE)"
        nohup "$VENV/bin/python" "$LAUNCHER" -H "$HOST" -p "$PORT" >"$LOG_FILE" 2>&1 &
    fi
    echo $! >"$PID_FILE"
    for _ in $(seq 1 60); do
        if port_answers; then
            echo "moto.sh: ready (pid $(cat "$PID_FILE"))"
            echo "export REPLYLINE_DYNAMODB_ENDPOINT=http://$HOST:$PORT"
            return 0
        fi
        if ! running_pid >/dev/null; then
            echo "moto.sh: moto exited; see $LOG_FILE:" >&2
            tail -n 20 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.5
    done
    echo "moto.sh: moto did not answer on $HOST:$PORT within 30 s; see $LOG_FILE" >&2
    stop
    exit 1
}

stop() {
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        echo "moto.sh: stopped (pid $pid)"
    else
        echo "moto.sh: not running"
    fi
    rm -f "$PID_FILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
    if pid="$(running_pid)"; then
        echo "moto.sh: running (pid $pid) on http://$HOST:$PORT"
    else
        echo "moto.sh: not running"
        exit 1
    fi
    ;;
*)
    echo "usage: scripts/moto.sh start|stop|status" >&2
    exit 2
    ;;
esac
