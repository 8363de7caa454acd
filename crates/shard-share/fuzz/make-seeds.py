#!/usr/bin/env python3
"""Writes the hand-made seed inputs in seeds/ (run from anywhere; output is deterministic).

Layout of an input (see fuzz_targets/share_partition.rs and Op::decode in src/model.rs):
4 config bytes, then ops, each a tag byte (tag % 12 picks the op) and its argument bytes.
"""
import os
import random


def config(limit=5, renew=True, lock_byte=50, max_in_flight=200):
    """limit 2..=10; lock = 50 + lock_byte * 4950 / 255 ms; max_in_flight 1..=600."""
    return bytes([(limit - 2) | (0x80 if renew else 0), lock_byte]) + (max_in_flight - 1).to_bytes(2, "little")


def produce(n): return bytes([0, (n - 1) % 40])
def compact(i): return bytes([2, i])
def retain(n): return bytes([3, n])
def acquire(m, max_records, record_limit=False, batches=4):
    return bytes([4, m, max_records & 0xFF, max_records >> 8, int(record_limit), batches - 1])
def ack_held(m, pattern): return bytes([6, m, pattern & 0xFF, pattern >> 8])
def ack_range(m, frm, ln, t): return bytes([7, m, frm & 0xFF, ln & 0xFF, t])
def tick(ms): return bytes([8, ms & 0xFF, ms >> 8])
def member_gone(m): return bytes([9, m])
def reset(delta): return bytes([10, 0, delta])
def configure(limit, lock_byte, mif_byte): return bytes([10, 1, limit - 1, lock_byte, mif_byte])
def restart(): return bytes([10, 2])


ACCEPT, RELEASE, REJECT, RENEW = 0x0000, 0x5555, 0xAAAA, 0xFFFF

SEEDS = {
    # produce, fetch, accept: the happy path
    "happy-path": config() + b"".join(produce(n) + acquire(0, 100) + ack_held(0, ACCEPT) for n in (1, 7, 40, 3)),
    # release everything until records hit the delivery limit and are archived (throttled redelivery)
    "redelivery": config(limit=4, max_in_flight=600) + produce(30) + produce(30)
    + b"".join(acquire(m % 3, 500, m % 2 == 0) + ack_held(m % 3, RELEASE) for m in range(8)),
    # locks expire; members vanish; renew; mixed ack types
    "locks": config(limit=3, lock_byte=5) + produce(20) + acquire(0, 10, True) + acquire(1, 10) + tick(300)
    + acquire(2, 50) + ack_held(2, RENEW) + tick(200) + member_gone(1) + acquire(3, 50) + ack_held(3, 0x1B1B) + tick(1000),
    # log changes under the window: compaction, retention, admin reset, restart from persisted state
    "log-changes": config(max_in_flight=50) + b"".join(produce(n) for n in (5, 9, 13, 2, 17)) + compact(1) + acquire(0, 20)
    + retain(2) + acquire(1, 20) + restart() + reset(10) + acquire(2, 30) + ack_held(2, REJECT) + restart() + acquire(0, 100),
    # explicit ranges (valid and invalid), config changes mid-stream, in-flight cap of 1
    "ranges-config": config(limit=2, renew=False, max_in_flight=1) + produce(8) + acquire(0, 5) + ack_range(0, 0, 0, 1)
    + ack_range(0, -3, 4, 2) + ack_range(1, 2, -1, 0) + configure(10, 3, 2) + acquire(1, 8) + ack_range(1, 0, 7, 4)
    + configure(1, 0, 0) + acquire(2, 8) + ack_held(2, 0x2468),
}

# a wide window: 600 records, five members, partial acks, expiry, restarts, retention under it
SEEDS["big-window"] = config(limit=5, lock_byte=10, max_in_flight=600) + produce(40) * 15 + b"".join(
    acquire(m, 90 + 40 * m, m % 2 == 1, 16) + ack_held(m, [ACCEPT, RELEASE, 0x1E1E, REJECT, RENEW][m]) for m in range(5)
) + tick(250) + restart() + retain(3) + b"".join(acquire(m, 200, False, 16) + ack_held(m, 0x4D4D) for m in range(3)) + tick(400) + member_gone(1)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(out, exist_ok=True)
for name, data in sorted(SEEDS.items()):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(f"seeds/{name}: {len(data)} bytes")
