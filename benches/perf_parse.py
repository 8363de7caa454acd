#!/usr/bin/env python3
"""Parse ProducerPerformance output; print one TSV row: name, records, rec/s, MB/s, avg, max, p50, p95, p99, p99.9, steady, bytes_on_disk.

Uses the final-line regex that fits every Kafka 4.x version (java-harness reference, section 1.4). With
--warmup-records the steady-state line (printed after the total) is preferred.
Usage: perf_parse.py NAME OUTPUT_FILE [BYTES_ON_DISK]   (exit 1 if no final line)
"""
import re
import sys

FINAL = re.compile(
    r"^(\d+)( steady state)? records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$")


def main() -> int:
    name, path = sys.argv[1], sys.argv[2]
    disk = sys.argv[3] if len(sys.argv) > 3 else "0"
    total = steady = None
    with open(path, errors="replace") as f:
        for line in f:
            m = FINAL.match(line.strip())
            if m:
                if m.group(2):
                    steady = m
                else:
                    total = m
    m = steady or total
    if m is None:
        return 1
    g = m.groups()
    print("\t".join([name, g[0], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], "1" if g[1] else "0", disk]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
