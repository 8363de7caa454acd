#!/usr/bin/env bash
# Share-partition state machine (crates/shard-share, KIP-932 share groups): throughput and memory.
#
#   benches/share-state.sh [--throughput-only | --memory-only]
#
# Runs, one after the other:
#   cargo bench -p shard-share --bench share_partition   criterion: acquire+accept of 1,000,000 records
#       (10 members, 500-record polls, log batches of 10 and of 1 record) and expire of 100,000 locks
#   cargo bench -p shard-share --bench memory            counting allocator: heap bytes per in-flight record
# then prints records/s for acquire+accept (1,000,000 records over criterion's time estimate, read
# from <target>/criterion/**/new/estimates.json: the slope, else the mean, as criterion prints it),
# the expire times, the memory table, and whether the targets are met:
#   acquire+accept   > 10,000,000 records/s on one core (every variant)
#   memory           < 64 bytes per in-flight record in the common and one-range-per-batch scenarios
# The report is also written to benches/work/results/. Exits non-zero only if a bench fails to run.
# NOT part of tests/run-all.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/benches/work"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CRITERION_HOME="${CRITERION_HOME:-$TARGET_DIR/criterion}"

RUN_THROUGHPUT=1
RUN_MEMORY=1
RATE_TARGET=10000000
BYTES_TARGET=64

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --throughput-only) RUN_MEMORY=0; shift ;;
        --memory-only) RUN_THROUGHPUT=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

mkdir -p "$WORK/results" "$WORK/logs"
STAMP="$(date +%Y%m%d-%H%M%S)"
REPORT="$WORK/results/share-state-$STAMP.txt"
MEMORY_OUT="$WORK/logs/share-state-memory-$STAMP.txt"
MARKER="$WORK/logs/.share-state-$STAMP.start"
: > "$MARKER"

log() { echo "[share-state $(date +%H:%M:%S)] $*" >&2; }

cd "$ROOT"
if [[ $RUN_THROUGHPUT == 1 ]]; then
    log "cargo bench -p shard-share --bench share_partition (criterion; results in $CRITERION_HOME)"
    cargo bench -p shard-share --bench share_partition >&2
fi
if [[ $RUN_MEMORY == 1 ]]; then
    log "cargo bench -p shard-share --bench memory"
    cargo bench -p shard-share --bench memory > "$MEMORY_OUT"
fi

python3 - "$CRITERION_HOME" "$MARKER" "$MEMORY_OUT" "$RUN_THROUGHPUT" "$RUN_MEMORY" "$RATE_TARGET" "$BYTES_TARGET" <<'PY' | tee "$REPORT"
import json, os, platform, subprocess, sys

home, marker, memory_out, run_tp, run_mem, rate_target, bytes_target = sys.argv[1:]
run_tp, run_mem = run_tp == "1", run_mem == "1"
rate_target, bytes_target = float(rate_target), float(bytes_target)
since = os.path.getmtime(marker)

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"

def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return "?"

def results(group_dir):
    """(full_id, estimate ns, low ns, high ns, elements) for every benchmark of a group run by this invocation."""
    out = []
    root = os.path.join(home, group_dir)
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        est_path = os.path.join(dirpath, "estimates.json")
        if os.path.getmtime(est_path) < since:
            continue  # stale: left over from an earlier run
        est = json.load(open(est_path))
        bench = json.load(open(os.path.join(dirpath, "benchmark.json")))
        # The estimate criterion prints: the regression slope when it sampled linearly, else the mean.
        mean = est.get("slope") or est["mean"]
        elements = (bench.get("throughput") or {}).get("Elements")
        out.append((bench["full_id"], mean["point_estimate"], mean["confidence_interval"]["lower_bound"],
                    mean["confidence_interval"]["upper_bound"], elements))
    return sorted(out)

def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"

print(f"Share-partition state machine benchmarks, commit {commit()}, {os.cpu_count()} cpus ({cpu_model()})")
verdicts = []

if run_tp:
    acc = results("acquire_accept")
    print()
    print("acquire + accept (records acquired once and accepted once, one core)")
    print("| benchmark | time per 1M records | records/s | records/s (95% CI) |")
    print("|---|---:|---:|---:|")
    for full_id, mean, lo, hi, n in acc:
        print(f"| {full_id} | {fmt_ns(mean)} | {n / mean * 1e9:,.0f} | {n / hi * 1e9:,.0f} - {n / lo * 1e9:,.0f} |")
    if not acc:
        print("| (no fresh criterion results found) | | | |")
        verdicts.append(("acquire+accept > 10M records/s", False, "no results"))
    else:
        worst = min(n / mean * 1e9 for _, mean, _, _, n in acc)
        verdicts.append((f"acquire+accept > {rate_target / 1e6:.0f}M records/s", worst > rate_target, f"slowest variant {worst / 1e6:,.1f}M records/s"))

    exp = results("expire_100k_locks")
    print()
    print("expire of 100,000 locks (only the expire calls are timed)")
    print("| benchmark | time (95% CI) | per locked record |")
    print("|---|---:|---:|")
    for full_id, mean, lo, hi, n in exp:
        per = f"{mean / n:.{0 if mean / n >= 10 else 2}f} ns" if n else "-"
        print(f"| {full_id} | {fmt_ns(mean)} ({fmt_ns(lo)} - {fmt_ns(hi)}) | {per} |")
    if not exp:
        print("| (no fresh criterion results found) | | |")

if run_mem:
    print()
    rows = []
    for line in open(memory_out):
        line = line.rstrip("\n")
        print(line)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 7 and cells[1].isdigit():
            rows.append((cells[0], float(cells[5])))
    for prefix in ("common", "one range per batch"):
        hits = [(name, b) for name, b in rows if name.startswith(prefix)]
        if not hits:
            verdicts.append((f"{prefix}: < {bytes_target:.0f} B/record", False, "scenario missing from the memory output"))
        for name, b in hits:
            verdicts.append((f"{prefix}: < {bytes_target:.0f} B/in-flight record", b < bytes_target, f"{b:.2f} B/record"))

print()
print("Targets")
for what, ok, detail in verdicts:
    print(f"  {'MET   ' if ok else 'MISSED'} {what}: {detail}")
PY
rm -f "$MARKER"
log "report: $REPORT"
