"""Fault tests: a full disk. Produce gets KAFKA_STORAGE_ERROR, reads keep working,
nothing already written is damaged, and produce works again once space returns."""
import os
import random
import threading
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


class Writer:
    """Produces acks=all records to one topic in a thread; remembers what was acknowledged."""

    def __init__(self, bootstrap, topic, cycle, key_space=None):
        self.acked = []
        self.cycle = cycle
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(bootstrap, topic, key_space), daemon=True)
        self.thread.start()

    def _run(self, bootstrap, topic, key_space):
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "enable.idempotence": False,
                      "linger.ms": 2, "message.timeout.ms": 3000})
        i = 0
        while not self.stop.is_set():
            key = b"k%d" % (i % key_space) if key_space else None
            value = b"%02d-%08d" % (self.cycle, i) + b"-" * 200
            try:
                p.produce(topic, key=key, value=value, partition=0,
                          on_delivery=lambda err, msg: None if err else self.acked.append((msg.key(), msg.value())))
                i += 1
            except BufferError:
                pass
            p.poll(0.001)
        p.flush(5)

    def finish(self):
        self.stop.set()
        self.thread.join(20)


def read_partition(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "faults", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.assign([TopicPartition(topic, 0, low)])
    rows = []
    deadline = time.monotonic() + 30
    while (not rows or rows[-1][0] < high - 1) and high > low and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            rows.append((msg.offset(), msg.key(), msg.value()))
    c.close()
    return low, high, rows


def test_kill_9_at_random_moments_during_produce_compaction_and_retention(make_broker):
    rng = random.Random(848)
    broker = make_broker(["log.retention.check.interval.ms=50"])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = [
        NewTopic("k9-plain", 1, config={"segment.bytes": "8192"}),
        NewTopic("k9-compact", 1, config={"segment.bytes": "4096", "cleanup.policy": "compact"}),
        NewTopic("k9-retained", 1, config={"segment.bytes": "4096", "retention.bytes": "16384"}),
    ]
    for f in admin.create_topics(topics).values():
        f.result(10)
    plain_acked, compact_acked = [], []
    for cycle in range(3):
        writers = {"plain": Writer(broker.bootstrap, "k9-plain", cycle),
                   "compact": Writer(broker.bootstrap, "k9-compact", cycle, key_space=25),
                   "retained": Writer(broker.bootstrap, "k9-retained", cycle)}
        time.sleep(rng.uniform(0.3, 1.5))  # the fault's moment, chosen at random
        broker.kill()
        for w in writers.values():
            w.stop.set()
        for w in writers.values():
            w.finish()
        plain_acked += [v for _, v in writers["plain"].acked]
        compact_acked += writers["compact"].acked
        broker.start()

        low, high, rows = read_partition(broker.bootstrap, "k9-plain")
        values = [v for _, _, v in rows]
        assert [o for o, _, _ in rows] == list(range(low, high)), f"cycle {cycle}: offsets not contiguous"
        assert len(values) == len(set(values)), f"cycle {cycle}: a record appears twice"
        assert set(plain_acked) <= set(values), f"cycle {cycle}: an acknowledged record is missing"
        assert values == sorted(values), f"cycle {cycle}: order broken"

        low, high, rows = read_partition(broker.bootstrap, "k9-compact")
        last = {}
        for _, k, v in rows:
            assert v >= last.get(k, b""), f"cycle {cycle}: key {k} goes back in time"
            last[k] = v
        acked_last = {}
        for k, v in compact_acked:
            acked_last[k] = max(v, acked_last.get(k, b""))
        assert all(last.get(k, b"") >= v for k, v in acked_last.items()), f"cycle {cycle}: compaction lost a key's latest value"

        low, high, rows = read_partition(broker.bootstrap, "k9-retained")
        offsets = [o for o, _, _ in rows]
        assert offsets == sorted(set(offsets)), f"cycle {cycle}: retained log out of order"
        # Retention may advance the start while we read (a consumer then resets forward):
        # everything from the start as it stands after the read must have been read.
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "faults"})
        final_low, final_high = c.get_watermark_offsets(TopicPartition("k9-retained", 0), timeout=10)
        c.close()
        assert final_high == high and set(range(final_low, high)) <= set(offsets), f"cycle {cycle}: retained log has a hole"

