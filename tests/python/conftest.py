import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from shard_broker import start_broker  # noqa: E402


@pytest.fixture
def broker(request):
    """A fresh broker (Shard by default, Apache Kafka with SHARD_TEST_BROKER=kafka) per test."""
    b = start_broker(request.node.name)
    yield b
    b.close()
