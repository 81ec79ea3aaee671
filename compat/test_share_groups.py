"""Share groups (KIP-932): queues on the log, through confluent-kafka's ShareConsumer.

Consumers of one share group read the same partitions together; each record is acquired by
one of them for the lock duration and is done with once accepted, or archived once rejected
or delivered `share.delivery.count.limit` times. The group that watches a lock run out has
its `share.record.lock.duration.ms` shortened to 2 s, so the expiry is quick to observe.
"""
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from confluent_kafka import AcknowledgeType, Consumer, Producer, ShareConsumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from client_processes import create_topic
from conftest import Broker, WireClient

LOCK_MS = 2000
SETTINGS = (f"group.share.min.record.lock.duration.ms={LOCK_MS // 2}", "group.share.delivery.count.limit=3")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("data"), settings=SETTINGS).start()
    yield b
    b.stop()


def from_earliest(broker, group, **configs):
    """share.auto.offset.reset=earliest: the group reads what was written before it joined;
    `configs` are more of the group's settings (dots as underscores)."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    entries = {"share.auto.offset.reset": "earliest", **{k.replace("_", "."): str(v) for k, v in configs.items()}}
    res = ConfigResource(ConfigResource.Type.GROUP, group, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in entries.items()])
    admin.incremental_alter_configs([res])[res].result(10)


def produce(broker, topic, values):
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for v in values:
        p.produce(topic, key=b"k", value=v)
    assert p.flush(10) == 0


def share_consumer(broker, group, topic, explicit=False):
    config = {"bootstrap.servers": broker.bootstrap, "group.id": group}
    if explicit:
        config["share.acknowledgement.mode"] = "explicit"
    c = ShareConsumer(config)
    c.subscribe([topic])
    return c


def poll_until(consumer, predicate, timeout=20, on_message=None):
    """Polls until `predicate(records)` holds; returns the records seen."""
    records, deadline = [], time.monotonic() + timeout
    while not predicate(records):
        assert time.monotonic() < deadline, f"timed out with {len(records)} records"
        for m in consumer.poll(0.5):
            assert m.error() is None, m.error()
            records.append(m)
            if on_message:
                on_message(m)
    return records


def values(records):
    return [m.value() for m in records]


def test_three_consumers_on_one_partition_together_see_every_record_once(broker):
    create_topic(broker.bootstrap, "sq-three", 1)
    from_earliest(broker, "sg-three")
    expected = [b"v%03d" % i for i in range(300)]
    seen, lock = {}, threading.Lock()

    def run(name):
        c = share_consumer(broker, "sg-three", "sq-three")
        mine = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if sum(len(v) for v in seen.values()) + len(mine) >= len(expected):
                    break
            mine += values(m for m in c.poll(0.3) if m.error() is None)
        c.commit_sync()  # implicit mode: accepts the last poll's records (close alone releases them)
        c.close()
        with lock:
            seen[name] = mine

    threads = [threading.Thread(target=run, args=(f"c{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(1)  # all three have joined and wait in their fetches
    # Written while they read, batch by batch: each batch goes to whichever member asks first.
    for i in range(0, len(expected), 10):
        produce(broker, "sq-three", expected[i:i + 10])
        time.sleep(0.02)
    for t in threads:
        t.join()
    everything = [v for vs in seen.values() for v in vs]
    assert sorted(everything) == expected, "every record exactly once across the group"
    assert all(seen[name] for name in seen), {n: len(v) for n, v in seen.items()}


def test_release_redelivers_with_a_higher_count_and_reject_archives(broker):
    create_topic(broker.bootstrap, "sq-ack", 1)
    from_earliest(broker, "sg-ack")
    produce(broker, "sq-ack", [b"keep", b"again", b"poison"])
    c = share_consumer(broker, "sg-ack", "sq-ack", explicit=True)
    outcomes = []
    c.set_acknowledgement_commit_callback(lambda offsets, error: outcomes.append((offsets, error)))
    first = poll_until(c, lambda r: len(r) >= 3)
    assert [(m.value(), m.delivery_count()) for m in first] == [(b"keep", 1), (b"again", 1), (b"poison", 1)]
    c.acknowledge(first[0], AcknowledgeType.ACCEPT)
    c.acknowledge(first[1], AcknowledgeType.RELEASE)
    c.acknowledge(first[2], AcknowledgeType.REJECT)
    c.commit_sync()
    again = poll_until(c, lambda r: len(r) >= 1)
    assert [(m.value(), m.delivery_count()) for m in again] == [(b"again", 2)]
    c.acknowledge(again[0], AcknowledgeType.ACCEPT)
    c.commit_sync()
    assert list(c.poll(2)) == [], "accepted and rejected records never come back"
    c.close()
    assert outcomes and all(error is None for _, error in outcomes), outcomes


def test_the_delivery_limit_archives_a_poison_record(broker):
    create_topic(broker.bootstrap, "sq-poison", 1)
    from_earliest(broker, "sg-poison")
    produce(broker, "sq-poison", [b"poison", b"fine"])
    c = share_consumer(broker, "sg-poison", "sq-poison", explicit=True)
    counts = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for m in c.poll(0.5):
            if m.value() == b"poison":
                counts.append(m.delivery_count())
                c.acknowledge(m, AcknowledgeType.RELEASE)
            else:
                c.acknowledge(m, AcknowledgeType.ACCEPT)
        c.commit_sync()
        if len(counts) == 3:
            break
    assert counts == [1, 2, 3], "delivered up to group.share.delivery.count.limit=3 times"
    assert list(c.poll(1.5)) == [], "then archived"
    c.close()


KILLED_MEMBER = textwrap.dedent("""
    import sys, time
    from confluent_kafka import ShareConsumer
    c = ShareConsumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
                       "share.acknowledgement.mode": "explicit"})
    c.subscribe([sys.argv[3]])
    while True:
        got = [m for m in c.poll(0.5) if m.error() is None]
        if got:
            print(len(got), flush=True)
            time.sleep(3600)
""")


def test_records_of_a_killed_consumer_return_after_the_lock_duration(broker):
    create_topic(broker.bootstrap, "sq-killed", 1)
    from_earliest(broker, "sg-killed", share_record_lock_duration_ms=LOCK_MS)
    produce(broker, "sq-killed", [b"r%d" % i for i in range(10)])
    member = subprocess.Popen([sys.executable, "-c", KILLED_MEMBER, broker.bootstrap, "sg-killed", "sq-killed"],
                              stdout=subprocess.PIPE, text=True)
    held = int(member.stdout.readline())
    assert held == 10
    member.kill()
    member.wait()
    killed_at = time.monotonic()
    c = share_consumer(broker, "sg-killed", "sq-killed")
    back = poll_until(c, lambda r: len(r) >= 10)
    c.commit_sync()
    c.close()
    assert time.monotonic() - killed_at >= LOCK_MS / 1000 * 0.5, "not before the lock ran out"
    assert sorted(values(back)) == sorted(b"r%d" % i for i in range(10))
    assert {m.delivery_count() for m in back} == {2}


def test_a_share_group_and_a_consumer_group_read_the_same_topic_independently(broker):
    create_topic(broker.bootstrap, "sq-both", 1)
    from_earliest(broker, "sg-both")
    produce(broker, "sq-both", [b"a", b"b", b"c"])
    share = share_consumer(broker, "sg-both", "sq-both")
    shared = values(poll_until(share, lambda r: len(r) >= 3))
    share.commit_sync()
    share.close()
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "cg-both",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["sq-both"])
    streamed, deadline = [], time.monotonic() + 20
    while len(streamed) < 3 and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and m.error() is None:
            streamed.append(m.value())
    consumer.close()
    assert shared == streamed == [b"a", b"b", b"c"]
    # confluent-kafka's listing knows no share type: ListGroups v5 through kafka-python's codec.
    from kafka.protocol.admin.groups import ListGroupsRequest
    client = WireClient(broker.bootstrap)
    response = client.send(ListGroupsRequest(min_version=5, max_version=5, states_filter=[], types_filter=[]))
    client.close()
    listed = {g.group_id: (g.protocol_type, g.group_type) for g in response.groups}
    assert listed["sg-both"] == ("share", "share")
    assert listed["cg-both"] == ("consumer", "classic")


def test_accepted_records_are_not_redelivered_after_kill_9(tmp_path):
    """Acknowledgements are durable before they are answered; acquisitions are not, so what
    was held but not accepted comes back after the restart, with its delivery count."""
    b = Broker(tmp_path / "data", settings=SETTINGS).start()
    try:
        create_topic(b.bootstrap, "sq-crash", 1)
        from_earliest(b, "sg-crash")
        produce(b, "sq-crash", [b"r%d" % i for i in range(6)])
        c = share_consumer(b, "sg-crash", "sq-crash", explicit=True)
        got = poll_until(c, lambda r: len(r) >= 6)
        for m in got[:4]:
            c.acknowledge(m, AcknowledgeType.ACCEPT)
        c.commit_sync()
        b.kill()
        b.restart()
        c2 = share_consumer(b, "sg-crash", "sq-crash")
        back = poll_until(c2, lambda r: len(r) >= 2)
        assert values(back) == [b"r4", b"r5"]
        assert list(c2.poll(2)) == []
        c2.close()
    finally:
        b.stop()
