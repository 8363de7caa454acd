"""Fetch limits with librdkafka: a consumer whose fetch.max.bytes and max.partition.fetch.bytes are
smaller than every batch still reads everything (each response's first batch comes alone, as Kafka
does), also when the broker's fetch.max.bytes is set low."""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from shard_broker import start_broker

PARTITIONS = 3
PER_PARTITION = 40
VALUE_LEN = 3000


@pytest.fixture
def small_fetch_broker(request):
    """A broker whose fetch.max.bytes (64 KiB) caps what consumers ask for."""
    b = start_broker(request.node.name, {"fetch.max.bytes": 65536})
    yield b
    b.close()


def consume_all(bootstrap: str, topic: str, conf: dict) -> dict:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "enable.auto.commit": False, **conf})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    seen = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + 60
    try:
        while sum(map(len, seen.values())) < PARTITIONS * PER_PARTITION:
            assert time.monotonic() < deadline, f"consumed only {sum(map(len, seen.values()))} records"
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            seen[msg.partition()].append((msg.offset(), msg.value()))
    finally:
        consumer.close()
    return seen


@pytest.mark.timeout(120)
@pytest.mark.parametrize("client_limit", ["small", "default"])
def test_consumer_makes_progress_past_batches_over_the_limits(small_fetch_broker, client_limit):
    topic = f"fetch-limits-{client_limit}"
    admin = AdminClient({"bootstrap.servers": small_fetch_broker.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(timeout=30)
    # linger.ms 0: about one batch per record, each larger than the consumer's limits.
    producer = Producer({"bootstrap.servers": small_fetch_broker.bootstrap, "linger.ms": 0, "acks": "all"})
    for p in range(PARTITIONS):
        for i in range(PER_PARTITION):
            producer.produce(topic, partition=p, value=f"{p}:{i}:".encode() + b"x" * VALUE_LEN)
        producer.flush(30)
    assert producer.flush(30) == 0

    # librdkafka requires fetch.max.bytes >= message.max.bytes (at least 1000).
    conf = {"fetch.max.bytes": 1000, "message.max.bytes": 1000, "max.partition.fetch.bytes": 1000} if client_limit == "small" else {}
    seen = consume_all(small_fetch_broker.bootstrap, topic, conf)
    for p in range(PARTITIONS):
        offsets = [o for o, _ in seen[p]]
        assert offsets == list(range(PER_PARTITION)), f"partition {p}: {offsets}"
        for o, v in seen[p]:
            assert v.startswith(f"{p}:{o}:".encode()) and len(v) == len(f"{p}:{o}:") + VALUE_LEN
