"""Starts the real `tidelog` binary for the compatibility suite.

Each test gets a fresh data directory and port. `broker.restart()` stops cleanly
(SIGTERM) and starts again on the same directory; `broker.kill()` is `kill -9`.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("TIDELOG_BIN", ROOT / "target" / "debug" / "tidelog"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, data_dir, settings=(), args=()):
        self.data_dir = data_dir
        self.settings = list(settings)
        self.extra_args = list(args)
        self.port = free_port()
        self.kinesis_port = free_port()
        self.admin_port = free_port()
        self.registry_port = free_port()
        self.proc = None
        self.log_path = data_dir.parent / f"tidelog-{self.port}.log"

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def registry_url(self):
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def kinesis_url(self):
        return f"http://127.0.0.1:{self.kinesis_port}"

    def start(self):
        args = [str(BIN), "serve", "--data-dir", str(self.data_dir), "--kafka-addr", self.bootstrap,
                "--kinesis-addr", f"127.0.0.1:{self.kinesis_port}", "--admin-addr", f"127.0.0.1:{self.admin_port}",
                "--registry-addr", f"127.0.0.1:{self.registry_port}"]
        for s in self.settings:
            args += ["--set", s]
        args += self.extra_args
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("tidelog ready: kafka="), f"unexpected first line {line!r}; see {self.log_path}"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=30) == 0, f"unclean exit; see {self.log_path}"
        self.proc = None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self):
        return self.log_path.read_text()


class WireClient:
    """kafka-python's own connection and codec to the broker's one node: for requests a
    client library's API does not send, or pinned to one version (min_version =
    max_version on the request)."""

    def __init__(self, bootstrap):
        from kafka.net.compat import KafkaNetClient

        self.client = KafkaNetClient(bootstrap_servers=bootstrap)
        self.broker_version = self.client.check_version()
        self.node = next(iter(self.client.cluster.brokers())).node_id

    def send(self, request, timeout_ms=10000):
        return self.client.send_and_receive(self.node, request, timeout_ms=timeout_ms)

    def close(self):
        self.client.close()


@pytest.fixture
def make_broker(tmp_path):
    brokers = []

    def make(settings=(), args=()):
        b = Broker(tmp_path / f"data-{len(brokers)}", settings, args).start()
        brokers.append(b)
        return b

    yield make
    for b in brokers:
        if b.proc and b.proc.poll() is None:
            b.stop()


@pytest.fixture
def broker(make_broker):
    return make_broker()


def wait_for(predicate, timeout, what):
    """Polls a condition the clients offer no notification for (rebalances, background
    retention and compaction), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)
