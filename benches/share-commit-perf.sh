#!/usr/bin/env bash
# Share consumption with commitSync() after every poll (Spring for Apache Kafka's default for share
# listeners), 8 consumers: Apache Kafka vs Shard with durable share state (log.flush.mode = "fsync") vs
# Shard page_cache, in one run (issue 5: "group commit keeps durable acknowledgement within 2x of the
# non-durable rate").
#
#   benches/share-commit-perf.sh [--records N] [--record-size B] [--partitions P] [--consumers C]
#                                [--targets "kafka fsync page_cache"] [--client-property k=v]...
#                                [--fsync-delay-us US] [--timeout S] [--no-build] [--keep-data]
#   SHARE_COMMIT_TARGETS="kafka fsync page_cache" (default; same as --targets)
#
# For each target, one after the other, on a fresh temporary data dir under benches/work/:
#   kafka             Apache Kafka (the kafka-tools version of benches/kafka-ref/pom.xml, 4.3.1), KRaft
#                     single node, its default config (page-cache flushing; share state in
#                     __share_group_state, not fsynced per acknowledgement)
#   shard-fsync       target/release/shard-broker, log.flush.mode = "fsync" (the default): a ShareAcknowledge
#                     is answered once the share-state write is fsynced (group commit)
#   shard-page_cache  target/release/shard-broker, log.flush.mode = "page_cache": answered once written
#                     to the page cache
#   1. start the broker on a free port; ApiVersions must list the share-group APIs;
#   2. fill topic `perf` with ProducerPerformance: N records of B bytes, acks=all, unthrottled;
#   3. run benches/java/ShareCommitPerf (compiled here with javac into benches/work/classes): a fresh
#      share group with share.auto.offset.reset=earliest (Admin incrementalAlterConfigs, GROUP resource),
#      C threads each owning one KafkaShareConsumer (implicit acknowledgement, client defaults: up to
#      500 records per poll) looping poll(100 ms) + commitSync() after every non-empty poll. It tracks
#      every offset in BitSets and stops when all N are acknowledged (commitSync returned without error).
# Measured: records/s = N / (first record delivered -> last record acknowledged); the group join is
# reported apart (join s). Also MB/s, duplicates (deliveries of an offset already delivered),
# commitSync count and latency p50/p99/max.
# --fsync-delay-us US: the Shard brokers run with an LD_PRELOAD shim (benches/fsync-delay.c, built with cc
# into benches/work) that sleeps US microseconds before every fsync/fdatasync, to emulate a disk whose
# fsync is slower than this VM's (about 0.13 ms here); the Kafka target is not affected.
# Prints the table, the bar (durable/page_cache >= 0.5: MET / NOT MET) and the Shard/Kafka ratios; the
# report goes to benches/work/results/share-commit-perf-<stamp>.txt.
#
# Defaults: 1,000,000 records of 1024 bytes, 1 partition (all 8 consumers share it), 8 consumers. On the
# 2-core development machine a full run of the three targets takes about 1.5 minutes (per target: broker
# start, 8-16 s of fill, then 10-13 s of consumption on Kafka, about 3 s on Shard), so 1M is affordable;
# use --records 3000000 for a longer (steadier) Shard window.
# Every step is bounded (timeout; ShareCommitPerf gives up after --timeout S, default 60 + N/2000 s);
# brokers and temp dirs are removed on exit, also on failure or Ctrl-C (--keep-data keeps them).
# Exit code: 0 if every target consumed and acknowledged all N records without a commitSync error,
# else 1 (the other targets still run). The bar's outcome does not change the exit code.
# Extra broker config: SHARE_COMMIT_KAFKA_PROPS (server.properties lines), SHARE_COMMIT_SHARD_TOML
# (broker.toml lines). Shared helpers: benches/lib.sh. NOT part of tests/run-all.sh.
set -euo pipefail

# shellcheck source=benches/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECORDS=1000000
RECORD_SIZE=1024
PARTITIONS=1
CONSUMERS=8
TARGETS="${SHARE_COMMIT_TARGETS:-kafka fsync page_cache}"
CLIENT_PROPS=()
TIMEOUT_S=""
FSYNC_DELAY_US=0
BUILD=1
KEEP_DATA=0

usage() { sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --consumers) CONSUMERS="$2"; shift 2 ;;
        --targets) TARGETS="$2"; shift 2 ;;
        --client-property) CLIENT_PROPS+=("$2"); shift 2 ;;
        --timeout) TIMEOUT_S="$2"; shift 2 ;;
        --fsync-delay-us) FSYNC_DELAY_US="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep-data) KEEP_DATA=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
for t in $TARGETS; do
    [[ "$t" == kafka || "$t" == fsync || "$t" == page_cache ]] \
        || { echo "unknown target '$t' (kafka, fsync, page_cache)" >&2; exit 2; }
done
for n in "$RECORDS" "$RECORD_SIZE" "$PARTITIONS" "$CONSUMERS" ${TIMEOUT_S:+"$TIMEOUT_S"}; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: $n" >&2; exit 2; }
done
[[ "$FSYNC_DELAY_US" =~ ^[0-9]+$ ]] || { echo "--fsync-delay-us: not a number: $FSYNC_DELAY_US" >&2; exit 2; }

# time bounds (seconds): fill at >= ~2,000 records/s, consumption at >= ~2,000 records/s
FILL_LIMIT=$(( 300 + RECORDS / 2000 ))
TIMEOUT_S="${TIMEOUT_S:-$(( 60 + RECORDS / 2000 ))}"
CONSUME_LIMIT=$(( TIMEOUT_S + 120 ))   # outer bound: setup, join, close

bench_init share-commit-perf
KAFKA_EXTRA_PROPS="${SHARE_COMMIT_KAFKA_PROPS:-}"
SHARD_EXTRA_TOML="${SHARE_COMMIT_SHARD_TOML:-}"
RESULTS="$WORK/results/share-commit-perf-$STAMP.tsv"
REPORT="$WORK/results/share-commit-perf-$STAMP.txt"
: > "$RESULTS"

kafka_setup

# ------------------------------------------------------------------------- the Java program
CLASSES="$WORK/classes"
SRC="$BENCH/java/ShareCommitPerf.java"
compile_perf() {
    mkdir -p "$CLASSES"
    if [[ -f "$CLASSES/ShareCommitPerf.class" && "$CLASSES/ShareCommitPerf.class" -nt "$SRC" \
          && "$CLASSES/ShareCommitPerf.class" -nt "$LIB/.pom.sha" ]]; then
        return
    fi
    log "javac $SRC -> $CLASSES"
    timeout --foreground 300 javac -nowarn -cp "$LIB/*" -d "$CLASSES" "$SRC" >&2
}
compile_perf

if [[ "$FSYNC_DELAY_US" != 0 ]]; then
    SHIM="$WORK/fsync-delay.so"
    if [[ ! -f "$SHIM" || "$BENCH/fsync-delay.c" -nt "$SHIM" ]]; then
        log "cc $BENCH/fsync-delay.c -> $SHIM"
        timeout 120 cc -shared -fPIC -O2 -o "$SHIM" "$BENCH/fsync-delay.c" -ldl >&2
    fi
    SHARD_ENV=("LD_PRELOAD=$SHIM" "SHARD_FSYNC_DELAY_US=$FSYNC_DELAY_US")
    log "Shard targets: every fsync/fdatasync delayed by $FSYNC_DELAY_US us (LD_PRELOAD $SHIM)"
fi

run_commit_perf() { # run_commit_perf NAME -> appends a TSV row
    local name="$1"
    local group="share-commit-$name-$STAMP"
    local out="$WORK/logs/share-commit-perf-$name-$STAMP.out"
    log "$name: ShareCommitPerf, $CONSUMERS consumers, commitSync per poll, $RECORDS records (group $group, limit ${TIMEOUT_S}s)"
    local rc=0
    timeout --foreground --kill-after=10 "$CONSUME_LIMIT" java -Xmx1G -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
        -Xlog:gc:file="$out.gc":uptime \
        -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$CLASSES:$LIB/*" \
        ShareCommitPerf "127.0.0.1:$PORT" perf "$group" "$CONSUMERS" "$RECORDS" "$TIMEOUT_S" \
        ${CLIENT_PROPS[@]+"${CLIENT_PROPS[@]}"} > "$out" 2> "$out.err" || rc=$?
    interrupted "$rc"
    grep '^\[ShareCommitPerf\]' "$out.err" >&2 || true
    local line
    line="$(grep -m1 '^RESULT ' "$out" || true)"
    if [[ -z "$line" ]]; then
        local why="no RESULT line (exit $rc)"
        [[ $rc != 124 ]] || why="no RESULT line (killed after ${CONSUME_LIMIT}s)"
        tail -5 "$out.err" >&2 || true
        printf '%s\tFAILED\t%s; see %s.err\n' "$name" "$why" "$out" >> "$RESULTS"
        log "$name: ERROR: $why"
        return 1
    fi
    log "$name: $line"
    if [[ $rc != 0 ]]; then
        local why
        why="$(grep -m1 '^ShareCommitPerf: ' "$out.err" || echo "ShareCommitPerf exit $rc")"
        printf '%s\tFAILED\t%s (%s); see %s.err\n' "$name" "$why" "${line#RESULT }" "$out" >> "$RESULTS"
        log "$name: ERROR: $why"
        return 1
    fi
    printf '%s\tOK\t%s fill_rps=%s\n' "$name" "${line#RESULT }" "$FILL_RPS" >> "$RESULTS"
}

run_target() { # run_target NAME START_CMD...
    local name="$1"; shift
    FAIL_REASON=""
    log "=== $name"
    if "$@" && check_share_apis "$name" \
            && fill_topic "$name" perf "$RECORDS" "$RECORD_SIZE" "$PARTITIONS" "$FILL_LIMIT"; then
        local ok=0
        run_commit_perf "$name" || ok=1
        cleanup
        return $ok
    fi
    printf '%s\tFAILED\t%s\n' "$name" "$FAIL_REASON" >> "$RESULTS"
    cleanup
    return 1
}

# ------------------------------------------------------------------------------------- runs
STATUS=0
SHARD_PREPARED=0
for target in $TARGETS; do
    case "$target" in
        kafka)
            run_target kafka start_kafka || STATUS=1 ;;
        fsync|page_cache)
            if [[ $SHARD_PREPARED == 0 ]]; then prepare_shard "$BUILD"; SHARD_PREPARED=1; fi
            run_target "shard-$target" start_shard "$target" || STATUS=1 ;;
    esac
done

python3 - "$RESULTS" "records=$RECORDS record_size=$RECORD_SIZE partitions=$PARTITIONS consumers=$CONSUMERS kafka=$KAFKA_VERSION cpus=$(nproc) shard_fsync_delay_us=$FSYNC_DELAY_US${CLIENT_PROPS[*]+ client: ${CLIENT_PROPS[*]}}" <<'PY' | tee "$REPORT"
import sys
path, desc = sys.argv[1], sys.argv[2]
rows, order = {}, []
for line in open(path):
    p = line.rstrip("\n").split("\t")
    if len(p) < 2:
        continue
    order.append(p[0])
    if p[1] == "OK":
        kv = dict(f.split("=", 1) for f in p[2].split())
        rows[p[0]] = kv
    else:
        rows[p[0]] = {"error": p[2] if len(p) > 2 else "failed"}
print(f"ShareCommitPerf (commitSync after every poll): {desc}")
hdr = (f"{'target':<17} {'records/s':>10} {'MB/s':>7} {'seconds':>8} {'join s':>6} {'dups':>6} {'commits':>8} "
       f"{'rec/commit':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'fill rec/s':>10}")
print(hdr)
print("-" * len(hdr))
for name in order:
    r = rows[name]
    if "error" in r:
        print(f"{name:<17} {'FAILED':>10}  {r['error']}")
        continue
    print(f"{name:<17} {float(r['records_per_s']):>10.0f} {float(r['mb_per_s']):>7.1f} {float(r['seconds']):>8.2f} "
          f"{float(r['join_s']):>6.1f} {int(r['duplicates']):>6} {int(r['commits']):>8} "
          f"{float(r['records_per_commit']):>10.1f} {float(r['commit_p50_ms']):>7.2f} {float(r['commit_p99_ms']):>7.2f} "
          f"{float(r['commit_max_ms']):>7.1f} {float(r['fill_rps']):>10.0f}")

def rps(name):
    r = rows.get(name)
    return None if r is None or "error" in r else float(r["records_per_s"])

d, pc, k = rps("shard-fsync"), rps("shard-page_cache"), rps("kafka")
print()
if d is not None and pc is not None:
    ratio = d / pc
    verdict = "MET" if ratio >= 0.5 else "NOT MET"
    print(f"durable / page_cache = {d:.0f} / {pc:.0f} = {ratio:.2f}  "
          f"(bar: durable >= 0.5 x page_cache, i.e. within 2x): {verdict}")
else:
    print("durable / page_cache: n/a (shard-fsync and shard-page_cache both needed)")
if k is not None:
    for name in ("shard-fsync", "shard-page_cache"):
        v = rps(name)
        if v is not None:
            print(f"{name} / kafka = {v:.0f} / {k:.0f} = x{v / k:.2f}")
failed = [n for n in order if "error" in rows[n]]
if failed:
    print(f"\nFAILED: {' '.join(failed)} (reasons above; broker and tool logs in benches/work/logs/)")
PY
log "report: $REPORT"
exit $STATUS
