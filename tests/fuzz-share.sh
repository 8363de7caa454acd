#!/usr/bin/env bash
# Fuzz the share-partition state machine (crates/shard-share) against its reference model for a
# bounded time. Step 3 of tests/run-all.sh; see docs/testing.md ("Fuzzing the share-partition state
# machine").
#
#   tests/fuzz-share.sh                          # 60 s
#   SHARD_FUZZ_SECONDS=3600 tests/fuzz-share.sh  # longer
#
# 1. installs cargo-fuzz $CARGO_FUZZ_VERSION (cargo install --locked) unless `cargo fuzz` exists;
# 2. builds the target crates/shard-share/fuzz (fuzz_targets/share_partition.rs);
# 3. runs every input in crates/shard-share/fuzz/regressions/ once: each must pass;
# 4. fuzzes for SHARD_FUZZ_SECONDS, starting from a temporary corpus seeded with fuzz/seeds/ and
#    fuzz/regressions/.
# Exits non-zero on a build failure or any crash, timeout or out-of-memory, printing the input's
# path, its bytes (base64) and the panic text (the error, the config and the decoded ops). The last
# line is a cargo-style `test result:` line (1 test) that tests/run-all.sh counts. libFuzzer's
# per-input NEW / REDUCE lines and its dictionary are left out of the output (pulse lines stay).
#
# Stable rustc is enough. The default sanitizer is none: the crate is safe Rust with no unsafe code,
# ASan only halves the exec rate (the build keeps debug assertions and overflow checks), and with
# none cargo-fuzz passes no nightly-only flags. For the others it passes -Zsanitizer=...;
# RUSTC_BOOTSTRAP=1, set on every cargo fuzz call here, makes a stable rustc accept it.
#
# Environment knobs (all optional):
#   SHARD_FUZZ_SECONDS=60        fuzzing time (the build and the regression runs come on top)
#   SHARD_FUZZ_SANITIZER=none    cargo fuzz --sanitizer: none | address | leak | memory | thread
#   SHARD_FUZZ_CORPUS=DIR        keep the corpus in DIR (created, seeded, grown) instead of a temp dir
#   SHARD_FUZZ_ARGS="..."        extra libFuzzer flags, e.g. "-fork=4" or "-only_ascii=0"
#   CARGO_TARGET_DIR             honoured by cargo fuzz (default crates/shard-share/fuzz/target)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/crates/shard-share"
FUZZ="$CRATE/fuzz"
TARGET=share_partition
CARGO_FUZZ_VERSION=0.13.2
SECS="${SHARD_FUZZ_SECONDS:-60}"
SANITIZER="${SHARD_FUZZ_SANITIZER:-none}"
# -timeout: one input taking this long is a hang (a normal one takes milliseconds).
# -max_len (fuzzing only: libFuzzer also truncates replayed files to it): the target reads at most
# 4 config bytes + 400 ops of at most 6 bytes; longer inputs only repeat the same run.
LIBFUZZER_FLAGS=(-rss_limit_mb=2048 -timeout=30)
MAX_LEN=2404
read -r -a EXTRA_FLAGS <<< "${SHARD_FUZZ_ARGS:-}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/shard-fuzz.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log() { echo "fuzz-share: $*"; }

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
    log "reproduce: (cd crates/shard-share && RUSTC_BOOTSTRAP=1 cargo fuzz run -s $SANITIZER $TARGET $input)"
    log "a real bug: copy the input to crates/shard-share/fuzz/regressions/ so every run replays it"
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
REGRESSIONS=("$FUZZ"/regressions/*)
SEEDS=("$FUZZ"/seeds/*)
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
if [[ $RC -ne 0 ]]; then
    input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$TMP/fuzz.log" | tail -n 1)"
    if [[ -z "$input" ]]; then
        input="$(find "$ARTIFACTS" -type f -newer "$TMP/start-mark" | head -n 1)"
    fi
    report_crash "$TMP/fuzz.log" "${input:-unknown (no artifact written)}"
    finish failed "fuzzing found a failing input (cargo fuzz exit $RC)"
fi
finish ok
