# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the scripts that source this file)
# benches/lib.sh: the parts the Kafka-tool benchmarks share. Sourced (not run) by
# benches/producer-perf.sh, benches/share-consumer-perf.sh and benches/share-commit-perf.sh.
#
# Provides:
#   ROOT BENCH WORK LIB JAVA_LOCALE   paths (repo, benches/, benches/work, benches/work/kafka-lib)
#   bench_init NAME                   results/logs dirs, STAMP, log prefix, cleanup trap (EXIT, INT, TERM)
#   log MSG / fail MSG / interrupted RC
#   kafka_setup                       resolve the jars of benches/kafka-ref/pom.xml into $LIB (cached by
#                                     the pom's sha256), set KAFKA_VERSION, write the log4j2 files
#   require_tool_class CLASS          exit 1 if kafka-tools has no org.apache.kafka.tools.CLASS
#   tool SECONDS MAINCLASS ARGS...    run a Kafka tool (bounded; 512 MiB heap, G1, en_US, WARN to stderr)
#   free_port
#   start_kafka [DIR]                 Apache Kafka KRaft single node (broker+controller) on a free port,
#                                     data in DIR (emptied) or a fresh mktemp dir under $WORK;
#                                     + $KAFKA_EXTRA_PROPS lines in server.properties
#   prepare_shard BUILD               set SHARD_BIN ($SHARD_BROKER_BIN or target/release/shard-broker);
#                                     cargo build --release -p shard-broker first if BUILD=1
#   start_shard MODE [DIR]            $SHARD_BIN with log.flush.mode=MODE, + $SHARD_EXTRA_TOML lines,
#                                     environment + ${SHARD_ENV[@]} (VAR=value words, e.g. LD_PRELOAD)
#   cleanup                           stop the broker (TERM, then KILL after 20 s), remove DATA_DIR
#                                     unless KEEP_DATA=1
#   check_share_apis NAME             ApiVersions must list ShareGroupHeartbeat/ShareFetch/ShareAcknowledge
#   fill_topic NAME TOPIC RECORDS SIZE PARTITIONS SECONDS
#                                     create TOPIC, fill it with ProducerPerformance (acks=all,
#                                     unthrottled); sets FILL_RPS
# Broker state: BROKER_PID, PORT, DATA_DIR. Functions that can fail return 1 and leave the reason in
# FAIL_REASON (already logged).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/benches"
WORK="$BENCH/work"
LIB="$WORK/kafka-lib"
JAVA_LOCALE=(-Duser.language=en -Duser.country=US)

BENCH_NAME="bench"
STAMP=""
KAFKA_VERSION=""
BROKER_PID=""
PORT=""
DATA_DIR=""
KEEP_DATA="${KEEP_DATA:-0}"
FAIL_REASON=""
FILL_RPS=""
SHARD_BIN=""
KAFKA_EXTRA_PROPS="${KAFKA_EXTRA_PROPS:-}"
SHARD_EXTRA_TOML="${SHARD_EXTRA_TOML:-}"
SHARD_ENV=()

log() { echo "[$BENCH_NAME $(date +%H:%M:%S)] $*" >&2; }

fail() { FAIL_REASON="$*"; log "ERROR: $*"; return 1; }

# A tool that ended on SIGINT/SIGTERM (Ctrl-C reaches it: timeout runs it with --foreground) ends the run.
interrupted() { if [[ "$1" == 130 || "$1" == 143 ]]; then log "interrupted"; exit 130; fi; }

bench_init() { # bench_init NAME
    BENCH_NAME="$1"
    mkdir -p "$WORK/results" "$WORK/logs"
    STAMP="$(date +%Y%m%d-%H%M%S)"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# ------------------------------------------------------------------------------ jars and log4j
resolve_jars() {
    local stamp="$LIB/.pom.sha" want
    want="$(sha256sum "$BENCH/kafka-ref/pom.xml" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
    log "resolving Kafka jars (benches/kafka-ref/pom.xml) into $LIB"
    rm -rf "$LIB"
    timeout --foreground 1200 mvn -B -q -ntp -f "$BENCH/kafka-ref/pom.xml" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory="$LIB" -DincludeScope=runtime
    echo "$want" > "$stamp"
}

write_file_if_changed() { # write_file_if_changed PATH  (content on stdin; atomic, so concurrent runs never see half a file)
    local tmp; tmp="$(mktemp "$1.XXXXXX")"
    cat > "$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

kafka_setup() {
    resolve_jars
    local jar
    for jar in "$LIB"/kafka-clients-*.jar; do
        KAFKA_VERSION="${jar##*/kafka-clients-}"; KAFKA_VERSION="${KAFKA_VERSION%.jar}"
    done
    [[ -n "$KAFKA_VERSION" && -f "$LIB/kafka-clients-$KAFKA_VERSION.jar" ]] \
        || { log "ERROR: no kafka-clients jar in $LIB"; exit 1; }
    write_file_if_changed "$WORK/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
    write_file_if_changed "$WORK/broker-log4j2.properties" <<'EOF'
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
}

require_tool_class() { # require_tool_class ShareConsumerPerformance
    if ! unzip -l "$LIB/kafka-tools-$KAFKA_VERSION.jar" "org/apache/kafka/tools/$1.class" >/dev/null 2>&1; then
        log "ERROR: kafka-tools $KAFKA_VERSION has no org.apache.kafka.tools.$1"
        exit 1
    fi
}

tool() { # tool SECONDS <MainClass> args...   (bounded)
    local limit="$1"; shift
    timeout --foreground --kill-after=10 "$limit" java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
        -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$LIB/*" "$@"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ------------------------------------------------------------------------------------ brokers
cleanup() {
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    BROKER_PID=""
    if [[ -n "$DATA_DIR" ]]; then
        if [[ "$KEEP_DATA" == 0 ]]; then rm -rf "$DATA_DIR"; else log "kept data dir $DATA_DIR"; fi
    fi
    DATA_DIR=""
}

new_data_dir() { # new_data_dir KIND [DIR] -> sets DATA_DIR (empty, with logs/)
    if [[ -n "${2:-}" ]]; then
        DATA_DIR="$2"; rm -rf "$DATA_DIR"
    else
        DATA_DIR="$(mktemp -d "$WORK/$BENCH_NAME-$1.XXXXXX")"
    fi
    mkdir -p "$DATA_DIR/logs"
}

wait_ready() { # wait_ready PORT LOGFILE
    local port="$1" logf="$2" deadline=$(( $(date +%s) + 60 ))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        kill -0 "$BROKER_PID" 2>/dev/null || { tail -30 "$logf" >&2; fail "broker exited during start-up (log $logf)"; return 1; }
        [[ $(date +%s) -lt $deadline ]] || { fail "broker not listening on $port after 60 s (log $logf)"; return 1; }
        sleep 0.1
    done
    until tool 30 org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>&1; do
        kill -0 "$BROKER_PID" 2>/dev/null || { tail -30 "$logf" >&2; fail "broker exited (log $logf)"; return 1; }
        [[ $(date +%s) -lt $deadline ]] || { fail "broker on $port not answering Metadata after 60 s (log $logf)"; return 1; }
        sleep 0.5
    done
}

start_kafka() { # start_kafka [DIR]   sets BROKER_PID, PORT, DATA_DIR
    PORT="$(free_port)"
    local cport; cport="$(free_port)"
    new_data_dir kafka "${1:-}"
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
$KAFKA_EXTRA_PROPS
EOF
    # Kafka 4.2+: a freshly formatted node has share.version=1 (share groups on) by default.
    local cid="-"
    while [[ "$cid" == -* ]]; do cid="$(tool 60 kafka.tools.StorageTool random-uuid)"; done
    tool 120 kafka.tools.StorageTool format --standalone -t "$cid" -c "$DATA_DIR/server.properties" >&2 \
        || { fail "kafka storage format failed"; return 1; }
    local logf="$WORK/logs/$BENCH_NAME-kafka-$STAMP.log"
    # kafka-server-start.sh's JVM settings (1 GiB heap, G1, its performance options)
    java -Xms1G -Xmx1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 "${JAVA_LOCALE[@]}" \
        -Dkafka.logs.dir="$WORK/logs" -Dlog4j2.configurationFile="$WORK/broker-log4j2.properties" \
        -cp "$LIB/*" kafka.Kafka "$DATA_DIR/server.properties" > "$logf" 2>&1 &
    BROKER_PID=$!
    wait_ready "$PORT" "$logf"
}

prepare_shard() { # prepare_shard BUILD(0|1)   sets SHARD_BIN
    SHARD_BIN="${SHARD_BROKER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/shard-broker}"
    if [[ "$1" == 1 && -z "${SHARD_BROKER_BIN:-}" ]]; then
        log "cargo build --release -p shard-broker"
        (cd "$ROOT" && timeout --foreground 3600 cargo build --release -p shard-broker) >&2 \
            || log "build failed (using the existing binary, if any)"
    fi
}

start_shard() { # start_shard MODE [DIR]   sets BROKER_PID, PORT, DATA_DIR
    local mode="$1"
    if [[ ! -x "$SHARD_BIN" ]]; then fail "Shard binary not found: $SHARD_BIN"; return 1; fi
    PORT="$(free_port)"
    new_data_dir "shard-$mode" "${2:-}"
    cat > "$DATA_DIR/broker.toml" <<EOF
listeners = "127.0.0.1:$PORT"
node.id = 1
log.dir = "$DATA_DIR/logs"
log.flush.mode = "$mode"
num.partitions = 1
$SHARD_EXTRA_TOML
EOF
    local logf="$WORK/logs/$BENCH_NAME-shard-$mode-$STAMP.log"
    env ${SHARD_ENV[@]+"${SHARD_ENV[@]}"} "$SHARD_BIN" --config "$DATA_DIR/broker.toml" > "$logf" 2>&1 &
    BROKER_PID=$!
    wait_ready "$PORT" "$logf"
}

# --------------------------------------------------------------------------------- share groups
check_share_apis() { # check_share_apis NAME: ApiVersions must list the share APIs the consumers need
    local out="$WORK/logs/$BENCH_NAME-apiversions-$1-$STAMP.out" missing=() api
    tool 60 org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$PORT" > "$out" 2>&1 \
        || { fail "BrokerApiVersionsCommand failed (see $out)"; return 1; }
    for api in ShareGroupHeartbeat ShareFetch ShareAcknowledge; do
        grep -Eq "^[[:space:]]*$api\([0-9]+\): [0-9]+ to [0-9]+|^[[:space:]]*$api\([0-9]+\): [0-9]+ \[" "$out" \
            || missing+=("$api")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        fail "broker does not serve the share-group APIs (${missing[*]}: $(grep -E "${missing[0]}" "$out" | sed 's/^[[:space:]]*//' | head -1 || true)); see $out"
        return 1
    fi
}

fill_topic() { # fill_topic NAME TOPIC RECORDS RECORD_SIZE PARTITIONS SECONDS   sets FILL_RPS
    local name="$1" topic="$2" records="$3" size="$4" partitions="$5" limit="$6"
    local out="$WORK/logs/$BENCH_NAME-fill-$name-$STAMP.out"
    tool 60 org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" --create --topic "$topic" \
        --partitions "$partitions" --replication-factor 1 >&2 || { fail "create topic failed"; return 1; }
    log "$name: filling topic $topic with ProducerPerformance, $records x $size B, acks=all (limit ${limit}s)"
    local rc=0
    tool "$limit" org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$records" \
        --record-size "$size" --throughput -1 --bootstrap-server "127.0.0.1:$PORT" \
        --command-property acks=all > "$out" 2>&1 || rc=$?
    interrupted "$rc"
    local row
    if ! row="$(python3 "$BENCH/perf_parse.py" "$name" "$out")"; then
        tail -5 "$out" >&2
        fail "fill did not complete (exit $rc, see $out)"; return 1
    fi
    local sent; sent="$(cut -f2 <<<"$row")"
    [[ "$sent" == "$records" ]] || { fail "fill sent $sent of $records records"; return 1; }
    FILL_RPS="$(cut -f3 <<<"$row")"
    log "$name: filled, $FILL_RPS records/s"
}
