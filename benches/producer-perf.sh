#!/usr/bin/env bash
# Producer throughput/latency: Shard vs Apache Kafka, measured with Kafka's own ProducerPerformance tool
# (org.apache.kafka.tools.ProducerPerformance from kafka-tools on Maven Central), in one run.
#
#   benches/producer-perf.sh [--records N] [--record-size B] [--partitions P] [--warmup N]
#                            [--modes "page_cache fsync"] [--kafka-only | --shard-only] [--no-build]
#                            [--keep-data]
#
# Defaults: 1,000,000 records of 1024 bytes, acks=all, --throughput -1 (unthrottled), 1 partition,
# all other producer settings at the Kafka 4.x client defaults (idempotent, linger.ms=5, batch.size=16384).
# Targets, one after the other, each on a fresh data dir under benches/work/ (same disk as the repo):
#   kafka             Apache Kafka broker (same version as the tool), KRaft single node, default flushing
#                     (page cache, like Shard's page_cache mode)
#   shard-page_cache  target/release/shard-broker with log.flush.mode = "page_cache"
#   shard-fsync       target/release/shard-broker with log.flush.mode = "fsync"
# Prints records/s, MB/s, avg / p50 / p99 / max latency per target and the Shard/Kafka ratios; the
# report is also written to benches/work/results/.
#
# Jars: benches/kafka-ref/pom.xml is resolved with Maven into benches/work/kafka-lib (gitignored) by
# benches/lib.sh, shared with the other Kafka-tool benches.
# NOT part of tests/run-all.sh.
set -euo pipefail

# shellcheck source=benches/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECORDS=1000000
RECORD_SIZE=1024
PARTITIONS=1
WARMUP=0
MODES="page_cache fsync"
RUN_KAFKA=1
RUN_SHARD=1
BUILD=1
KEEP_DATA=0

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --modes) MODES="$2"; shift 2 ;;
        --kafka-only) RUN_SHARD=0; shift ;;
        --shard-only) RUN_KAFKA=0; shift ;;
        --no-build) BUILD=0; shift ;;
        --keep-data) KEEP_DATA=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

bench_init producer-perf
RESULTS="$WORK/results/producer-perf-$STAMP.tsv"
REPORT="$WORK/results/producer-perf-$STAMP.txt"
: > "$RESULTS"

kafka_setup

run_perf() { # run_perf NAME  (broker running on $PORT)
    local name="$1"
    local out="$WORK/logs/perf-$name-$STAMP.out"
    tool 60 org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" --create --topic perf \
        --partitions "$PARTITIONS" --replication-factor 1 >&2 || { printf '%s\tFAILED\n' "$name" >> "$RESULTS"; return; }
    local extra=()
    [[ "$WARMUP" -gt 0 ]] && extra=(--warmup-records "$WARMUP")
    log "$name: ProducerPerformance $RECORDS x $RECORD_SIZE B, acks=all, unthrottled"
    local rc=0
    timeout 1800 java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
        -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$LIB/*" \
        org.apache.kafka.tools.ProducerPerformance --topic perf --num-records "$RECORDS" \
        --record-size "$RECORD_SIZE" --throughput -1 --bootstrap-server "127.0.0.1:$PORT" \
        --command-property acks=all "${extra[@]}" 2>&1 | tee "$out" >&2 || rc=$?
    local du
    du="$(du -sb "$DATA_DIR/logs" 2>/dev/null | cut -f1 || echo 0)"
    python3 "$BENCH/perf_parse.py" "$name" "$out" "$du" >> "$RESULTS" || { log "$name: no final result line (exit $rc)"; printf '%s\tFAILED\n' "$name" >> "$RESULTS"; }
}

# --------------------------------------------------------------------------------------- runs
if [[ $RUN_KAFKA == 1 ]]; then
    log "Apache Kafka $KAFKA_VERSION"
    if start_kafka "$WORK/data-kafka"; then run_perf kafka; else printf 'kafka\tFAILED\n' >> "$RESULTS"; fi
    cleanup
fi

if [[ $RUN_SHARD == 1 ]]; then
    prepare_shard "$BUILD"
    for mode in $MODES; do
        if start_shard "$mode" "$WORK/data-shard-$mode"; then run_perf "shard-$mode"; else printf 'shard-%s\tFAILED\n' "$mode" >> "$RESULTS"; fi
        cleanup
    done
fi

python3 "$BENCH/perf_report.py" "$RESULTS" \
    "records=$RECORDS record_size=$RECORD_SIZE partitions=$PARTITIONS warmup=$WARMUP acks=all kafka=$KAFKA_VERSION cpus=$(nproc)" \
    | tee "$REPORT"
log "report: $REPORT"
