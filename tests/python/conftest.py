import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from shard_broker import start_broker  # noqa: E402

# Broker config for the share-group tests, the same as the Java tests' ShareSupport.BROKER_OVERRIDES
# (Kafka server.properties / Shard broker.toml): group configs may then ask for 1 s heartbeats and locks.
SHARE_BROKER_OVERRIDES = {
    "group.share.min.record.lock.duration.ms": 1000,
    "group.share.min.heartbeat.interval.ms": 1000,
}


@pytest.fixture
def broker(request):
    """A fresh broker (Shard by default, Apache Kafka with SHARD_TEST_BROKER=kafka) per test."""
    b = start_broker(request.node.name)
    yield b
    b.close()


@pytest.fixture
def share_broker(request):
    """Like `broker`, with SHARE_BROKER_OVERRIDES (for tests marked `share`)."""
    b = start_broker(request.node.name, SHARE_BROKER_OVERRIDES)
    yield b
    b.close()
