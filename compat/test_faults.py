"""Fault tests: a full disk. Produce gets KAFKA_STORAGE_ERROR, reads keep working,
nothing already written is damaged, and produce works again once space returns."""
import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def produce_until_full(bootstrap, topic, start):
    """Sends 1 KiB records one at a time until the broker refuses one; returns the acked values."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "linger.ms": 0,
                  "enable.idempotence": False, "message.timeout.ms": 5000})
    acked, errors = [], []
    for i in range(start, start + 20000):
        value = b"%08d" % i + b"." * 1016
        p.produce(topic, value=value, partition=0,
                  on_delivery=lambda err, msg: (errors if err else acked).append(err or msg.value()))
        p.flush(10)
        if errors:
            break
    return acked, errors


def read_all(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "faults", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out = []
    while True:
        msg = c.poll(1.0)
        if msg is None:
            break
        if not msg.error():
            out.append((msg.offset(), msg.value()))
    c.close()
    return out


def test_full_disk_refuses_produce_keeps_data_and_recovers(small_disk):
    filler = small_disk / "filler.bin"
    filler.write_bytes(b"\0" * (3 * 1024 * 1024))
    broker = Broker(small_disk / "data").start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("full", 1)])["full"].result(10)
        acked, errors = produce_until_full(broker.bootstrap, "full", 0)
        assert errors and errors[0].code() == KafkaError.KAFKA_STORAGE_ERROR, errors[:1]
        assert len(acked) > 100
        rows = read_all(broker.bootstrap, "full")
        assert [v for _, v in rows][: len(acked)] == acked, "reads work and acknowledged data is intact"
        assert [o for o, _ in rows] == list(range(len(rows)))

        filler.unlink()  # space returns
        more, errors = produce_until_full(broker.bootstrap, "full", 100000)
        assert len(more) > 100, "produce works again once there is space"
        rows = read_all(broker.bootstrap, "full")
        values = [v for _, v in rows]
        assert all(v in values for v in acked + more)
        assert [o for o, _ in rows] == list(range(len(rows))), "no hole or damage in the log"
    finally:
        broker.stop()
    # And the log recovers cleanly from disk, with the disk still full (its own log
    # output cannot be written either: the broker serves regardless).
    again = Broker(small_disk / "data").start()
    try:
        assert len(read_all(again.bootstrap, "full")) == len(rows)
    finally:
        again.stop()
