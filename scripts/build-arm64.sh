#!/usr/bin/env bash
# Builds every Lambda function for arm64 (provided.al2023) in one `cargo lambda build`,
# checks that each bootstrap is an aarch64 ELF, zips it, and prints the sizes.
#
#   scripts/build-arm64.sh [extra `cargo lambda build` flags]
#
# Needs rustup, Python 3 with venv (Debian: python3-venv) and a host C compiler (Debian:
# build-essential) for build scripts. Installs, idempotently: the aarch64-unknown-linux-gnu
# rustup target, and cargo-lambda + ziglang (PyPI, pinned) into .venv-lambda. Zig is the
# cross linker and C compiler, so no aarch64 gcc and no Docker are needed.
# Output: <target>/lambda/<bin>/bootstrap and bootstrap.zip, where <target> is
# $CARGO_TARGET_DIR if set, else the workspace target/. Exits nonzero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

FUNCTIONS=(replyline-webhook replyline-inbox replyline-send replyline-conversation replyline-email-inbound)
RUST_TARGET="aarch64-unknown-linux-gnu"
VENV=".venv-lambda"
PINS="cargo-lambda==1.9.2 ziglang==0.17.1"
PYTHON="${PYTHON:-python3}"

# 1. Tools: the venv with the pinned cargo-lambda and zig (skipped when the stamp matches).
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV" || {
        echo "error: could not create $VENV (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
stamp="$VENV/.installed"
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$PINS" ]]; then
    # shellcheck disable=SC2086 # PINS is a list of requirement specifiers
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PINS
    echo "$PINS" >"$stamp"
fi
# cargo-zigbuild (inside cargo-lambda) runs `python3 -m ziglang`: the venv must come first.
export PATH="$PWD/$VENV/bin:$PATH"

# 2. The Rust target.
if ! command -v rustup >/dev/null; then
    echo "error: rustup not found (https://rustup.rs); it installs the $RUST_TARGET target" >&2
    exit 1
fi
if ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
    rustup target add "$RUST_TARGET"
fi

# 3. One build for all five functions.
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
LAMBDA_DIR="$TARGET_DIR/lambda"
pkgs=()
for f in "${FUNCTIONS[@]}"; do pkgs+=(-p "$f"); done
echo "rustc $(rustc -V | cut -d' ' -f2), $(cargo-lambda lambda --version | cut -d' ' -f1-2), zig $(python3 -m ziglang version)" >&2
start=$(date +%s)
cargo lambda build --release --arm64 --locked "${pkgs[@]}" --lambda-dir "$LAMBDA_DIR" "$@"
end=$(date +%s)
echo "build: $((end - start)) s wall" >&2

# 4. Verify (aarch64 ELF), zip like the upload (bootstrap at the root, mode 0755), report.
python3 - "$LAMBDA_DIR" "${FUNCTIONS[@]}" <<'PY'
import os, struct, sys, zipfile

lambda_dir, names = sys.argv[1], sys.argv[2:]
EM_AARCH64 = 0xB7
rows, failed = [], False
for name in names:
    path = os.path.join(lambda_dir, name, "bootstrap")
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError as e:
        print(f"error: {name}: {e}", file=sys.stderr)
        failed = True
        continue
    # ELF magic, 64-bit (EI_CLASS 2), little-endian (EI_DATA 1), e_machine at offset 18.
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        print(f"error: {path} is not a 64-bit little-endian ELF", file=sys.stderr)
        failed = True
        continue
    (machine,) = struct.unpack_from("<H", head, 18)
    if machine != EM_AARCH64:
        print(f"error: {path}: e_machine {machine:#x}, expected {EM_AARCH64:#x} (aarch64)", file=sys.stderr)
        failed = True
        continue
    zpath = path + ".zip"
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(path, "rb") as f, zipfile.ZipFile(zpath, "w") as z:
        z.writestr(info, f.read(), compresslevel=6)
    rows.append((name, os.path.getsize(path), os.path.getsize(zpath)))

mib = lambda n: n / (1 << 20)
print(f"\naarch64 bootstraps in {lambda_dir}:\n")
print("| Function | bootstrap (bytes) | bootstrap (MiB) | bootstrap.zip (bytes) | zip (MiB) |")
print("|---|---:|---:|---:|---:|")
for name, size, zsize in rows:
    print(f"| `{name}` | {size:,} | {mib(size):.2f} | {zsize:,} | {mib(zsize):.2f} |")
sys.exit(1 if failed else 0)
PY
