"""Transactions with real clients: read_committed hides aborted and open transactions,
zombie producers are fenced, and a consume-transform-produce loop killed mid-way and
restarted produces every input exactly once. Both confluent-kafka and kafka-python."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import KafkaError as KpKafkaError

from conftest import wait_for

WORKER = Path(__file__).resolve().parent / "eos_worker.py"


def create(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions)])[topic].result(10)


def read_all(bootstrap, topic, isolation, partitions=1, settle=3.0):
    """Every value a fresh consumer with `isolation` sees, reading until it has been idle
    for `settle` seconds."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{isolation}", "enable.auto.commit": False,
                  "isolation.level": isolation})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < settle:
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            out.append(msg.value())
            idle_since = time.monotonic()
    c.close()
    return out


def txn_producer(bootstrap, txn_id, **extra):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, **extra})
    p.init_transactions(30)
    return p


def test_aborted_and_open_transactions_are_hidden_from_read_committed(broker):
    create(broker.bootstrap, "tx-vis", 1)
    p = txn_producer(broker.bootstrap, "vis")
    for prefix, commit in [(b"c", True), (b"a", False), (b"d", True)]:
        p.begin_transaction()
        for i in range(10 if prefix != b"d" else 5):
            p.produce("tx-vis", value=prefix + b"%d" % i)
        p.flush(10)
        (p.commit_transaction if commit else p.abort_transaction)(30)
    committed = [b"c%d" % i for i in range(10)] + [b"d%d" % i for i in range(5)]
    assert read_all(broker.bootstrap, "tx-vis", "read_committed") == committed
    uncommitted = read_all(broker.bootstrap, "tx-vis", "read_uncommitted")
    assert uncommitted == [b"c%d" % i for i in range(10)] + [b"a%d" % i for i in range(10)] + committed[10:]

    # An open transaction stays invisible until it commits.
    p.begin_transaction()
    p.produce("tx-vis", value=b"open")
    p.flush(10)
    assert b"open" not in read_all(broker.bootstrap, "tx-vis", "read_committed", settle=1.5)
    p.commit_transaction(30)
    assert read_all(broker.bootstrap, "tx-vis", "read_committed")[-1] == b"open"


def test_a_second_producer_with_the_same_id_fences_the_zombie(broker):
    create(broker.bootstrap, "tx-zombie", 1)
    zombie = txn_producer(broker.bootstrap, "zombie-id")
    zombie.begin_transaction()
    zombie.produce("tx-zombie", value=b"from-zombie")
    zombie.flush(10)
    successor = txn_producer(broker.bootstrap, "zombie-id")  # aborts the zombie's transaction
    successor.begin_transaction()
    successor.produce("tx-zombie", value=b"from-successor")
    successor.commit_transaction(30)
    with pytest.raises(KafkaException) as fenced:
        zombie.produce("tx-zombie", value=b"late")
        zombie.commit_transaction(30)
    assert fenced.value.args[0].fatal(), fenced.value
    assert read_all(broker.bootstrap, "tx-zombie", "read_committed") == [b"from-successor"]


def test_consume_transform_produce_killed_midway_is_exactly_once(make_broker, tmp_path):
    broker = make_broker()
    total = 3000
    create(broker.bootstrap, "eos-in", 2)
    create(broker.bootstrap, "eos-out", 2)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(total):
        p.produce("eos-in", key=b"%d" % i, value=b"%05d" % i, partition=i % 2)
    p.flush(30)
    args = [sys.executable, str(WORKER), broker.bootstrap, "eos-app", "eos-in", "eos-out", "eos-group", str(total)]
    log = open(tmp_path / "worker.log", "a")

    def out_count():
        return len(read_all(broker.bootstrap, "eos-out", "read_uncommitted", partitions=2, settle=0.3))

    first = subprocess.Popen(args, stdout=log, stderr=log)
    wait_for(lambda: out_count() >= total // 3, 90, "the first worker to process a third of the input")
    first.kill()  # kill -9, most likely inside an open transaction
    first.wait(10)
    second = subprocess.Popen(args, stdout=log, stderr=log)
    assert second.wait(180) == 0, (tmp_path / "worker.log").read_text()
    out = read_all(broker.bootstrap, "eos-out", "read_committed", partitions=2)
    assert sorted(out) == [b"out-%05d" % i for i in range(total)], "each input exactly once in the output"
    # The killed worker's open transaction left records that only read_uncommitted sees.
    assert len(read_all(broker.bootstrap, "eos-out", "read_uncommitted", partitions=2)) >= total


def test_kafka_python_transactional_flow(broker):
    create(broker.bootstrap, "kp-tx-in", 1)
    create(broker.bootstrap, "kp-tx-out", 1)
    plain = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(20):
        plain.send("kp-tx-in", value=b"%02d" % i, partition=0)
    plain.flush(30)
    plain.close()

    consumer = KafkaConsumer("kp-tx-in", bootstrap_servers=broker.bootstrap, group_id="kp-tx-group",
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             isolation_level="read_committed")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-tx")
    producer.init_transactions()
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < 20 and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=1000)
        for tp, records in batches.items():
            producer.begin_transaction()
            for r in records:
                producer.send("kp-tx-out", value=b"out-" + r.value, partition=0)
                seen.append(r.value)
            offsets = {tp: __import__("kafka").OffsetAndMetadata(records[-1].offset + 1, "", -1)}
            producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
            producer.commit_transaction()
    assert len(seen) == 20
    # An aborted transaction: invisible to read_committed.
    producer.begin_transaction()
    producer.send("kp-tx-out", value=b"aborted", partition=0)
    producer.flush()
    producer.abort_transaction()
    producer.close()
    consumer.close()

    reader = KafkaConsumer(bootstrap_servers=broker.bootstrap, isolation_level="read_committed",
                           consumer_timeout_ms=3000)
    tp = KpTopicPartition("kp-tx-out", 0)
    reader.assign([tp])
    reader.seek_to_beginning(tp)
    got = [m.value for m in reader]
    reader.close()
    assert got == [b"out-%02d" % i for i in range(20)]
    check = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="kp-tx-group")
    assert check.committed(KpTopicPartition("kp-tx-in", 0)) == 20
    check.close()


def test_admin_describes_producers_and_transactions(broker):
    from kafka.admin import KafkaAdminClient

    create(broker.bootstrap, "tx-admin", 1)
    p = txn_producer(broker.bootstrap, "admin-tx", **{"transaction.timeout.ms": 45000})
    p.begin_transaction()
    p.produce("tx-admin", value=b"open")
    p.flush(10)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    described = admin.describe_transactions(["admin-tx"])["admin-tx"]
    assert str(described.state.value) == "Ongoing"
    assert described.transaction_timeout_ms == 45000
    assert {(tp.topic, tp.partition) for tp in described.topic_partitions} == {("tx-admin", 0)}
    listed = [t for ts in admin.list_transactions(state_filters=["Ongoing"]).values() for t in ts]
    assert [t.transactional_id for t in listed] == ["admin-tx"]
    producers = admin.describe_producers([KpTopicPartition("tx-admin", 0)])
    [state] = producers[KpTopicPartition("tx-admin", 0)].active_producers
    assert state.producer_id == described.producer_id
    assert state.current_transaction_start_offset == 0
    p.commit_transaction(30)
    described = admin.describe_transactions(["admin-tx"])["admin-tx"]
    assert str(described.state.value) == "CompleteCommit"
    with pytest.raises(KpKafkaError):
        admin.describe_transactions(["no-such-id"])
    admin.close()
