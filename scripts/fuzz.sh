#!/usr/bin/env bash
# Fuzzing (issue 7): builds every cargo-fuzz target in fuzz/ once, then runs each for a
# bounded time on a temporary copy of its committed seed corpus (fuzz/corpus/<target>), so
# the committed corpus stays small. Exits non-zero on any crash, timeout or OOM, naming
# the input that caused it (kept under fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; CI runs `scripts/fuzz.sh 5`, the long run is
# `scripts/fuzz.sh 600`. TARGETs default to all of them (`cargo fuzz list`).
#
# Toolchain: whatever rustup selects (stable on CI), with RUSTC_BOOTSTRAP=1 because
# cargo-fuzz passes -Z flags; FUZZ_TOOLCHAIN=nightly uses nightly instead.
# FUZZ_SANITIZER: address (default) or none. FUZZ_KEEP_CORPUS=dir keeps the grown corpora.
# cargo-fuzz itself is installed, pinned, into .tools/ when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds="${1:-60}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi

CARGO_FUZZ_VERSION=0.13.2
sanitizer="${FUZZ_SANITIZER:-address}"
export PATH="$root/.tools/bin:$PATH"

toolchain=()
if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
else
    export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/"
    start=$SECONDS
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$root/.tools"
    echo "   installed in $((SECONDS - start)) s"
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

# Release with debug assertions and overflow checks, as the real code runs plus the checks.
build=(cargo "${toolchain[@]}" fuzz build --fuzz-dir fuzz -O --debug-assertions --sanitizer "$sanitizer")
echo "== ${build[*]} (${#targets[@]} targets)"
start=$SECONDS
if [[ $# -gt 0 ]]; then
    for t in "${targets[@]}"; do nice -n 10 "${build[@]}" "$t"; done
else
    nice -n 10 "${build[@]}"
fi
echo "   built in $((SECONDS - start)) s"

triple="$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')"
bin_dir="$root/fuzz/target/$triple/release"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus="$work/$t"
    mkdir -p "$corpus" "$root/fuzz/artifacts/$t"
    if [[ -d "fuzz/corpus/$t" ]]; then
        cp -R "fuzz/corpus/$t/." "$corpus/"
    fi
    log="$work/$t.log"
    echo "== $t: ${seconds} s"
    status=0
    nice -n 10 "$bin_dir/$t" "$corpus" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$root/fuzz/artifacts/$t/" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    units="$(ls "$corpus" | wc -l)"
    summary+=("$(printf '%-18s %10s execs %8s/s %6s corpus  %s' "$t" "${execs:-?}" "${rate:-?}" "$units" \
        "$([[ $status -eq 0 ]] && echo ok || echo "FAILED (exit $status)")")")
    if [[ $status -ne 0 ]]; then
        failed+=("$t")
        # The panic or sanitizer report, then libFuzzer's summary and where the input went.
        grep -m1 -A12 -E 'panicked at|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" || tail -n 40 "$log"
        grep -h -E '^SUMMARY|Test unit written to' "$log" | sed 's/^/   /' || true
        cp "$log" "$root/fuzz/artifacts/$t/last-failure.log"
        echo "   full log: fuzz/artifacts/$t/last-failure.log; reproduce: $bin_dir/$t <that file>"
    fi
    if [[ -n "${FUZZ_KEEP_CORPUS:-}" ]]; then
        mkdir -p "$FUZZ_KEEP_CORPUS/$t"
        cp -R "$corpus/." "$FUZZ_KEEP_CORPUS/$t/"
    fi
done

echo "== summary (${seconds} s per target)"
printf '   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
