"""Group coordinator behaviour as Apache Kafka 4.x has it, through real clients:
offset commits during a rebalance and from outside the group, KIP-848 regex
subscriptions and static membership, and moving a group between the protocols."""
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka import ConsumerGroupTopicPartitions

from conftest import Broker, WireClient, wait_for

SETTINGS = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000",
            "group.consumer.heartbeat.interval.ms=300"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("kafka4-groups") / "data", SETTINGS).start()
    yield b
    b.stop()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions)])[name].result(10)


def produce(bootstrap, topic, values, partitions):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions)
    assert p.flush(20) == 0


def committed(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], 10)}
    finally:
        c.close()


class Member:
    """A confluent-kafka member polling in its own thread; records errors it is told."""

    def __init__(self, bootstrap, group, topics, commit=True, **conf):
        settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                    "enable.auto.commit": False}
        if conf.get("group.protocol") != "consumer":
            settings.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
        self.consumer = Consumer({**settings, **conf})
        self.commit = commit
        self.assigned = set()
        self.records = []
        self.errors = []
        self.stop = threading.Event()
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions):
        self.assigned |= {(p.topic, p.partition) for p in partitions}

    def _on_revoke(self, consumer, partitions):
        self.assigned -= {(p.topic, p.partition) for p in partitions}

    def _run(self):
        while not self.stop.is_set():
            try:
                msg = self.consumer.poll(0.1)
            except KafkaException as e:
                self.errors.append((e.args[0].code(), e.args[0].str()))
                continue
            if msg is None:
                continue
            if msg.error():
                self.errors.append((msg.error().code(), msg.error().str()))
                continue
            self.records.append(msg.value())
            if self.commit:
                self.consumer.commit(msg, asynchronous=False)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()


# --- 1. Commits during PreparingRebalance (kafka-python, commit in on_partitions_revoked) ---

def test_kafka_python_commits_in_its_revocation_callback(broker):
    from kafka import KafkaConsumer
    from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
    from kafka.structs import OffsetAndMetadata

    b = broker.bootstrap
    topic, group = unique("revoke"), unique("g-revoke")
    create_topic(b, topic, 2)
    produce(b, topic, [b"r%02d" % i for i in range(20)], 2)

    outcomes = []

    # kafka-python 3 runs rebalance callbacks on its IO loop: the async listener awaits
    # its commit there, before the member rejoins (the group is PreparingRebalance).
    class CommitOnRevoke(AsyncConsumerRebalanceListener):
        def __init__(self, consumer):
            self.consumer = consumer

        async def on_partitions_revoked(self, revoked):
            positions = {tp: OffsetAndMetadata(self.consumer.position(tp), "", -1) for tp in revoked}
            if not positions:
                return
            try:
                await self.consumer.commit_async(positions)
                outcomes.append(("ok", {tp.partition: o.offset for tp, o in positions.items()}))
            except Exception as e:  # the client reports REBALANCE_IN_PROGRESS this way
                outcomes.append(("failed", repr(e)))

        async def on_partitions_assigned(self, assigned):
            pass

    def consumer():
        return KafkaConsumer(bootstrap_servers=b, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=300)

    class Polling:
        """One consumer polled by its own thread, as an application does."""

        def __init__(self, consumer):
            self.consumer, self.values, self.stop = consumer, [], threading.Event()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

        def _run(self):
            while not self.stop.is_set():
                self.values += [r.value for batch in self.consumer.poll(500).values() for r in batch]

        def close(self):
            self.stop.set()
            self.thread.join(10)
            self.consumer.close()

    c1 = consumer()
    c1.subscribe([topic], listener=CommitOnRevoke(c1))
    first = Polling(c1)
    wait_for(lambda: len(first.values) == 20, 20, "the first member read everything")
    assert sorted(first.values) == sorted(b"r%02d" % i for i in range(20))

    # A second member joins: the group prepares a rebalance; the first learns of it
    # through its heartbeat and commits in on_partitions_revoked before rejoining.
    c2 = consumer()
    c2.subscribe([topic])
    second = Polling(c2)
    wait_for(lambda: outcomes, 30, "the revocation callback ran")
    assert outcomes[0][0] == "ok", outcomes
    assert outcomes[0][1] == {0: 10, 1: 10}
    assert committed(b, group, topic, 2) == {0: 10, 1: 10}
    # Nothing is read twice: whoever owns a partition now starts at the commit.
    wait_for(lambda: c1.assignment() and c2.assignment(), 30, "both members own a partition")
    produce(b, topic, [b"s%02d" % i for i in range(4)], 2)
    wait_for(lambda: len(first.values) + len(second.values) == 24, 30, "the four new records")
    assert sorted(first.values[20:] + second.values) == [b"s00", b"s01", b"s02", b"s03"]
    first.close()
    second.close()


# --- 2. AlterConsumerGroupOffsets on a group with a live member ---

def test_admin_offset_change_on_a_live_group_is_unknown_member(broker):
    b = broker.bootstrap
    topic, group = unique("alter"), unique("g-alter")
    create_topic(b, topic, 1)
    produce(b, topic, [b"a"], 1)
    member = Member(b, group, [topic])
    wait_for(lambda: len(member.records) == 1, 20, "the member consumed")
    admin = AdminClient({"bootstrap.servers": b})
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0)])
    with pytest.raises(KafkaException) as refused:
        result = admin.alter_consumer_group_offsets([request])[group].result(10)
        # Some client versions report the refusal per partition rather than raising.
        errors = [tp.error for tp in result.topic_partitions if tp.error is not None]
        raise KafkaException(errors[0]) if errors else AssertionError("the change was accepted")
    assert refused.value.args[0].code() == KafkaError.UNKNOWN_MEMBER_ID, refused.value
    member.close()
    # Once the group is empty, the same change is accepted.
    result = admin.alter_consumer_group_offsets([request])[group].result(10)
    assert [tp.error for tp in result.topic_partitions] == [None]
    assert committed(b, group, topic, 1) == {0: 0}


# --- 3. A consumer-protocol consumer that assign()s and commits ---

@pytest.mark.parametrize("protocol", ["consumer", "classic"])
def test_an_assigning_consumer_commits_without_joining(broker, protocol):
    b = broker.bootstrap
    topic, group = unique("assign"), unique("g-assign")
    create_topic(b, topic, 1)
    produce(b, topic, [b"x%d" % i for i in range(5)], 1)
    c = Consumer({"bootstrap.servers": b, "group.id": group, "group.protocol": protocol,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 5 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
    assert len(got) == 5
    result = c.commit(got[-1], asynchronous=False)
    assert [(tp.partition, tp.offset, tp.error) for tp in result] == [(0, 5, None)]
    c.close()
    assert committed(b, group, topic, 1) == {0: 5}


# --- 5. KIP-848 regex subscriptions ---

def test_a_regex_subscription_follows_topics_as_they_are_created(broker):
    b = broker.bootstrap
    prefix = unique("rx")
    group = unique("g-rx")
    create_topic(b, f"{prefix}-a", 2)
    create_topic(b, unique("unrelated"), 1)
    produce(b, f"{prefix}-a", [b"a%d" % i for i in range(6)], 2)
    member = Member(b, group, [f"^{prefix}-.*"], **{"group.protocol": "consumer"})
    wait_for(lambda: len(member.records) == 6, 30, "records of the matching topic")
    assert member.assigned == {(f"{prefix}-a", 0), (f"{prefix}-a", 1)}
    create_topic(b, f"{prefix}-b", 1)
    produce(b, f"{prefix}-b", [b"b0", b"b1"], 1)
    wait_for(lambda: len(member.records) == 8, 30, "records of the topic created later")
    assert sorted(member.records) == sorted([b"a%d" % i for i in range(6)] + [b"b0", b"b1"])
    assert (f"{prefix}-b", 0) in member.assigned
    admin = AdminClient({"bootstrap.servers": b})
    described = admin.describe_consumer_groups([group])[group].result(10)
    topics = {tp.topic for m in described.members for tp in m.assignment.topic_partitions}
    assert topics == {f"{prefix}-a", f"{prefix}-b"}
    assert member.errors == []
    member.close()


# --- 6. KIP-848 static membership ---

def test_a_live_instance_id_is_refused_and_a_released_one_is_taken_over(broker):
    b = broker.bootstrap
    topic, group = unique("static"), unique("g-static")
    create_topic(b, topic, 2)
    conf = {"group.protocol": "consumer", "group.instance.id": "instance-1"}
    first = Member(b, group, [topic], **conf)
    wait_for(lambda: len(first.assigned) == 2, 20, "the first member owns both partitions")
    intruder = Member(b, group, [topic], **conf)
    # librdkafka treats UNRELEASED_INSTANCE_ID as fatal and reports it with its text.
    unreleased = "The instance ID is still used by another member"
    wait_for(lambda: any(code == KafkaError._FATAL and unreleased in text for code, text in intruder.errors), 20,
             "UNRELEASED_INSTANCE_ID")
    assert intruder.assigned == set()
    assert len(first.assigned) == 2, "the live member keeps its partitions"
    intruder.stop.set()
    intruder.thread.join(10)
    # A static member's close leaves with epoch -2: its place (and partitions) wait for it.
    first.close()
    admin = AdminClient({"bootstrap.servers": b})
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert [len(m.assignment.topic_partitions) for m in described.members] == [2]
    replacement = Member(b, group, [topic], **conf)
    wait_for(lambda: len(replacement.assigned) == 2, 20, "the restarted instance takes over at once")
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert len(described.members) == 1
    replacement.close()


# --- 4. Moving a group between the protocols ---

@pytest.mark.parametrize("before,after", [("classic", "consumer"), ("consumer", "classic")])
def test_an_empty_group_changes_protocol_and_keeps_its_offsets(broker, before, after):
    b = broker.bootstrap
    topic, group = unique("migrate"), unique("g-migrate")
    create_topic(b, topic, 2)
    produce(b, topic, [b"m%d" % i for i in range(6)], 2)
    old = Member(b, group, [topic], **{"group.protocol": before})
    wait_for(lambda: len(old.records) == 6, 30, f"the {before} member consumed")
    old.close()
    produce(b, topic, [b"n%d" % i for i in range(4)], 2)
    new = Member(b, group, [topic], **{"group.protocol": after})
    # It starts at the committed offsets: the first four records it reads are the new
    # ones (a record read twice would come first).
    wait_for(lambda: len(new.records) >= 4, 30, f"the {after} member resumed")
    assert sorted(new.records[:4]) == [b"n0", b"n1", b"n2", b"n3"]
    admin = AdminClient({"bootstrap.servers": b})
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.type.name == after.upper()
    assert new.errors == []
    new.close()


def covered(members, topic, partitions):
    assigned = [{p for t, p in m.assigned if t == topic} for m in members]
    return set().union(*assigned) == set(range(partitions)) and sum(len(a) for a in assigned) == partitions


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_a_live_classic_group_is_upgraded_and_downgraded(broker, strategy):
    b = broker.bootstrap
    topic, group = unique("upgrade"), unique("g-upgrade")
    create_topic(b, topic, 4)
    first_batch = [b"u%02d" % i for i in range(40)]
    produce(b, topic, first_batch, 4)
    classic = Member(b, group, [topic], **{"partition.assignment.strategy": strategy})
    wait_for(lambda: len(classic.records) == 40, 30, "the classic member consumed")
    # A consumer-protocol member joins the live classic group: the group becomes a
    # consumer group that serves the classic member too, and the two share the topic.
    modern = Member(b, group, [topic], **{"group.protocol": "consumer"})
    wait_for(lambda: covered([classic, modern], topic, 4) and len(modern.assigned) == 2, 30,
             "server-side split between a classic and a consumer-protocol member")
    admin = AdminClient({"bootstrap.servers": b})
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.type.name == "CONSUMER"
    assert len(described.members) == 2
    second_batch = [b"v%02d" % i for i in range(40)]
    produce(b, topic, second_batch, 4)
    wait_for(lambda: len(classic.records) + len(modern.records) == 80, 30, "all 80 records")
    assert sorted(classic.records + modern.records) == sorted(first_batch + second_batch), "none read twice"
    # The consumer-protocol member leaves: the group goes back to the classic protocol
    # and its remaining member takes every partition again.
    modern.close()
    wait_for(lambda: len(classic.assigned) == 4, 30, "the classic member owns all four again")
    produce(b, topic, [b"w%d" % i for i in range(8)], 4)
    wait_for(lambda: len(classic.records) == 80 - len(modern.records) + 8, 30, "records after the downgrade")
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.type.name == "CLASSIC"
    assert [e for e in classic.errors if e[0] != KafkaError._PARTITION_EOF] == []
    classic.close()


# --- DescribeGroups v6 (KIP-1043) and the group's authorized operations (KIP-430) ---

def test_describe_groups_tells_v6_clients_what_is_not_a_classic_group(broker):
    """Up to v5 a consumer-protocol group and an absent one are both `Dead` with no error;
    v6 answers GROUP_ID_NOT_FOUND with Kafka's messages. Asked for, a classic group's
    authorized operations are all a group has (READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS,
    ALTER_CONFIGS) while no authorizer is configured."""
    from kafka.protocol.admin.groups import DescribeGroupsRequest

    topic, classic, modern = unique("dg"), unique("classic"), unique("modern")
    create_topic(broker.bootstrap, topic, 2)
    members = [Member(broker.bootstrap, classic, [topic]),
               Member(broker.bootstrap, modern, [topic], **{"group.protocol": "consumer"})]
    try:
        wait_for(lambda: all(m.assigned for m in members), 20, "both groups assigned")
        client = WireClient(broker.bootstrap)

        def describe(version):
            request = DescribeGroupsRequest(groups=[classic, modern, "absent"], include_authorized_operations=True,
                                            min_version=version, max_version=version)
            return {g.group_id: g for g in client.send(request).groups}

        old = describe(5)
        assert [(old[g].error_code, old[g].group_state) for g in (modern, "absent")] == [(0, "Dead"), (0, "Dead")]
        new = describe(6)
        assert (new[modern].error_code, new[modern].error_message) == (69, f"Group {modern} is not a classic group.")
        assert (new["absent"].error_code, new["absent"].error_message) == (69, "Group absent not found.")
        assert (new[classic].error_code, new[classic].group_state) == (0, "Stable")
        assert new[classic].error_message is None
        # kafka-python decodes the bit field into the set of AclOperation codes.
        group_operations = {3, 6, 8, 10, 11}
        assert new[classic].authorized_operations == old[classic].authorized_operations == group_operations
        client.close()
    finally:
        for m in members:
            m.close()
