"""KIP-932 share groups through librdkafka's share consumer (confluent-kafka >= 2.15, class ShareConsumer).

Marked `share`: excluded from the default run (pytest.ini) until Shard serves ShareGroupHeartbeat /
ShareFetch / ShareAcknowledge and IncrementalAlterConfigs on GROUP resources. Run them with

    tests/.venv/bin/python -m pytest tests/python -m share                            # against Shard (they also run by default)
    SHARD_TEST_BROKER=kafka tests/.venv/bin/python -m pytest tests/python -m share    # against Kafka 4.3.1

confluent-kafka API used (2.16.1, librdkafka 2.16.0; the share consumer is "Preview" there):
  ShareConsumer(conf) with group.id and share.acknowledgement.mode = implicit | explicit;
  subscribe([topic]); poll(timeout_s) -> list of Message (check .error() on each);
  acknowledge(msg, AcknowledgeType.ACCEPT | RELEASE | REJECT) (explicit mode only, else IllegalStateException);
  commit_sync(timeout_s) -> {TopicPartition: None | KafkaException}; Message.delivery_count(); close().
The group's share.auto.offset.reset=earliest is set with AdminClient.incremental_alter_configs on a
ConfigResource(ResourceType.GROUP, group) before any consumer joins, so records produced first are delivered.

Every test uses one broker (fixture share_broker, with the same broker overrides as the Java share tests),
its own topic and group, and bounded waits.
"""

import time

import pytest
from confluent_kafka import AcknowledgeType, IllegalStateException, Producer, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

pytestmark = pytest.mark.share

QUIET_S = 3.0  # how long "nothing more arrives" is watched


# ------------------------------------------------------------------------------------------ helpers
def create_topic(admin: AdminClient, topic: str, partitions: int) -> None:
    fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                             operation_timeout=30, request_timeout=30)
    fs[topic].result(timeout=30)


def set_group_configs(admin: AdminClient, group: str, configs: dict) -> None:
    """IncrementalAlterConfigs (SET) on resource type GROUP, as ShareSupport.setGroupConfig does in Java."""
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()])
    for f in admin.incremental_alter_configs([res], request_timeout=30).values():
        f.result(timeout=30)


def setup_group(admin: AdminClient, group: str) -> None:
    # earliest: records are produced before the consumer joins. 1 s heartbeat: the member gets its
    # assignment in about a second instead of five (needs group.share.min.heartbeat.interval.ms <= 1000).
    set_group_configs(admin, group, {"share.auto.offset.reset": "earliest", "share.heartbeat.interval.ms": "1000"})


def produce(bootstrap: str, topic: str, values: list, partition: int | None = None) -> dict:
    """Produces values (bytes) in order; returns {(partition, offset): value} from the delivery reports."""
    placed, errors = {}, []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            placed[(msg.partition(), msg.offset())] = msg.value()

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    deadline = time.monotonic() + 120
    for i, v in enumerate(values):
        kw = {} if partition is None else {"partition": partition}
        while True:
            try:
                p.produce(topic, key=f"k{i}".encode(), value=v, on_delivery=on_delivery, **kw)
                break
            except BufferError:
                p.poll(0.1)
                assert time.monotonic() < deadline, "producer queue stayed full for 120 s"
        p.poll(0)
    remaining = p.flush(60)
    assert remaining == 0, f"{remaining} records not delivered after flush(60)"
    assert not errors, f"{len(errors)} delivery failures, first: {errors[0]}"
    assert len(placed) == len(values), f"{len(values)} produced but {len(placed)} distinct (partition, offset)"
    return placed


def share_consumer(bootstrap: str, group: str, client_id: str, mode: str, topic: str) -> ShareConsumer:
    c = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": client_id,
                       "share.acknowledgement.mode": mode})
    c.subscribe([topic])
    return c


def poll_records(c: ShareConsumer, timeout_s: float, errors: list) -> list:
    """One poll; returns the records, appends error events (as strings) to errors."""
    out = []
    for m in c.poll(timeout_s):
        if m.error() is not None:
            errors.append(str(m.error()))
        else:
            out.append(m)
    return out


def assert_commit_ok(result: dict) -> None:
    bad = {f"{tp.topic}-{tp.partition}": str(e) for tp, e in result.items() if e is not None}
    assert not bad, f"commit_sync reported per-partition errors: {bad}"


def drain_quiet(c: ShareConsumer, seconds: float, errors: list) -> list:
    """Polls for `seconds`, stopping at the first non-empty poll (whose records it returns): in explicit mode
    the next poll would refuse to run with those records un-acknowledged."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = poll_records(c, 0.5, errors)
        if got:
            return got
    return []


def sentinel_only(bootstrap: str, c: ShareConsumer, topic: str, partition: int, explicit: bool, errors: list,
                  timeout_s: float = 30) -> list:
    """Produces one sentinel record and polls until it arrives (accepting it in explicit mode).
    Returns every other record seen meanwhile (should be none)."""
    placed = produce(bootstrap, topic, [b"sentinel"], partition=partition)
    (sp, so), = placed
    others = []
    deadline = time.monotonic() + timeout_s
    while True:
        assert time.monotonic() < deadline, (
            f"sentinel {topic}-{sp}@{so} not delivered within {timeout_s} s; errors {errors[-5:]}")
        recs = poll_records(c, 0.5, errors)
        for m in recs:
            if explicit:
                c.acknowledge(m, AcknowledgeType.ACCEPT)
        if explicit and recs:
            assert_commit_ok(c.commit_sync(30))
        others += [m for m in recs if (m.partition(), m.offset()) != (sp, so)]
        if any((m.partition(), m.offset()) == (sp, so) for m in recs):
            return others


def describe(recs) -> str:
    return ", ".join(f"{m.partition()}@{m.offset()}(dc {m.delivery_count()})" for m in recs[:10])


# -------------------------------------------------------------------------------------------- tests
@pytest.mark.timeout(240)
def test_implicit_every_record_exactly_once(share_broker):
    """N records in 3 partitions, produced before the consumer joins: one implicit-mode share consumer gets
    each exactly once, delivery count 1, right value. Once acknowledged (next poll / commit_sync / close)
    nothing comes back, not even to a new member of the group, which does get a record produced later."""
    n, partitions = 20_000, 3
    topic, group = "share-implicit", "py-share-implicit"
    admin = AdminClient({"bootstrap.servers": share_broker.bootstrap})
    create_topic(admin, topic, partitions)
    setup_group(admin, group)
    expected = produce(share_broker.bootstrap, topic, [f"v{i}|".encode() + b"x" * (i % 200) for i in range(n)])
    assert {p for p, _ in expected} == set(range(partitions)), "records did not reach every partition"

    errors: list = []
    seen: dict = {}  # (partition, offset) -> [(value, delivery_count)]
    c = share_consumer(share_broker.bootstrap, group, "py-implicit-1", "implicit", topic)
    try:
        deadline = time.monotonic() + 120
        checked_ack_refused = False
        while len(seen) < n:
            assert time.monotonic() < deadline, (
                f"only {len(seen)} of {n} records within 120 s; consumer errors: {errors[-5:]}")
            recs = poll_records(c, 0.5, errors)
            for m in recs:
                assert m.topic() == topic
                seen.setdefault((m.partition(), m.offset()), []).append((m.value(), m.delivery_count()))
            if recs and not checked_ack_refused:
                # implicit mode: explicit acknowledgement is refused
                with pytest.raises(IllegalStateException):
                    c.acknowledge(recs[0], AcknowledgeType.ACCEPT)
                checked_ack_refused = True
        # accept the last poll's records now and see the broker's answer
        assert_commit_ok(c.commit_sync(30))
        late = drain_quiet(c, QUIET_S, errors)
        assert not late, f"{len(late)} records delivered again after all {n} were acknowledged: {describe(late)}"
    finally:
        c.close()

    missing = set(expected) - set(seen)
    extra = set(seen) - set(expected)
    assert not missing, f"{len(missing)} records never delivered, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} records delivered that were not produced, e.g. {sorted(extra)[:5]}"
    dup = {k: v for k, v in seen.items() if len(v) != 1}
    assert not dup, f"{len(dup)} records delivered more than once, e.g. {sorted(dup.items())[:3]}"
    wrong = [k for k, v in seen.items() if v[0][0] != expected[k]]
    assert not wrong, f"{len(wrong)} records with a wrong value, e.g. {sorted(wrong)[:5]}"
    counts = {}
    for v in seen.values():
        counts[v[0][1]] = counts.get(v[0][1], 0) + 1
    assert counts == {1: n}, f"delivery counts (count -> records): {counts}"

    # a new member of the same group: none of the acknowledged records, but a new one
    c2 = share_consumer(share_broker.bootstrap, group, "py-implicit-2", "implicit", topic)
    try:
        others = sentinel_only(share_broker.bootstrap, c2, topic, 0, False, errors)
        assert not others, f"new member got {len(others)} already-acknowledged records: {describe(others)}"
    finally:
        c2.close()


@pytest.mark.timeout(180)
def test_explicit_accept_release_reject(share_broker):
    """30 records in one partition; first delivery: offset%3 = 0 ACCEPT, 1 RELEASE, 2 REJECT, each poll
    committed with commit_sync (no per-partition error). The released ones come back with delivery count 2
    (then ACCEPTed); accepted and rejected ones never come back, while a sentinel produced afterwards does."""
    n = 30
    topic, group = "share-explicit", "py-share-explicit"
    admin = AdminClient({"bootstrap.servers": share_broker.bootstrap})
    create_topic(admin, topic, 1)
    setup_group(admin, group)
    expected = produce(share_broker.bootstrap, topic, [f"e{i}".encode() for i in range(n)], partition=0)
    assert sorted(o for _, o in expected) == list(range(n))

    def policy(off):
        return (AcknowledgeType.ACCEPT, AcknowledgeType.RELEASE, AcknowledgeType.REJECT)[off % 3]

    want = {off: ([1, 2] if off % 3 == 1 else [1]) for off in range(n)}
    deliveries: dict = {}  # offset -> [delivery_count, ...]
    errors: list = []
    c = share_consumer(share_broker.bootstrap, group, "py-explicit", "explicit", topic)
    try:
        deadline = time.monotonic() + 60
        while deliveries != want:
            assert time.monotonic() < deadline, (
                f"deliveries after 60 s: {deliveries}; want {want}; consumer errors {errors[-5:]}")
            recs = poll_records(c, 0.5, errors)
            for m in recs:
                off = m.offset()
                assert m.value() == expected[(0, off)], f"offset {off}: value {m.value()!r}"
                deliveries.setdefault(off, []).append(m.delivery_count())
                assert deliveries[off] == want[off][:len(deliveries[off])], (
                    f"offset {off} (policy {policy(off).name}) delivered with counts {deliveries[off]}, want {want[off]}")
                first = len(deliveries[off]) == 1
                c.acknowledge(m, policy(off) if first else AcknowledgeType.ACCEPT)
            if recs:
                assert_commit_ok(c.commit_sync(30))
        late = drain_quiet(c, QUIET_S, errors)
        assert not late, f"records delivered again after accept/reject/accept-after-release: {describe(late)}"
        others = sentinel_only(share_broker.bootstrap, c, topic, 0, True, errors)
        assert not others, f"accepted or rejected records came back: {describe(others)}"
    finally:
        c.close()


@pytest.mark.timeout(180)
def test_released_every_time_stops_at_delivery_limit(share_broker):
    """10 records RELEASEd on every delivery arrive with delivery count 1, 2, 3, 4, 5 and never a sixth time
    (group.share.delivery.count.limit = 5, the default); a sentinel produced afterwards is delivered."""
    n, limit = 10, 5
    topic, group = "share-limit", "py-share-limit"
    admin = AdminClient({"bootstrap.servers": share_broker.bootstrap})
    create_topic(admin, topic, 1)
    setup_group(admin, group)
    produce(share_broker.bootstrap, topic, [f"l{i}".encode() for i in range(n)], partition=0)

    want = {off: list(range(1, limit + 1)) for off in range(n)}
    deliveries: dict = {}
    errors: list = []
    c = share_consumer(share_broker.bootstrap, group, "py-limit", "explicit", topic)
    try:
        deadline = time.monotonic() + 90
        while deliveries != want:
            assert time.monotonic() < deadline, f"deliveries after 90 s: {deliveries}; errors {errors[-5:]}"
            recs = poll_records(c, 0.5, errors)
            for m in recs:
                off = m.offset()
                deliveries.setdefault(off, []).append(m.delivery_count())
                assert deliveries[off] == want[off][:len(deliveries[off])], (
                    f"offset {off} delivered with counts {deliveries[off]}, want 1..{limit}")
                c.acknowledge(m, AcknowledgeType.RELEASE)
            if recs:
                assert_commit_ok(c.commit_sync(30))
        # the fifth RELEASE archives them: no sixth delivery, and the partition moves on
        others = sentinel_only(share_broker.bootstrap, c, topic, 0, True, errors)
        assert not others, f"records delivered after their {limit}th delivery: {describe(others)}"
    finally:
        c.close()
