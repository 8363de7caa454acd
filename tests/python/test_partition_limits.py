"""Partition limits with librdkafka's AdminClient: a CreateTopics (also validate_only) asking for
100,000 partitions (the most librdkafka sends; the raw-protocol tests send 2^31-1) is refused with
POLICY_VIOLATION and Kafka's message, as Apache Kafka 4.x refuses more than 10,000 partitions per
request (SHARD_TEST_BROKER=kafka runs the same assertions against Kafka)."""

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


@pytest.mark.timeout(60)
@pytest.mark.parametrize("validate_only", [True, False], ids=["validate_only", "create"])
def test_absurd_partition_count_is_a_policy_violation(broker, validate_only):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics([NewTopic("huge", num_partitions=100_000, replication_factor=1)],
                                  validate_only=validate_only, operation_timeout=30, request_timeout=30)
    with pytest.raises(KafkaException) as refused:
        futures["huge"].result(timeout=30)
    err = refused.value.args[0]
    assert err.code() == KafkaError.POLICY_VIOLATION, err
    assert "Excessively large number of partitions per request" in err.str(), err
    assert "huge" not in admin.list_topics(timeout=10).topics
