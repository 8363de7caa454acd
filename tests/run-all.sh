#!/usr/bin/env bash
# Shard: the whole test suite.
#
#   tests/run-all.sh
#
# Needs only what a fresh machine has: a Rust toolchain (cargo), Java 17 + Maven, Python 3.11 + pip,
# and access to crates.io, PyPI and Maven Central. Steps:
#   1. cargo build --release -p shard-broker     (the binary the end-to-end tests start)
#   2. cargo test --workspace                    (Rust unit + integration tests)
#   3. cargo fmt --check, cargo clippy --workspace --all-targets -D warnings
#   4. tests/fuzz-share.sh                       (60 s cargo-fuzz run of the shard-share state machine;
#                                                 installs cargo-fuzz if missing, runs on stable rustc)
#   5. tests/fuzz-requests.sh                    (request decoding under an allocation bound: targets
#                                                 `request` and `frame`, 30 s each)
#   6. python venv at tests/.venv + pip install -r tests/python/requirements.txt
#   7. pytest tests/python                       (librdkafka / confluent-kafka end-to-end)
#   8. mvn -B test in tests/java                 (Apache Kafka Java client end-to-end)
#   9. mvn -B test -Pshare, kafka-clients 4.2.2  (share consumers: KafkaShareConsumer, Spring Kafka
#                                                 share listener, console share consumer,
#                                                 kafka-share-groups tool, the crash test, and the
#                                                 chaos test ShareChaosTest: ~60 s of SIGKILLs every
#                                                 8-12 s under idempotent producers and explicit-ack
#                                                 share consumers, ~80 s in all; its CHAOS RESULT line
#                                                 is repeated in the summary)
#  10. mvn -B test -Pshare-v1, kafka-clients 4.1.2 (the same on the 4.1 client: ShareFetch v1 path)
#  11. tests/container-smoke.sh                  (container image: static binary, podman build FROM scratch,
#                                                 run with a volume, Java producer + share consumer smoke
#                                                 test, restart, data and share state checked; installs
#                                                 podman + runc with apt-get if missing, needs root then)
# A failed step does not stop the later independent ones; steps that need the broker binary are
# skipped when the build failed. Exit code is non-zero if any step failed or was skipped.
#
# Environment knobs (all optional):
#   PYTHON=python3.11           interpreter for the venv
#   CARGO_TARGET_DIR            honoured; the broker binary is $CARGO_TARGET_DIR/release/shard-broker
#   SHARD_SKIP_RUST_TESTS=1     skip step 2 (e.g. when iterating on e2e tests)
#   SHARD_FUZZ_SECONDS=60       fuzzing time of step 4 (see tests/fuzz.sh for its other knobs)
#   SHARD_REQUEST_FUZZ_SECONDS=30  fuzzing time of each target of step 5
#   PYTEST_ARGS / MVN_ARGS      extra arguments for pytest / mvn
#   SHARD_SKIP_CONTAINER=1      skip step 11 (e.g. on a machine without root or podman)
#   SHARD_CHAOS_SECONDS=60      how long the chaos test of step 9 kills the broker
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BROKER_BIN="$TARGET_DIR/release/shard-broker"
VENV="$ROOT/tests/.venv"
export SHARD_BROKER_BIN="$BROKER_BIN"

LOG_DIR="$ROOT/target/run-all"
mkdir -p "$LOG_DIR"
declare -a STEP_NAMES=() STEP_RESULTS=() STEP_TIMES=() STEP_TESTS=()
FAILED=0
PASSED=0

# run_step NAME TIMEOUT_SECONDS CMD...   -> records PASS/FAIL and duration, never aborts the script
run_step() {
    local name="$1" limit="$2"
    shift 2
    echo
    echo "=================================================================================="
    echo "== run-all: $name"
    echo "==   \$ $*"
    echo "=================================================================================="
    local start rc
    local idx=${#STEP_NAMES[@]}
    local logf="$LOG_DIR/step-$idx.log"
    start=$(date +%s)
    set +e
    timeout --kill-after=30 "$limit" bash -c '"$@"' run-step "$@" 2>&1 | tee "$logf"
    rc=${PIPESTATUS[0]}
    set -e
    STEP_TESTS+=("$(count_tests "$logf")")
    local secs=$(( $(date +%s) - start ))
    STEP_NAMES+=("$name")
    STEP_TIMES+=("${secs}s")
    if [[ $rc -eq 0 ]]; then
        STEP_RESULTS+=("PASS")
        PASSED=$((PASSED + 1))
    else
        if [[ $rc -eq 124 ]]; then
            STEP_RESULTS+=("FAIL (timed out after ${limit}s)")
        else
            STEP_RESULTS+=("FAIL (exit $rc)")
        fi
        FAILED=$((FAILED + 1))
    fi
    return 0
}

# count_tests LOG -> "P F" (tests passed / failed) from cargo test, pytest or Maven Surefire output
count_tests() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        /^test result: / {                       # cargo: test result: ok. 9 passed; 0 failed; ...
            for (i = 1; i <= NF; i++) {
                if ($(i) ~ /^passed;?$/) p += $(i-1)
                if ($(i) ~ /^failed;?$/) f += $(i-1)
            }
        }
        /^=+ .*(passed|failed|error).* in [0-9.]+s/ {   # pytest final line
            for (i = 1; i <= NF; i++) {
                w = $(i); gsub(/[,=]/, "", w)
                if (w == "passed") p += $(i-1)
                if (w == "failed" || w == "error" || w == "errors") f += $(i-1)
            }
        }
        /Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$/ {   # surefire total
            line = $0; sub(/.*Tests run: /, "", line); gsub(/[^0-9]+/, " ", line); split(line, n, " ")
            st_run += n[1]; st_fail += n[2] + n[3]; st_skip += n[4]; st = 1   # summed: a step may run mvn twice
        }
        END {
            if (st) { p += st_run - st_fail - st_skip; f += st_fail }
            printf "%d %d\n", p, f
        }'
}

skip_step() {
    STEP_TESTS+=("0 0")
    STEP_NAMES+=("$1")
    STEP_RESULTS+=("SKIPPED ($2)")
    STEP_TIMES+=("-")
    FAILED=$((FAILED + 1))
}

last_ok() { [[ "${STEP_RESULTS[${#STEP_RESULTS[@]}-1]}" == PASS ]]; }

lint_step() {
    cargo fmt --all -- --check && cargo clippy --workspace --all-targets -- -D warnings
}

pytest_step() {
    # pytest exit 5 = no tests collected: that is a failure here.
    "$VENV/bin/python" -m pytest "$ROOT/tests/python" -rA ${PYTEST_ARGS:-}
}

venv_step() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/tests/python/requirements.txt"
    "$VENV/bin/python" -c 'import confluent_kafka, pytest; print("confluent-kafka", confluent_kafka.version()[0], "librdkafka", confluent_kafka.libversion()[0], "pytest", pytest.__version__)'
}

mvn_step() {
    local rc=0
    (cd "$ROOT/tests/java" && mvn -B -ntp -Dstyle.color=never test "-Dshard.broker.bin=$BROKER_BIN" ${MVN_ARGS:-}) || rc=$?
    keep_java_logs default
    return $rc
}

# keep_java_logs NAME: copies the broker logs and Surefire reports of the last Maven run to
# $LOG_DIR/java-NAME (the next profile's `mvn clean` would delete them).
keep_java_logs() {
    local dest="$LOG_DIR/java-$1"
    mkdir -p "$dest/surefire"
    cp -r "$ROOT/tests/java/target/broker-logs/." "$dest/" 2>/dev/null || true
    cp -r "$ROOT/tests/java/target/surefire-reports/." "$dest/surefire/" 2>/dev/null || true
}

# java_failures NAME: what each failed test of that Maven run said (its Surefire report, cut
# short) and the end of the broker log of its class, so a red CI log shows why.
java_failures() {
    local dir="$LOG_DIR/java-$1" report cls log
    for report in "$dir"/surefire/*.txt; do
        [[ -f "$report" ]] && grep -q '<<< \(FAILURE\|ERROR\)' "$report" || continue
        cls="$(basename "$report" .txt)"
        echo "---- $1: $cls"
        grep -A 12 '<<< \(FAILURE\|ERROR\)' "$report" | cut -c1-400 | head -60
        for log in "$dir/${cls##*.}"-*.log; do
            [[ -f "$log" ]] || continue
            echo "---- $1: last lines of $(basename "$log")"
            sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -v ' DEBUG ' | tail -25 | cut -c1-300
        done
    done
}

# mvn_share_step PROFILE CLIENTS_VERSION: a clean build, since the profiles compile different
# source sets against different kafka-clients; broker logs are kept under $LOG_DIR.
mvn_share_step() {
    local rc=0
    (cd "$ROOT/tests/java" && mvn -B -ntp -Dstyle.color=never clean test "-P$1" "-Dkafka.clients.version=$2" \
        "-Dshard.broker.bin=$BROKER_BIN" "-Dshard.chaos.seconds=${SHARD_CHAOS_SECONDS:-60}" ${MVN_ARGS:-}) || rc=$?
    keep_java_logs "$1"
    return $rc
}

# container_step: tests/container-smoke.sh; its Surefire reports (two Maven runs) are kept as java-container.
container_step() {
    local rc=0
    bash "$ROOT/tests/container-smoke.sh" || rc=$?
    mkdir -p "$LOG_DIR/java-container/surefire"
    cp -r "$ROOT"/target/container-smoke/surefire-*/. "$LOG_DIR/java-container/surefire/" 2>/dev/null || true
    cp "$ROOT/target/container-smoke/container.log" "$LOG_DIR/java-container/" 2>/dev/null || true
    return $rc
}

export ROOT PYTHON TARGET_DIR BROKER_BIN VENV
export LOG_DIR
export -f lint_step pytest_step venv_step mvn_step mvn_share_step keep_java_logs container_step

echo "run-all: repo $ROOT"
echo "run-all: $(cargo --version 2>&1) | $(java -version 2>&1 | head -1) | $(mvn -v 2>&1 | head -1 | sed 's/\x1b\[[0-9;]*m//g') | $("$PYTHON" --version 2>&1)"

run_step "cargo build --release -p shard-broker" 2400 cargo build --release -p shard-broker
BUILD_OK=0
if last_ok && [[ -x "$BROKER_BIN" ]]; then BUILD_OK=1; fi

if [[ "${SHARD_SKIP_RUST_TESTS:-0}" == 1 ]]; then
    skip_step "cargo test --workspace" "SHARD_SKIP_RUST_TESTS=1"
else
    # --no-fail-fast: a failing test binary must not hide the results of the others
    run_step "cargo test --workspace" 2400 cargo test --workspace --no-fail-fast
fi

run_step "cargo fmt --check + clippy -D warnings" 1200 lint_step

FUZZ_SECS="${SHARD_FUZZ_SECONDS:-60}"
run_step "fuzz shard-share (${FUZZ_SECS} s)" $((FUZZ_SECS + 840)) bash "$ROOT/tests/fuzz-share.sh"
REQ_FUZZ_SECS="${SHARD_REQUEST_FUZZ_SECONDS:-30}"
run_step "fuzz requests (2 x ${REQ_FUZZ_SECS} s)" $((2 * REQ_FUZZ_SECS + 1200)) \
    env SHARD_FUZZ_SECONDS="$REQ_FUZZ_SECS" bash "$ROOT/tests/fuzz-requests.sh"

run_step "python venv + pip install" 900 venv_step
VENV_OK=0
if last_ok; then VENV_OK=1; fi

if [[ $BUILD_OK == 1 && $VENV_OK == 1 ]]; then
    run_step "pytest tests/python" 900 pytest_step
else
    skip_step "pytest tests/python" "broker build or venv failed"
fi

if [[ $BUILD_OK == 1 ]]; then
    run_step "mvn test (tests/java)" 1800 mvn_step
    run_step "mvn test -Pshare (clients 4.2.2)" 1800 mvn_share_step share 4.2.2
    run_step "mvn test -Pshare-v1 (clients 4.1.2)" 1800 mvn_share_step share-v1 4.1.2
else
    skip_step "mvn test (tests/java)" "broker build failed"
    skip_step "mvn test -Pshare (clients 4.2.2)" "broker build failed"
    skip_step "mvn test -Pshare-v1 (clients 4.1.2)" "broker build failed"
fi

# Builds its own (static) binary, so it does not depend on step 1.
if [[ "${SHARD_SKIP_CONTAINER:-0}" == 1 ]]; then
    skip_step "container smoke (podman)" "SHARD_SKIP_CONTAINER=1"
else
    run_step "container smoke (podman)" 1200 container_step
fi

echo
echo "=================================================================================="
echo "== run-all summary"
echo "=================================================================================="
TOTAL_P=0
TOTAL_F=0
printf '  %-40s %-30s %6s %s\n' "step" "result" "time" "tests"
for i in "${!STEP_NAMES[@]}"; do
    read -r tp tf <<< "${STEP_TESTS[$i]}"
    TOTAL_P=$((TOTAL_P + tp)); TOTAL_F=$((TOTAL_F + tf))
    t="-"
    if [[ $tp -gt 0 || $tf -gt 0 ]]; then t="$tp passed, $tf failed"; fi
    printf '  %-40s %-30s %6s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}" "$t"
done
echo
# The chaos test's figures (seed, kills, records acked / lost / duplicated, confirmed ACCEPTs delivered again).
grep -h 'CHAOS RESULT' "$LOG_DIR"/step-*.log 2>/dev/null | sed 's/^.*CHAOS RESULT/  chaos:/' || true
echo "  step logs: $LOG_DIR/step-N.log; broker logs: tests/java/target/broker-logs/, tests/python/.logs/"
echo "  steps: $PASSED ok, $FAILED failed or skipped"
echo
if [[ $FAILED -ne 0 ]]; then
    for name in default share share-v1 container; do
        java_failures "$name"
    done
    echo
fi
echo "tests: $TOTAL_P passed, $TOTAL_F failed"
if [[ $FAILED -ne 0 ]]; then
    exit 1
fi
