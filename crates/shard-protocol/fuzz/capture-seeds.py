#!/usr/bin/env python3
"""Seeds the request fuzz targets with real client traffic.

Starts the release broker advertising a recording proxy, runs real librdkafka clients
(confluent-kafka: producer, idempotent producer, assign() consumer, admin, share consumer)
through the proxy, and writes every distinct (API, version) request frame it saw:

  seeds/frame/<Api>-v<version>          the frame after its size prefix (target `frame`)
  seeds/request/<Api>-v<version>        the same request in the `request` target's layout:
                                        served-table index, version offset, then the frame
                                        after its 8-byte prefix

Run from the repo root after `cargo build --release -p shard-broker`, with a Python that has
confluent-kafka (tests/.venv/bin/python after tests/run-all.sh step 4):

  tests/.venv/bin/python crates/shard-protocol/fuzz/capture-seeds.py

Output is regenerated from scratch; the files are committed (they are our own traffic).
"""

import asyncio
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BIN = Path(os.environ.get("SHARD_BROKER_BIN", REPO / "target/release/shard-broker"))

# The order of shard_protocol::codec_apis(): the served table as in
# crates/shard-protocol/src/apis.rs, then CODEC_ONLY_APIS (the `request` target picks an API by
# index into it).
SERVED = [
    ("Produce", 0, 3), ("Fetch", 1, 4), ("ListOffsets", 2, 1), ("Metadata", 3, 0),
    ("FindCoordinator", 10, 0), ("ApiVersions", 18, 0), ("CreateTopics", 19, 2),
    ("DeleteTopics", 20, 1), ("InitProducerId", 22, 0), ("DescribeConfigs", 32, 1),
    ("CreatePartitions", 37, 0), ("IncrementalAlterConfigs", 44, 0), ("DescribeCluster", 60, 0),
    ("DescribeLogDirs", 35, 1),
    ("DescribeTopicPartitions", 75, 0), ("ShareGroupHeartbeat", 76, 1), ("ShareGroupDescribe", 77, 1),
    ("ShareFetch", 78, 1), ("ShareAcknowledge", 79, 1), ("DescribeGroups", 15, 0),
    ("ListGroups", 16, 0), ("DeleteGroups", 42, 0), ("DescribeShareGroupOffsets", 90, 0),
    ("AlterShareGroupOffsets", 91, 0), ("DeleteShareGroupOffsets", 92, 0),
    ("DeleteRecords", 21, 0), ("OffsetForLeaderEpoch", 23, 2),
    # CODEC_ONLY_APIS (not served yet).
    ("OffsetCommit", 8, 2), ("OffsetFetch", 9, 1),
]
BY_KEY = {key: (i, name, vmin) for i, (name, key, vmin) in enumerate(SERVED)}

seen: dict = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def pipe_client(reader, writer, broker_port):
    up_r, up_w = await asyncio.open_connection("127.0.0.1", broker_port)

    async def down():
        try:
            while data := await up_r.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    task = asyncio.create_task(down())
    try:
        while True:
            size = struct.unpack(">i", await reader.readexactly(4))[0]
            frame = await reader.readexactly(size)
            key, version = struct.unpack(">hh", frame[:4])
            seen.setdefault((key, version), frame)
            up_w.write(struct.pack(">i", size) + frame)
            await up_w.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        up_w.close()
        task.cancel()


def run_proxy(proxy_port, broker_port, ready):
    async def main():
        server = await asyncio.start_server(lambda r, w: pipe_client(r, w, broker_port), "127.0.0.1", proxy_port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def traffic(bootstrap):
    common = {"bootstrap.servers": bootstrap}
    admin = AdminClient(common)
    for f in admin.create_topics([NewTopic("seeds", 2, 1), NewTopic("seeds-gone", 1, 1)]).values():
        f.result(10)
    admin.create_partitions([NewPartitions("seeds", 3)])["seeds"].result(10)
    admin.describe_configs([ConfigResource("topic", "seeds")])
    for f in admin.describe_configs([ConfigResource("topic", "seeds")]).values():
        f.result(10)
    for f in admin.incremental_alter_configs(
        [ConfigResource("topic", "seeds", incremental_configs=[
            confluent_kafka.admin.ConfigEntry("retention.ms", "3600000",
                                              incremental_operation=confluent_kafka.admin.AlterConfigOpType.SET)])]
    ).values():
        f.result(10)
    admin.describe_cluster().result(10)
    admin.describe_topics(confluent_kafka.TopicCollection(["seeds"]))["seeds"].result(10)
    admin.list_consumer_groups().result(10)
    for f in admin.delete_topics(["seeds-gone"]).values():
        f.result(10)

    for idem in (False, True):
        p = Producer({**common, "enable.idempotence": idem, "compression.type": "lz4" if idem else "none",
                      "linger.ms": 5})
        for i in range(50):
            p.produce("seeds", key=f"k{i}".encode(), value=b"v" * i, headers={"h": b"x"})
        assert p.flush(10) == 0

    c = Consumer({**common, "group.id": "seeds-unused", "enable.auto.commit": False})
    parts = [TopicPartition("seeds", p, 0) for p in range(3)]
    c.assign(parts)
    c.offsets_for_times([TopicPartition("seeds", 0, int(time.time() * 1000) - 60000)], 10)
    c.get_watermark_offsets(TopicPartition("seeds", 0), 10)
    got, deadline = 0, time.time() + 15
    while got < 100 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    c.close()

    for f in admin.incremental_alter_configs(
        [ConfigResource(confluent_kafka.admin.ResourceType.GROUP, "seeds-share", incremental_configs=[
            confluent_kafka.admin.ConfigEntry("share.auto.offset.reset", "earliest",
                                              incremental_operation=confluent_kafka.admin.AlterConfigOpType.SET)])]
    ).values():
        f.result(10)
    share_cls = getattr(confluent_kafka, "ShareConsumer", None)
    if share_cls is not None:
        sc = share_cls({**common, "group.id": "seeds-share", "share.acknowledgement.mode": "explicit"})
        sc.subscribe(["seeds"])
        deadline = time.time() + 10
        while time.time() < deadline:
            batch = sc.poll(0.5) if hasattr(sc, "poll") else None
            for m in batch or []:
                if m is not None and not m.error():
                    sc.acknowledge(m, confluent_kafka.AcknowledgeType.ACCEPT)
            if batch:
                break
        sc.commit_sync(10)
        sc.close()
    for f in admin.describe_consumer_groups(["seeds-share"]).values():
        try:
            f.result(10)
        except Exception:
            pass
    for f in admin.delete_consumer_groups(["seeds-share"]).values():
        try:
            f.result(10)
        except Exception:
            pass


def main():
    broker_port, proxy_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="shard-seeds-")
    cfg = Path(data) / "broker.toml"
    cfg.write_text(
        f'listeners = "PLAINTEXT://127.0.0.1:{broker_port}"\n'
        f'advertised.listeners = "127.0.0.1:{proxy_port}"\n'
        f'log.dir = "{data}/log"\n'
    )
    broker = subprocess.Popen([str(BIN), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", broker_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        ready = threading.Event()
        threading.Thread(target=run_proxy, args=(proxy_port, broker_port, ready), daemon=True).start()
        ready.wait(5)
        traffic(f"127.0.0.1:{proxy_port}")
    finally:
        broker.terminate()
        broker.wait(15)
        shutil.rmtree(data, ignore_errors=True)

    for sub in ("frame", "request"):
        shutil.rmtree(HERE / "seeds" / sub, ignore_errors=True)
        (HERE / "seeds" / sub).mkdir(parents=True)
    for (key, version), frame in sorted(seen.items()):
        if key not in BY_KEY:
            continue
        index, name, vmin = BY_KEY[key]
        (HERE / "seeds/frame" / f"{name}-v{version}").write_bytes(frame)
        (HERE / "seeds/request" / f"{name}-v{version}").write_bytes(bytes([index, version - vmin]) + frame[8:])
    print(f"captured {len(seen)} distinct (api, version) requests:",
          ", ".join(f"{BY_KEY.get(k, (0, k))[1]} v{v}" for k, v in sorted(seen)))


if __name__ == "__main__":
    sys.exit(main())
