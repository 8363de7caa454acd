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
# Jars: benches/kafka-ref/pom.xml is resolved with Maven into benches/work/kafka-lib (gitignored).
# NOT part of tests/run-all.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches"
WORK="$BENCH/work"
LIB="$WORK/kafka-lib"

RECORDS=1000000
RECORD_SIZE=1024
PARTITIONS=1
WARMUP=0
MODES="page_cache fsync"
RUN_KAFKA=1
RUN_SHARD=1
BUILD=1
KEEP_DATA=0

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }

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

mkdir -p "$WORK" "$WORK/results" "$WORK/logs"
STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="$WORK/results/producer-perf-$STAMP.tsv"
REPORT="$WORK/results/producer-perf-$STAMP.txt"
: > "$RESULTS"

JAVA_LOCALE=(-Duser.language=en -Duser.country=US)

log() { echo "[producer-perf $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------- jars
resolve_jars() {
    local stamp="$LIB/.pom.sha"
    local want
    want="$(sha256sum "$BENCH/kafka-ref/pom.xml" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    log "resolving Kafka jars (benches/kafka-ref/pom.xml) into $LIB"
    rm -rf "$LIB"
    mvn -B -q -ntp -f "$BENCH/kafka-ref/pom.xml" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory="$LIB" -DincludeScope=runtime
    echo "$want" > "$stamp"
}
resolve_jars
KAFKA_VERSION="$(ls "$LIB" | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p')"

cat > "$WORK/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
cat > "$WORK/broker-log4j2.properties" <<'EOF'
status = error
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
EOF

tool() { # tool <MainClass> args...
    java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
        -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" \
        -cp "$LIB/*" "$@"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------- processes
BROKER_PID=""
DATA_DIR=""
cleanup() {
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    BROKER_PID=""
    if [[ -n "$DATA_DIR" && $KEEP_DATA == 0 ]]; then rm -rf "$DATA_DIR"; fi
    DATA_DIR=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() { # wait_ready PORT LOGFILE
    local port="$1" logf="$2" deadline=$(( $(date +%s) + 60 ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        kill -0 "$BROKER_PID" 2>/dev/null || { log "broker exited during start-up; log $logf:"; tail -30 "$logf" >&2; return 1; }
        [[ $(date +%s) -lt $deadline ]] || { log "broker not listening on $port after 60 s; log $logf"; return 1; }
        sleep 0.1
    done
    until tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>&1; do
        kill -0 "$BROKER_PID" 2>/dev/null || { log "broker exited; log $logf:"; tail -30 "$logf" >&2; return 1; }
        [[ $(date +%s) -lt $deadline ]] || { log "broker on $port not answering Metadata after 60 s; log $logf"; return 1; }
        sleep 0.5
    done
}

start_kafka() { # sets BROKER_PID, PORT, DATA_DIR
    PORT="$(free_port)"
    local cport; cport="$(free_port)"
    DATA_DIR="$WORK/data-kafka"
    rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR/logs"
    cat > "$DATA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR/logs
num.partitions=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
EOF
    local cid="-"
    while [[ "$cid" == -* ]]; do cid="$(tool kafka.tools.StorageTool random-uuid)"; done
    tool kafka.tools.StorageTool format --standalone -t "$cid" -c "$DATA_DIR/server.properties" >&2
    local logf="$WORK/logs/kafka-$STAMP.log"
    java -Xms1G -Xmx1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 "${JAVA_LOCALE[@]}" \
        -Dkafka.logs.dir="$WORK/logs" -Dlog4j2.configurationFile="$WORK/broker-log4j2.properties" \
        -cp "$LIB/*" kafka.Kafka "$DATA_DIR/server.properties" > "$logf" 2>&1 &
    BROKER_PID=$!
    wait_ready "$PORT" "$logf"
}

start_shard() { # start_shard MODE
    local mode="$1"
    PORT="$(free_port)"
    DATA_DIR="$WORK/data-shard-$mode"
    rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR/logs"
    cat > "$DATA_DIR/broker.toml" <<EOF
listeners = "127.0.0.1:$PORT"
node.id = 1
log.dir = "$DATA_DIR/logs"
log.flush.mode = "$mode"
num.partitions = 1
EOF
    local logf="$WORK/logs/shard-$mode-$STAMP.log"
    "$SHARD_BIN" --config "$DATA_DIR/broker.toml" > "$logf" 2>&1 &
    BROKER_PID=$!
    wait_ready "$PORT" "$logf"
}

run_perf() { # run_perf NAME  (broker running on $PORT)
    local name="$1"
    local out="$WORK/logs/perf-$name-$STAMP.out"
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" --create --topic perf \
        --partitions "$PARTITIONS" --replication-factor 1 >&2
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
    if start_kafka; then run_perf kafka; else printf 'kafka\tFAILED\n' >> "$RESULTS"; fi
    cleanup
fi

if [[ $RUN_SHARD == 1 ]]; then
    SHARD_BIN="${SHARD_BROKER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/shard-broker}"
    if [[ $BUILD == 1 && -z "${SHARD_BROKER_BIN:-}" ]]; then
        log "cargo build --release -p shard-broker"
        (cd "$ROOT" && cargo build --release -p shard-broker) >&2 || log "build failed"
    fi
    for mode in $MODES; do
        if [[ -x "$SHARD_BIN" ]] && start_shard "$mode"; then run_perf "shard-$mode"; else printf 'shard-%s\tFAILED\n' "$mode" >> "$RESULTS"; fi
        cleanup
    done
fi

python3 "$BENCH/perf_report.py" "$RESULTS" \
    "records=$RECORDS record_size=$RECORD_SIZE partitions=$PARTITIONS warmup=$WARMUP acks=all kafka=$KAFKA_VERSION cpus=$(nproc)" \
    | tee "$REPORT"
log "report: $REPORT"
