#!/usr/bin/env bash
# Runs one cargo-fuzz target for a bounded time: builds it, replays its saved regressions, then
# fuzzes from its seeds. Used by tests/fuzz-share.sh (the share-partition state machine) and
# tests/fuzz-requests.sh (the request decoders); see docs/testing.md and docs/reliability.md.
#
#   tests/fuzz.sh CRATE_DIR TARGET MAX_LEN      e.g. tests/fuzz.sh crates/shard-protocol request 65536
#
# CRATE_DIR/fuzz is a cargo-fuzz crate; its seeds are in fuzz/seeds/TARGET/ (or fuzz/seeds/ for a
# crate with one target) and its regressions in fuzz/regressions/TARGET/ (or fuzz/regressions/).
# Exits non-zero on a build failure or any crash, timeout or out-of-memory, printing the input's
# path, its bytes (base64) and the panic text. The last line is a cargo-style `test result:` line
# (1 test) that tests/run-all.sh counts. libFuzzer's per-input NEW / REDUCE lines are left out of
# the output (pulse lines stay).
#
# Stable rustc is enough: the default sanitizer is none (cargo-fuzz then passes no nightly-only
# flags); for the others RUSTC_BOOTSTRAP=1, set on every cargo fuzz call here, makes a stable rustc
# accept -Zsanitizer=...
#
# Environment knobs (all optional):
#   SHARD_FUZZ_SECONDS=60        fuzzing time (the build and the regression runs come on top)
#   SHARD_FUZZ_SANITIZER=none    cargo fuzz --sanitizer: none | address | leak | memory | thread
#   SHARD_FUZZ_CORPUS=DIR        keep the corpus in DIR (created, seeded, grown) instead of a temp dir
#   SHARD_FUZZ_ARGS="..."        extra libFuzzer flags, e.g. "-fork=2"
#   CARGO_TARGET_DIR             honoured by cargo fuzz (default CRATE_DIR/fuzz/target)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -eq 3 ]] || { echo "usage: tests/fuzz.sh CRATE_DIR TARGET MAX_LEN" >&2; exit 2; }
CRATE_REL="$1"
CRATE="$ROOT/$1"
FUZZ="$CRATE/fuzz"
TARGET="$2"
MAX_LEN="$3"
CARGO_FUZZ_VERSION=0.13.2
SECS="${SHARD_FUZZ_SECONDS:-60}"
SANITIZER="${SHARD_FUZZ_SANITIZER:-none}"
# -timeout: one input taking this long is a hang (a normal one takes milliseconds).
read -r -a EXTRA_FLAGS <<< "${SHARD_FUZZ_ARGS:-}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/shard-fuzz.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log() { echo "fuzz[$TARGET]: $*"; }

# finish STATUS [REASON]: prints the summary line run-all.sh counts and exits.
finish() {
    echo
    if [[ "$1" == ok ]]; then
        echo "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"
        exit 0
    fi
    log "FAILED: $2"
    echo "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
    exit 1
}

# report_crash LOG INPUT: what a developer needs to reproduce and record a failing input.
report_crash() {
    local logf="$1" input="$2"
    echo
    echo "=================================================================================="
    log "crashing input: $input"
    if [[ -f "$input" ]]; then
        log "input bytes ($(wc -c < "$input") bytes, base64; recreate with: base64 -d > crash <<< '...'):"
        base64 -w0 "$input"
        echo
    fi
    # The panic message carries the error text, the config and the decoded ops.
    if grep -q "panicked at" "$logf"; then
        log "panic (error text, config, decoded ops):"
        sed -n '/panicked at/,/^==[0-9]*== ERROR\|^note: run with\|^stack backtrace/{/^==[0-9]*== ERROR\|^note: run with\|^stack backtrace/!p}' "$logf" | head -n 460
    else
        log "no panic message; libFuzzer said:"
        grep -E "ERROR: libFuzzer|SUMMARY|==[0-9]+==" "$logf" | head -n 20
    fi
    log "reproduce: (cd $CRATE_REL && RUSTC_BOOTSTRAP=1 cargo fuzz run -s $SANITIZER $TARGET $input)"
    log "a real bug: copy the input to $CRATE_REL/fuzz/regressions/$TARGET/ so every run replays it"
    echo "=================================================================================="
}

if [[ -n "${SHARD_FUZZ_CORPUS:-}" ]]; then SHARD_FUZZ_CORPUS="$(realpath -m "$SHARD_FUZZ_CORPUS")"; fi
cd "$CRATE" || finish failed "no $CRATE"

# 1. cargo-fuzz
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN:"*) ;; *) export PATH="$PATH:$CARGO_BIN" ;; esac
if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" || finish failed "cargo install cargo-fuzz failed"
fi
log "$(cargo fuzz --version) | $(rustc --version) | sanitizer $SANITIZER | ${SECS}s"

# 2. build
START=$(date +%s)
RUSTC_BOOTSTRAP=1 cargo fuzz build -s "$SANITIZER" "$TARGET" || finish failed "cargo fuzz build failed"
log "built in $(($(date +%s) - START))s"

# 3. regressions: every saved input must pass
shopt -s nullglob
if [[ -d "$FUZZ/seeds/$TARGET" ]]; then SEEDS=("$FUZZ"/seeds/"$TARGET"/*); else SEEDS=("$FUZZ"/seeds/*); fi
if [[ -d "$FUZZ/regressions/$TARGET" ]]; then REGRESSIONS=("$FUZZ"/regressions/"$TARGET"/*); else REGRESSIONS=("$FUZZ"/regressions/*); fi
shopt -u nullglob
if [[ ${#REGRESSIONS[@]} -gt 0 ]]; then
    log "replaying ${#REGRESSIONS[@]} regression input(s) from fuzz/regressions/"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -s "$SANITIZER" "$TARGET" "${REGRESSIONS[@]}" -- "${LIBFUZZER_FLAGS[@]}" 2>&1 | tee "$TMP/regressions.log"
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
        input="$(sed -n 's/^Running: //p' "$TMP/regressions.log" | tail -n 1)"
        report_crash "$TMP/regressions.log" "${input:-unknown}"
        finish failed "a regression input fails again"
    fi
else
    log "no regression inputs in fuzz/regressions/"
fi

# 4. fuzz
CORPUS="${SHARD_FUZZ_CORPUS:-$TMP/corpus}"
mkdir -p "$CORPUS" || finish failed "cannot create corpus $CORPUS"
if [[ ${#SEEDS[@]} -gt 0 || ${#REGRESSIONS[@]} -gt 0 ]]; then
    cp "${SEEDS[@]}" "${REGRESSIONS[@]}" "$CORPUS"/ || finish failed "cannot seed corpus $CORPUS"
fi
ARTIFACTS="$FUZZ/artifacts/$TARGET"
mkdir -p "$ARTIFACTS"
touch "$TMP/start-mark"
log "fuzzing for ${SECS}s, corpus $CORPUS (${#SEEDS[@]} seeds, ${#REGRESSIONS[@]} regressions)"
RUSTC_BOOTSTRAP=1 cargo fuzz run -s "$SANITIZER" "$TARGET" "$CORPUS" -- \
    -max_total_time="$SECS" -max_len="$MAX_LEN" -print_final_stats=1 "${LIBFUZZER_FLAGS[@]}" "${EXTRA_FLAGS[@]}" 2>&1 |
    tee "$TMP/fuzz.log" | grep --line-buffered -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE) |^"'
RC=${PIPESTATUS[0]}
DONE="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$TMP/fuzz.log" | tail -n 1)"
if [[ -n "$DONE" ]]; then
    read -r runs secs <<< "$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 \2/' <<< "$DONE")"
    log "$runs runs in ${secs}s ($((runs / (secs > 0 ? secs : 1))) execs/s), corpus $(find "$CORPUS" -type f | wc -l) inputs"
fi
WORST="$(grep -o 'worst alloc ratio .*' "$TMP/fuzz.log" | sort -t' ' -k4 -g | tail -n 1)"
if [[ -n "$WORST" ]]; then log "$WORST"; fi
COV="$(grep -E '^#[0-9]+.*cov: ' "$TMP/fuzz.log" | tail -n 1 | grep -o 'cov: [0-9]* ft: [0-9]*')"
if [[ -n "$COV" ]]; then log "final $COV"; fi
if [[ $RC -ne 0 ]]; then
    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$TMP/fuzz.log" | tail -n 1)"
    if [[ -z "$input" ]]; then
        input="$(find "$ARTIFACTS" -type f -newer "$TMP/start-mark" | head -n 1)"
    fi
    report_crash "$TMP/fuzz.log" "${input:-unknown (no artifact written)}"
    finish failed "fuzzing found a failing input (cargo fuzz exit $RC)"
fi
finish ok
