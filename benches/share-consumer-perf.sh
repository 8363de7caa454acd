#!/usr/bin/env bash
# Share-group consumption throughput: Shard vs Apache Kafka, measured with Kafka's own
# ShareConsumerPerformance tool (org.apache.kafka.tools.ShareConsumerPerformance, kafka-tools 4.1+), in one run.
#
#   benches/share-consumer-perf.sh [--records N] [--record-size B] [--partitions P] [--threads "1 8"]
#                                  [--modes page_cache] [--idle-timeout MS] [--no-verify] [--no-build]
#                                  [--keep-data]
#   SHARE_PERF_TARGETS="kafka shard" (default) | kafka | shard
#
# For each target (Apache Kafka first, then Shard once per --modes entry), on a fresh temporary data dir:
#   1. start the broker (Kafka: KRaft single node from the Maven jars; Shard: target/release/shard-broker,
#      log.flush.mode from --modes, default page_cache = Kafka's own flush policy) on a free port;
#   2. check ApiVersions for ShareGroupHeartbeat / ShareFetch / ShareAcknowledge (a clear error if missing);
#   3. fill topic `perf` with ProducerPerformance: N records of B bytes, acks=all, unthrottled;
#   4. for each --threads T: a fresh share group, share.auto.offset.reset=earliest set with kafka-configs
#      (kafka.admin.ConfigCommand --entity-type groups), then ShareConsumerPerformance --num-records N
#      --threads T (implicit acknowledgement, the tool's default); the run counts only if all N arrived;
#   5. verify (unless --no-verify): produce 1 sentinel record; every measured group must then deliver
#      exactly that record (the tool counts records, not distinct offsets: this catches a broker that
#      reached N by redelivering some records and dropping others, or lost acknowledgements).
# Defaults: 1,000,000 records of 1024 bytes, 1 partition (all T consumers share it), threads "1 8".
# The measured time includes the group join (Kafka: about one 5 s heartbeat interval, the default).
# Prints records/s and MB/s per target and thread count, and the Shard/Kafka ratio; the report goes to
# benches/work/results/share-consumer-perf-<stamp>.txt. A target that fails is reported as FAILED with the
# reason and the others still run. Every step is bounded (timeout); brokers and temp dirs are cleaned up
# on exit, also on failure or Ctrl-C. Exit code: 0 if every requested target produced (and verified) its
# numbers, else 1.
#
# Extra broker config: SHARE_PERF_KAFKA_PROPS (lines appended to server.properties),
# SHARE_PERF_SHARD_TOML (lines appended to broker.toml). Jars: benches/kafka-ref/pom.xml, resolved into
# benches/work/kafka-lib by benches/lib.sh (shared cache with the other benches). NOT part of tests/run-all.sh.
set -euo pipefail

# shellcheck source=benches/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECORDS=1000000
RECORD_SIZE=1024
PARTITIONS=1
THREADS="1 8"
MODES="page_cache"
IDLE_TIMEOUT_MS=30000
VERIFY_RUNS=1
VERIFY_IDLE_MS=15000
BUILD=1
KEEP_DATA=0
TARGETS="${SHARE_PERF_TARGETS:-kafka shard}"

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --modes) MODES="$2"; shift 2 ;;
        --idle-timeout) IDLE_TIMEOUT_MS="$2"; shift 2 ;;
        --no-verify) VERIFY_RUNS=0; shift ;;
        --no-build) BUILD=0; shift ;;
        --keep-data) KEEP_DATA=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
for t in $TARGETS; do
    [[ "$t" == kafka || "$t" == shard ]] || { echo "SHARE_PERF_TARGETS: unknown target '$t' (kafka, shard)" >&2; exit 2; }
done

# time bounds (seconds): fill at >= ~2,000 records/s, each consume run at >= ~4,000 records/s
FILL_LIMIT=$(( 300 + RECORDS / 2000 ))
CONSUME_LIMIT=$(( 120 + RECORDS / 4000 + IDLE_TIMEOUT_MS / 1000 ))

bench_init share-consumer-perf
KAFKA_EXTRA_PROPS="${SHARE_PERF_KAFKA_PROPS:-}"
SHARD_EXTRA_TOML="${SHARE_PERF_SHARD_TOML:-}"
RESULTS="$WORK/results/share-consumer-perf-$STAMP.tsv"
REPORT="$WORK/results/share-consumer-perf-$STAMP.txt"
: > "$RESULTS"
VERIFY="$WORK/results/share-consumer-perf-$STAMP.verify.tsv"
: > "$VERIFY"
OK_GROUPS=()

kafka_setup
require_tool_class ShareConsumerPerformance

fill() { # fill NAME
    fill_topic "$1" perf "$RECORDS" "$RECORD_SIZE" "$PARTITIONS" "$FILL_LIMIT"
}

parse_summary() { # parse_summary FILE -> "rec/s<TAB>MB/s<TAB>records<TAB>ms<TAB>MB<TAB>steady rec/s", empty if no summary
    # Group summary line, fields by header position: start, end, MB, MB.sec, nMsg.sec, nMsg, fetch.time.ms.
    # steady rec/s leaves out the group join and warm-up: from the --show-detailed-stats progress lines
    # ("<from>, <now>, MB, MB/s, rec/s, cumulative records, ms for share consumer <i>") the group's
    # cumulative count C(t) is the sum of each consumer's latest count; t0 = first t with C(t) >= 10% of the
    # total; steady = (total - C(t0)) / (end - t0). Empty when the run was too short for that.
    python3 - "$1" <<'PY'
import re, sys
from datetime import datetime
TS = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3})"
summary = re.compile(r"^" + TS + ", " + TS + r", ([\d.]+), ([\d.]+), ([\d.]+), (\d+), (\d+)$")
progress = re.compile(r"^" + TS + ", " + TS + r", [\d.]+, [\d.]+, [\d.]+, (\d+), \d+ for share consumer (\d+)$")
def ms(ts):
    return datetime.strptime(ts[:19], "%Y-%m-%d %H:%M:%S").timestamp() * 1000 + int(ts[20:])
events, row = [], None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    m = progress.match(line)
    if m:
        events.append((ms(m.group(2)), int(m.group(4)), int(m.group(3))))
        continue
    m = summary.match(line)
    if m and row is None:
        row = m.groups()
if row is None:
    sys.exit(0)
_, end_ts, mb, mbs, rps, n, took = row
total, end, steady = int(n), ms(end_ts), ""
latest = {}
for t, consumer, cum in sorted(events):
    latest[consumer] = cum
    c = sum(latest.values())
    if c >= total / 10:
        if end - t >= 500 and c < total:
            steady = f"{(total - c) * 1000 / (end - t):.1f}"
        break
print(f"{rps}\t{mbs}\t{n}\t{took}\t{mb}\t{steady}")
PY
}

run_share_perf() { # run_share_perf NAME THREADS -> appends a TSV row
    local name="$1" threads="$2"
    local group="perf-share-$name-t$threads-$STAMP"
    local out="$WORK/logs/share-perf-$name-t$threads-$STAMP.out"
    if ! tool 60 kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$PORT" --alter --entity-type groups \
            --entity-name "$group" --add-config share.auto.offset.reset=earliest > "$out.configs" 2>&1; then
        cat "$out.configs" >&2
        printf '%s\t%s\tFAILED\tkafka-configs --entity-type groups failed (%s)\n' "$name" "$threads" "$out.configs" >> "$RESULTS"
        log "$name t=$threads: ERROR: setting share.auto.offset.reset=earliest on group $group failed"
        return 1
    fi
    log "$name: ShareConsumerPerformance --threads $threads --num-records $RECORDS (group $group, limit ${CONSUME_LIMIT}s)"
    local rc=0
    timeout --foreground --kill-after=10 "$CONSUME_LIMIT" java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
        -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$LIB/*" \
        org.apache.kafka.tools.ShareConsumerPerformance --bootstrap-server "127.0.0.1:$PORT" --topic perf \
        --group "$group" --num-records "$RECORDS" --threads "$threads" --timeout "$IDLE_TIMEOUT_MS" \
        --show-consumer-stats --show-detailed-stats --reporting-interval 500 > "$out" 2> "$out.err" || rc=$?
    interrupted "$rc"
    grep -v ' for share consumer ' "$out" >&2 || true
    local row
    row="$(parse_summary "$out")"
    if [[ -z "$row" ]]; then
        local why="no summary line (exit $rc)"
        [[ $rc != 124 ]] || why="no summary line (exit $rc, timed out after ${CONSUME_LIMIT}s)"
        tail -5 "$out.err" >&2 || true
        printf '%s\t%s\tFAILED\t%s; see %s.err\n' "$name" "$threads" "$why" "$out" >> "$RESULTS"
        log "$name t=$threads: ERROR: $why"
        return 1
    fi
    local n; n="$(cut -f3 <<<"$row")"
    if [[ "$n" != "$RECORDS" ]]; then
        printf '%s\t%s\tFAILED\tconsumed %s of %s records (idle timeout %s ms); see %s\n' \
            "$name" "$threads" "$n" "$RECORDS" "$IDLE_TIMEOUT_MS" "$out" >> "$RESULTS"
        log "$name t=$threads: ERROR: consumed $n of $RECORDS records"
        return 1
    fi
    printf '%s\t%s\tOK\t%s\t%s\n' "$name" "$threads" "$row" "$FILL_RPS" >> "$RESULTS"
    OK_GROUPS+=("$threads:$group")
}

# The tool counts records, not distinct offsets, so a broker that redelivered some records and skipped
# others could still reach N. After all runs, one sentinel record is produced; each measured group must
# then deliver exactly that one record: 0 = inconclusive (nothing arrived), 2 = records of the measured
# run were left unacknowledged or never delivered. Appends "NAME THREADS CHECK DETAIL" rows to $VERIFY.
verify_groups() { # verify_groups NAME
    local name="$1" entry threads group out n rc
    [[ ${#OK_GROUPS[@]} -gt 0 ]] || return 0
    out="$WORK/logs/share-perf-verify-$name-$STAMP.out"
    if ! timeout --foreground --kill-after=10 120 java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
            -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$LIB/*" \
            org.apache.kafka.tools.ProducerPerformance --topic perf --num-records 1 --record-size 16 \
            --throughput -1 --bootstrap-server "127.0.0.1:$PORT" --command-property acks=all > "$out" 2>&1; then
        log "$name: verify: producing the sentinel failed (see $out)"
        for entry in "${OK_GROUPS[@]}"; do printf '%s\t%s\tINCONCLUSIVE\tsentinel not produced\n' "$name" "${entry%%:*}" >> "$VERIFY"; done
        return 1
    fi
    local bad=0
    for entry in "${OK_GROUPS[@]}"; do
        threads="${entry%%:*}"; group="${entry#*:}"
        log "$name t=$threads: verify: group $group must now deliver exactly the 1 sentinel record"
        rc=0
        # ConsoleShareConsumer (explicit mode, ACCEPTs what it prints): ShareConsumerPerformance itself
        # cannot be used here, it ends with an exception instead of a summary when fewer than
        # --num-records arrive. It exits after --timeout-ms without a record (non-zero exit, ignored).
        timeout --foreground --kill-after=10 120 java -Xmx512M -XX:+UseG1GC "${JAVA_LOCALE[@]}" \
            -Dlog4j2.configurationFile="$WORK/tools-log4j2.properties" -cp "$LIB/*" \
            org.apache.kafka.tools.consumer.ConsoleShareConsumer --bootstrap-server "127.0.0.1:$PORT" \
            --topic perf --group "$group" --max-messages 2 --timeout-ms "$VERIFY_IDLE_MS" \
            --formatter-property print.partition=true --formatter-property print.offset=true \
            --formatter-property print.delivery=true --formatter-property print.value=false \
            > "$out.t$threads" 2> "$out.t$threads.err" || rc=$?
        interrupted "$rc"
        n="$(grep -c 'Offset:' "$out.t$threads" || true)"
        case "$n" in
            1) printf '%s\t%s\tOK\tsentinel only (%s)\n' "$name" "$threads" "$(tr '\t' ' ' < "$out.t$threads")" >> "$VERIFY" ;;
            0) printf '%s\t%s\tINCONCLUSIVE\tsentinel not delivered within %s ms\n' "$name" "$threads" "$VERIFY_IDLE_MS" >> "$VERIFY"; bad=1 ;;
            2) printf '%s\t%s\tLEFTOVER\trecords of the measured run still delivered after it; see %s\n' "$name" "$threads" "$out.t$threads" >> "$VERIFY"; bad=1 ;;
            *) printf '%s\t%s\tINCONCLUSIVE\tcheck run failed (exit %s); see %s.err\n' "$name" "$threads" "$rc" "$out.t$threads" >> "$VERIFY"; bad=1 ;;
        esac
    done
    return $bad
}

run_target() { # run_target NAME START_CMD...
    local name="$1"; shift
    FAIL_REASON=""
    log "=== $name"
    if "$@" && check_share_apis "$name" && fill "$name"; then
        local t ok=0
        OK_GROUPS=()
        for t in $THREADS; do run_share_perf "$name" "$t" || ok=1; done
        [[ $VERIFY_RUNS == 0 ]] || verify_groups "$name" || ok=1
        cleanup
        return $ok
    fi
    for t in $THREADS; do printf '%s\t%s\tFAILED\t%s\n' "$name" "$t" "$FAIL_REASON" >> "$RESULTS"; done
    cleanup
    return 1
}

# ------------------------------------------------------------------------------------------------ runs
STATUS=0
for target in $TARGETS; do
    case "$target" in
        kafka)
            run_target kafka start_kafka || STATUS=1 ;;
        shard)
            prepare_shard "$BUILD"
            for mode in $MODES; do run_target "shard-$mode" start_shard "$mode" || STATUS=1; done ;;
    esac
done

python3 - "$RESULTS" "$VERIFY" "records=$RECORDS record_size=$RECORD_SIZE partitions=$PARTITIONS idle_timeout_ms=$IDLE_TIMEOUT_MS kafka-tools=$KAFKA_VERSION cpus=$(nproc)" <<'PY' | tee "$REPORT"
import sys
path, vpath, desc = sys.argv[1], sys.argv[2], sys.argv[3]
verify = {}
for line in open(vpath):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 3:
        verify[(p[0], int(p[1]))] = (p[2], p[3] if len(p) > 3 else "")
rows, order = {}, []
for line in open(path):
    p = line.rstrip("\n").split("\t")
    if len(p) < 3:
        continue
    key = (p[0], int(p[1]))
    order.append(key)
    rows[key] = ({"rps": float(p[3]), "mbs": float(p[4]), "n": int(p[5]), "ms": int(p[6]),
                  "steady": float(p[8]) if p[8] else None, "fill": float(p[9]) if p[9] else None}
                 if p[2] == "OK" else {"error": p[3] if len(p) > 3 else "failed"})
print(f"ShareConsumerPerformance: {desc}")
hdr = (f"{'target':<18} {'threads':>7} {'records/s':>12} {'MB/s':>8} {'records':>9} {'time ms':>8} "
       f"{'steady rec/s':>13} {'fill rec/s':>11}  verify")
print(hdr)
print("-" * len(hdr))
for k in order:
    r = rows[k]
    if "error" in r:
        print(f"{k[0]:<18} {k[1]:>7} {'FAILED':>12}  {r['error']}")
    else:
        fill = f"{r['fill']:>11.0f}" if r["fill"] else f"{'':>11}"
        v = verify.get(k, ("skipped", ""))[0]
        steady = f"{r['steady']:>13.1f}" if r["steady"] else f"{'n/a':>13}"
        print(f"{k[0]:<18} {k[1]:>7} {r['rps']:>12.1f} {r['mbs']:>8.2f} {r['n']:>9} {r['ms']:>8} {steady} {fill}  {v}")
shard = [k for k in order if k[0].startswith("shard")]
if shard and any("error" not in rows.get(("kafka", k[1]), {"error": 1}) for k in shard):
    print()
    print("Shard / Kafka records/s (>1 = Shard faster): tool's number (join included), steady (join excluded)")
    for k in shard:
        kk = rows.get(("kafka", k[1]))
        if kk is None or "error" in kk:
            continue
        r = rows[k]
        if "error" in r:
            ratio = "n/a (Shard side failed)"
        else:
            ratio = f"x{r['rps'] / kk['rps']:.2f}"
            if r["steady"] and kk["steady"]:
                ratio += f"   steady x{r['steady'] / kk['steady']:.2f}"
        print(f"  {k[0]:<18} threads {k[1]:<3} {ratio}")
for k, (v, detail) in verify.items():
    if v != "OK":
        print(f"\nVERIFY {v}: {k[0]} threads {k[1]}: {detail}")
failed = sorted({k[0] for k in order if "error" in rows[k]})
if failed:
    print(f"\nFAILED: {' '.join(failed)} (reasons above; broker and tool logs in benches/work/logs/)")
PY
log "report: $REPORT"
exit $STATUS
