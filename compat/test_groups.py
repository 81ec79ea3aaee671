"""Consumer groups with real clients: confluent-kafka, kafka-python and kcat -G."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import wait_for

FAST = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"]


@pytest.fixture
def fast_broker(make_broker):
    return make_broker(FAST)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions)])[name].result(10)


def produce(bootstrap, topic, values, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions)
    assert p.flush(20) == 0


class Member:
    """A confluent-kafka group member polling in its own thread, committing each record."""

    def __init__(self, bootstrap, group, topic, **conf):
        settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
        if conf.get("group.protocol") != "consumer":
            # Classic protocol: the client chooses its session; the consumer protocol leaves it to the broker.
            settings.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
        self.consumer = Consumer({**settings, **conf})
        self.assigned = set()
        self.records = []
        self.stop = threading.Event()
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    # The client applies the (incremental, under cooperative-sticky) assignment itself
    # once these callbacks return.
    def _on_assign(self, consumer, partitions):
        self.assigned |= {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        self.assigned -= {p.partition for p in partitions}

    def _run(self):
        while not self.stop.is_set():
            msg = self.consumer.poll(0.1)
            if msg is None or msg.error():
                continue
            self.records.append(msg.value())
            self.consumer.commit(msg, asynchronous=False)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()



def covered(members, partitions):
    assigned = [m.assigned for m in members]
    return set().union(*assigned) == set(range(partitions)) and sum(len(a) for a in assigned) == partitions


def test_three_members_share_six_partitions_exactly_once(fast_broker):
    b = fast_broker.bootstrap
    create_topic(b, "shared", 6)
    members = [Member(b, "g3", "shared") for _ in range(3)]
    wait_for(lambda: covered(members, 6) and all(len(m.assigned) == 2 for m in members), 30, "3 x 2 partitions")
    values = [b"r%04d" % i for i in range(600)]
    produce(b, "shared", values, 6)
    wait_for(lambda: sum(len(m.records) for m in members) >= 600, 30, "600 records")
    consumed = [r for m in members for r in m.records]
    assert sorted(consumed) == sorted(values), "every record exactly once across members"

    # One member leaves cleanly: its partitions move to the other two.
    members[0].close()
    rest = members[1:]
    wait_for(lambda: covered(rest, 6), 30, "partitions moved after leave")
    more = [b"m%04d" % i for i in range(120)]
    produce(b, "shared", more, 6)
    wait_for(lambda: sum(len(m.records) for m in rest) >= 400 + 120, 30, "records after leave")
    assert sorted(r for m in rest for r in m.records if r.startswith(b"m")) == sorted(more)
    for m in rest:
        m.close()


def test_killed_member_loses_its_partitions_after_session_timeout(fast_broker, tmp_path):
    b = fast_broker.bootstrap
    create_topic(b, "crashy", 4)
    survivor = Member(b, "gk", "crashy")
    wait_for(lambda: len(survivor.assigned) == 4, 20, "first member owns all")
    script = tmp_path / "victim.py"
    script.write_text(
        "import sys\nfrom confluent_kafka import Consumer\n"
        f"c = Consumer({{'bootstrap.servers': '{b}', 'group.id': 'gk', 'session.timeout.ms': 3000, 'heartbeat.interval.ms': 300}})\n"
        "c.subscribe(['crashy'], on_assign=lambda c, ps: print('assigned', len(ps), flush=True))\n"
        "while True: c.poll(0.1)\n")
    victim = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert victim.stdout.readline().startswith("assigned 2")
        wait_for(lambda: len(survivor.assigned) == 2, 20, "rebalance to two members")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        started = time.monotonic()
        wait_for(lambda: len(survivor.assigned) == 4, 20, "partitions back after the session timeout")
        assert time.monotonic() - started < 15
    finally:
        if victim.poll() is None:
            victim.kill()
        survivor.close()


def test_consumers_resume_from_committed_offsets_after_kill_9(make_broker):
    broker = make_broker(FAST)
    create_topic(broker.bootstrap, "resume", 2)
    produce(broker.bootstrap, "resume", [b"a%03d" % i for i in range(100)], 2)
    m = Member(broker.bootstrap, "gr", "resume")
    wait_for(lambda: len(m.records) == 100, 20, "first 100")
    m.close()
    broker.kill()  # commits were acknowledged only once fsynced: kill -9 must not lose them
    broker.start()
    produce(broker.bootstrap, "resume", [b"b%03d" % i for i in range(50)], 2)
    m2 = Member(broker.bootstrap, "gr", "resume")
    wait_for(lambda: len(m2.records) >= 50, 20, "the 50 new records")
    time.sleep(0.5)  # would any already-committed record come back? give it the chance
    m2.close()
    assert sorted(m2.records) == sorted(b"b%03d" % i for i in range(50))


def test_cooperative_sticky_incremental_rebalance(fast_broker):
    b = fast_broker.bootstrap
    create_topic(b, "coop", 4)
    first = Member(b, "gc", "coop", **{"partition.assignment.strategy": "cooperative-sticky"})
    wait_for(lambda: len(first.assigned) == 4, 20, "first owns all")
    second = Member(b, "gc", "coop", **{"partition.assignment.strategy": "cooperative-sticky"})
    wait_for(lambda: covered([first, second], 4) and len(second.assigned) == 2, 30, "incremental handover")
    produce(b, "coop", [b"c%02d" % i for i in range(40)], 4)
    wait_for(lambda: len(first.records) + len(second.records) == 40, 20, "40 records")
    first.close()
    second.close()


def test_static_member_rejoins_without_rebalance(fast_broker):
    b = fast_broker.bootstrap
    create_topic(b, "static", 2)
    conf = {"group.instance.id": "instance-a", "session.timeout.ms": 10000}
    other = Member(b, "gs", "static", **{"group.instance.id": "instance-b"})
    a = Member(b, "gs", "static", **conf)
    wait_for(lambda: covered([a, other], 2) and len(a.assigned) == 1, 30, "one partition each")
    admin = AdminClient({"bootstrap.servers": b})
    before = admin.describe_consumer_groups(["gs"])["gs"].result(10)
    # A static member's close leaves no LeaveGroup: its place waits for the same instance.
    a.stop.set()
    a.thread.join(10)
    a.consumer.close()
    a2 = Member(b, "gs", "static", **conf)
    wait_for(lambda: len(a2.assigned) == 1, 20, "restarted static member gets its partition back")
    after = admin.describe_consumer_groups(["gs"])["gs"].result(10)
    assert after.state == ConsumerGroupState.STABLE
    assert sorted(m.group_instance_id for m in after.members) == ["instance-a", "instance-b"]
    assert other.assigned == {1 - next(iter(a2.assigned))}
    assert len(before.members) == 2
    other.close()
    a2.close()


def test_admin_list_describe_offsets_and_delete_groups(fast_broker):
    b = fast_broker.bootstrap
    create_topic(b, "adm-g", 3)
    produce(b, "adm-g", [b"x"] * 30, 3)
    m = Member(b, "ga", "adm-g")
    wait_for(lambda: len(m.records) == 30, 20, "30 records")
    admin = AdminClient({"bootstrap.servers": b})
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(10).valid}
    assert listed["ga"].state == ConsumerGroupState.STABLE
    described = admin.describe_consumer_groups(["ga"])["ga"].result(10)
    assert described.partition_assignor == "range" or described.partition_assignor
    assert len(described.members) == 1
    assert sorted(tp.partition for tp in described.members[0].assignment.topic_partitions) == [0, 1, 2]

    from confluent_kafka import ConsumerGroupTopicPartitions
    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("ga")])["ga"].result(10)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == {0: 10, 1: 10, 2: 10}

    with pytest.raises(KafkaException):
        admin.delete_consumer_groups(["ga"])["ga"].result(10)  # still has a member
    m.close()
    wait_for(lambda: admin.describe_consumer_groups(["ga"])["ga"].result(10).state == ConsumerGroupState.EMPTY, 10, "empty")
    altered = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("ga", [TopicPartition("adm-g", 0, 3)])])["ga"].result(10)
    assert altered.topic_partitions[0].error is None
    offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("ga")])["ga"].result(10)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions}[0] == 3
    admin.delete_consumer_groups(["ga"])["ga"].result(10)
    assert "ga" not in {g.group_id for g in admin.list_consumer_groups().result(10).valid}


def test_kafka_python_group_consumer(fast_broker):
    from kafka import KafkaConsumer
    b = fast_broker.bootstrap
    create_topic(b, "kp-group", 3)
    produce(b, "kp-group", [b"k%02d" % i for i in range(30)], 3)
    c = KafkaConsumer("kp-group", bootstrap_servers=b, group_id="kpg", auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10000)
    got = []
    for msg in c:
        got.append(msg.value)
        if len(got) == 30:
            break
    c.commit()
    committed = {p: c.committed(__import__("kafka").TopicPartition("kp-group", p)) for p in range(3)}
    c.close()
    assert sorted(got) == sorted(b"k%02d" % i for i in range(30))
    assert committed == {0: 10, 1: 10, 2: 10}


def test_kcat_balanced_consumer(fast_broker):
    kcat = shutil.which("kcat")
    b = fast_broker.bootstrap
    create_topic(b, "kcat-g", 2)
    produce(b, "kcat-g", [b"g%02d" % i for i in range(20)], 2)
    out = subprocess.run([kcat, "-b", b, "-G", "kcatgroup", "-o", "beginning", "-e", "-f", "%s\n", "kcat-g"],
                         capture_output=True, text=True, timeout=60)
    assert sorted(out.stdout.split()) == sorted("g%02d" % i for i in range(20)), out.stderr


def test_consumer_protocol_kip848_server_side_assignment(make_broker):
    broker = make_broker(FAST + ["group.consumer.heartbeat.interval.ms=300"])
    b = broker.bootstrap
    create_topic(b, "k848", 4)
    produce(b, "k848", [b"n%03d" % i for i in range(80)], 4)
    conf = {"group.protocol": "consumer"}
    first = Member(b, "g848", "k848", **conf)
    wait_for(lambda: len(first.assigned) == 4, 20, "first member owns all four")
    wait_for(lambda: len(first.records) == 80, 20, "80 records")
    second = Member(b, "g848", "k848", **conf)
    wait_for(lambda: covered([first, second], 4) and len(second.assigned) == 2, 20, "server-side split 2/2")
    produce(b, "k848", [b"m%03d" % i for i in range(40)], 4)
    wait_for(lambda: len(first.records) + len(second.records) == 120, 20, "all 120 records")
    consumed = first.records + second.records
    assert sorted(consumed) == sorted([b"n%03d" % i for i in range(80)] + [b"m%03d" % i for i in range(40)])

    admin = AdminClient({"bootstrap.servers": b})
    described = admin.describe_consumer_groups(["g848"])["g848"].result(10)
    assert described.state == ConsumerGroupState.STABLE
    assert described.type.name == "CONSUMER"
    assert sorted(len(m.assignment.topic_partitions) for m in described.members) == [2, 2]
    listed = {g.group_id: g for g in admin.list_consumer_groups().result(10).valid}
    assert listed["g848"].type.name == "CONSUMER"

    second.close()
    wait_for(lambda: len(first.assigned) == 4, 20, "partitions return after a member leaves")
    first.close()
