"""Produce 50,000 records with librdkafka (confluent-kafka) and read them back with assign()."""

import os
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

N = int(os.environ.get("SHARD_TEST_PY_RECORDS", "50000"))
PARTITIONS = 3
KEYS = 500


def key(i: int) -> bytes:
    return f"key-{i % KEYS}".encode()


def value(i: int) -> bytes:
    return f"value-{i}|".encode() + bytes((i * 7 + j) & 0xFF for j in range(32 + i % 97))


def headers(i: int) -> list:
    return [("seq", str(i).encode()), ("kind", b"librdkafka"), ("bin", i.to_bytes(4, "big"))]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("idempotent", [False, True], ids=["default", "idempotent"])
def test_produce_consume_roundtrip(broker, idempotent):
    topic = f"rdkafka-roundtrip-{'idem' if idempotent else 'plain'}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)],
                                  operation_timeout=30, request_timeout=30)
    futures[topic].result(timeout=30)
    md = admin.list_topics(topic=topic, timeout=10)
    assert md.topics[topic].error is None, md.topics[topic].error
    assert sorted(md.topics[topic].partitions) == list(range(PARTITIONS))

    base_ts = int(time.time() * 1000) - 3_600_000
    reports = {}  # seq -> (partition, offset, timestamp)
    errors = []
    timestamps = {}

    def on_delivery(seq, err, msg):
        if err is not None:
            errors.append((seq, err))
        else:
            reports[seq] = (msg.partition(), msg.offset())
            timestamps[seq] = msg.timestamp()

    conf = {"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "all"}
    if os.environ.get("RDK_DEBUG"):  # e.g. RDK_DEBUG=msg,protocol for librdkafka debug logs
        conf["debug"] = os.environ["RDK_DEBUG"]
    if idempotent:
        conf["enable.idempotence"] = True
    producer = Producer(conf)
    deadline = time.monotonic() + 120
    for i in range(N):
        while True:
            try:
                producer.produce(topic, key=key(i), value=value(i), headers=headers(i),
                                 timestamp=base_ts + i,
                                 on_delivery=lambda err, msg, seq=i: on_delivery(seq, err, msg))
                break
            except BufferError:
                producer.poll(0.1)
                assert time.monotonic() < deadline, "producer queue stayed full"
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} messages not delivered after flush(60)"
    assert not errors, f"{len(errors)} delivery failures, first: {errors[0]}"
    assert len(reports) == N
    # with CreateTime, the delivery report carries the timestamp we set
    bad_ts = [s for s in range(N) if timestamps[s][1] != base_ts + s]
    assert not bad_ts, f"{len(bad_ts)} delivery reports with a wrong timestamp, first {bad_ts[0]}: {timestamps[bad_ts[0]]}"

    per_partition = {p: [] for p in range(PARTITIONS)}
    for seq in range(N):
        p, off = reports[seq]
        per_partition[p].append((off, seq))
    for p, lst in per_partition.items():
        assert lst, f"partition {p} got no records"
        offsets = [off for off, _ in lst]
        if idempotent:
            # the idempotent producer keeps send order even across retries: offsets 0..n-1 in send order
            assert offsets == list(range(len(lst))), f"delivery-report offsets of partition {p} (send order)"
        else:
            # without idempotence librdkafka may reorder on a retry (e.g. Apache Kafka answers
            # NOT_LEADER_OR_FOLLOWER right after CreateTopics); every offset 0..n-1 still used exactly once
            assert sorted(offsets) == list(range(len(lst))), f"delivery-report offsets of partition {p}"
        lst.sort()  # offset order: what a consumer must see

    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap,
        # librdkafka requires group.id for a Consumer even when only assign() is used. With assign() and
        # explicit offsets it joins no group and commits nothing, but it still sends FindCoordinator
        # for the group (seen with debug=cgrp), so the broker must answer that.
        "group.id": f"py-assign-{topic}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
    })
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got = {p: [] for p in range(PARTITIONS)}
        seen = set()
        total = 0
        deadline = time.monotonic() + 120
        while total < N:
            assert time.monotonic() < deadline, f"timed out: read {total} of {N}"
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    pytest.fail(f"consumer error: {msg.error()}")
                hdrs = msg.headers()
                assert hdrs is not None and hdrs[0][0] == "seq", f"headers {hdrs}"
                seq = int(hdrs[0][1])
                assert seq not in seen, f"record {seq} read twice"
                seen.add(seq)
                total += 1
                p = msg.partition()
                got[p].append((msg.offset(), seq))
                assert reports[seq] == (p, msg.offset()), f"record {seq}: partition/offset vs delivery report"
                assert msg.key() == key(seq)
                assert msg.value() == value(seq), f"value of record {seq}"
                assert hdrs == headers(seq), f"headers of record {seq}: {hdrs}"
                ts_type, ts = msg.timestamp()
                assert ts == base_ts + seq, f"timestamp of record {seq}"
        # nothing extra
        extra = [m for m in consumer.consume(num_messages=100, timeout=1.0) if not m.error()]
        assert not extra, f"{len(extra)} unexpected extra records"
        for p in range(PARTITIONS):
            assert got[p] == per_partition[p], f"partition {p}: order/offsets differ from what was produced"
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assert (low, high) == (0, len(per_partition[p])), f"watermarks of partition {p}"
        assert total == N
    finally:
        consumer.close()
