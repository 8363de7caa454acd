"""Start a broker process for the Python end-to-end tests.

By default this runs the Shard release binary: $SHARD_BROKER_BIN, else <repo>/target/release/shard-broker.
With SHARD_TEST_BROKER=kafka the same tests run against the Apache Kafka reference broker (KRaft, single
node), started with `java` from the jars in $SHARD_KAFKA_LIB (default <repo>/benches/work/kafka-lib).
That is how the assertions themselves are checked against Apache Kafka.

Each broker gets a free loopback port, a fresh temporary data directory, and a log file under
tests/python/.logs/. Start-up is bounded (SHARD_TEST_READY_TIMEOUT, default 30 s).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import atexit
import base64
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = Path(__file__).resolve().parent / ".logs"
READY_TIMEOUT = float(os.environ.get("SHARD_TEST_READY_TIMEOUT", "30"))
_LIVE: set = set()


@atexit.register
def _kill_leftovers() -> None:
    for p in list(_LIVE):
        if p.poll() is None:
            p.kill()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flavor() -> str:
    return "kafka" if os.environ.get("SHARD_TEST_BROKER", "shard").lower() == "kafka" else "shard"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


class Broker:
    def __init__(self, name: str, overrides: dict | None = None):
        self.name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        self.flavor = flavor()
        self.overrides = dict(overrides or {})
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"shard-py-{self.name}-"))
        self.port = free_port()
        self.controller_port = free_port() if self.flavor == "kafka" else None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}-{os.getpid()}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self._log = open(self.log_path, "ab")
        self._write_config()

    # -- public -----------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Broker":
        if self.flavor == "shard":
            binary = Path(os.environ.get("SHARD_BROKER_BIN") or REPO / "target/release/shard-broker")
            if not os.access(binary, os.X_OK):
                raise RuntimeError(
                    f"Shard broker binary not found: {binary} "
                    "(cargo build --release -p shard-broker, or set SHARD_BROKER_BIN)")
            cmd = [str(binary), "--config", str(self.config_path)]
        else:
            cmd = self._java() + ["kafka.Kafka", str(self.config_path)]
        self._log.write(f"=== {time.strftime('%H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        self._log.flush()
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(cmd, cwd=self.data_dir, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        _LIVE.add(self.proc)
        self._wait_ready()
        return self

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> int:
        """SIGTERM and wait (30 s), then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return 0
        p, self.proc = self.proc, None
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)
            raise RuntimeError(f"broker did not exit within 30 s of SIGTERM; log {self.log_path}")

    def restart(self) -> None:
        if self.proc is not None:
            self.stop()
        self.start()

    def close(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.stop()
                except Exception:
                    if self.proc is not None:
                        self.proc.kill()
        finally:
            self.proc = None
            self._log.close()
            if not os.environ.get("SHARD_TEST_KEEP_DATA"):
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError as e:
            return f"(no log: {e})"

    # -- internals --------------------------------------------------------------------------
    def _write_config(self) -> None:
        logs = self.data_dir / "data"
        logs.mkdir()
        if self.flavor == "shard":
            self.config_path = self.data_dir / "broker.toml"
            lines = [
                f'listeners = "127.0.0.1:{self.port}"',
                "node.id = 1",
                f"log.dir = {_toml_value(str(logs))}",
                "num.partitions = 1",
            ]
            lines += [f"{k} = {_toml_value(v)}" for k, v in self.overrides.items()]
            self.config_path.write_text("\n".join(lines) + "\n")
        else:
            self.config_path = self.data_dir / "server.properties"
            cp = self.controller_port
            lines = [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{cp}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{cp}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{cp}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={logs}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
            ]
            lines += [f"{k}={v}" for k, v in self.overrides.items() if not k.startswith("log.flush.mode")]
            self.config_path.write_text("\n".join(lines) + "\n")
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading '-' would be read as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = subprocess.run(
                self._java() + ["kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
                                "-c", str(self.config_path)],
                stdout=self._log, stderr=subprocess.STDOUT, timeout=60)
            if fmt.returncode != 0:
                raise RuntimeError(f"kafka storage format failed; log {self.log_path}:\n{self.log_tail()}")

    def _java(self) -> list[str]:
        lib = Path(os.environ.get("SHARD_KAFKA_LIB") or REPO / "benches/work/kafka-lib")
        if not lib.is_dir():
            raise RuntimeError(f"Kafka jars not found in {lib} (run benches/producer-perf.sh --kafka-only --records 1000)")
        return ["java", "-Xmx1G", "-XX:+UseG1GC", "-Duser.language=en", "-Duser.country=US",
                f"-Dkafka.logs.dir={lib.parent / 'kafka-logs'}", "-cp", f"{lib}/*"]

    def _check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise RuntimeError(f"broker exited during start-up (code {code}); log {self.log_path}:\n{self.log_tail()}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self._check_alive()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"broker did not accept connections on {self.bootstrap} within "
                                       f"{READY_TIMEOUT} s; log {self.log_path}:\n{self.log_tail()}")
                time.sleep(0.05)
        # then the Kafka protocol answers: metadata lists our broker
        from confluent_kafka.admin import AdminClient
        last = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                md = AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=5)
                if md.brokers:
                    return
            except Exception as e:  # noqa: BLE001 - report the last one
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"broker on {self.bootstrap} accepted TCP but metadata did not succeed within "
                           f"{READY_TIMEOUT} s (last error: {last}); log {self.log_path}:\n{self.log_tail()}")


def start_broker(name: str, overrides: dict | None = None) -> Broker:
    b = Broker(name, overrides)
    try:
        return b.start()
    except BaseException:
        b.close()
        raise


if __name__ == "__main__":  # manual use: python shard_broker.py  -> runs until Ctrl-C
    b = start_broker("manual")
    print(f"{b.flavor} broker at {b.bootstrap}, log {b.log_path}", file=sys.stderr)
    try:
        while b.proc and b.proc.poll() is None:
            time.sleep(1)
    finally:
        b.close()
