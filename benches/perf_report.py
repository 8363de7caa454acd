#!/usr/bin/env python3
"""Render the producer-perf TSV (from perf_parse.py) as a table with Shard/Kafka ratios.
Usage: perf_report.py RESULTS.tsv "run description"
"""
import sys


def main() -> None:
    path, desc = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    rows = {}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if not parts or not parts[0]:
                continue
            order.append(parts[0])
            rows[parts[0]] = None if len(parts) < 12 else {
                "records": int(parts[1]), "rps": float(parts[2]), "mbps": float(parts[3]), "avg": float(parts[4]),
                "max": float(parts[5]), "p50": int(parts[6]), "p95": int(parts[7]), "p99": int(parts[8]),
                "p999": int(parts[9]), "steady": parts[10] == "1", "disk": int(parts[11] or 0)}
    print(f"ProducerPerformance: {desc}")
    hdr = f"{'target':<18} {'records/s':>12} {'MB/s':>8} {'avg ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p99.9':>7} {'max ms':>8} {'disk MiB':>9}"
    print(hdr)
    print("-" * len(hdr))
    for name in order:
        r = rows[name]
        if r is None:
            print(f"{name:<18} {'FAILED':>12}")
            continue
        print(f"{name:<18} {r['rps']:>12.1f} {r['mbps']:>8.2f} {r['avg']:>8.2f} {r['p50']:>7d} {r['p95']:>7d} "
              f"{r['p99']:>7d} {r['p999']:>7d} {r['max']:>8.1f} {r['disk'] / 1048576:>9.1f}")
    k = rows.get("kafka")
    if k and any(n.startswith("shard") and rows[n] for n in order):
        print()
        print("Shard / Kafka (records/s: >1 = Shard faster; p99 latency: <1 = Shard lower)")
        for name in order:
            r = rows[name]
            if not name.startswith("shard") or r is None:
                continue
            p99 = (f"{r['p99'] / k['p99']:.2f}" if k["p99"] > 0 else f"{r['p99']} ms vs 0 ms")
            avg = f"{r['avg'] / k['avg']:.2f}" if k["avg"] > 0 else "n/a"
            print(f"  {name:<18} records/s x{r['rps'] / k['rps']:.2f}   MB/s x{r['mbps'] / k['mbps']:.2f}   "
                  f"avg latency x{avg}   p99 latency x{p99}")
    failed = [n for n in order if rows[n] is None]
    if failed:
        print(f"\nFAILED targets: {' '.join(failed)}")


if __name__ == "__main__":
    main()
