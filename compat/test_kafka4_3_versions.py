"""The versions Kafka 4.2 and 4.3 added to the APIs tidelog serves, through real clients.

franz-go (kgo 1.22) negotiates OffsetCommit v10 and OffsetFetch v10, which name topics by
id (KIP-848), once they are advertised: a group member commits by topic id and a member
started after it resumes from the committed offsets. kafka-python 3.0's group consumer
(which pins OffsetCommit/OffsetFetch to v8 itself) keeps committing and resuming against
the 4.3 table. kafka-python's codec pins the exact wire cases: an unknown topic id,
ListOffsets v11's EARLIEST_PENDING_UPLOAD (-6) and DescribeLogDirs v5's IsCordoned.
"""
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec
from kafka.protocol.admin.cluster import DescribeLogDirsRequest
from kafka.protocol.consumer.group import OffsetCommitRequest, OffsetFetchRequest
from kafka.protocol.consumer.offsets import ListOffsetsRequest

from client_processes import FAST_GROUPS, MemberProcess
from conftest import wait_for

UNSUPPORTED_VERSION, UNKNOWN_TOPIC_ID = 35, 100
GO_DIR = Path(__file__).resolve().parent / "go"
FRANZ = GO_DIR / "bin" / "franz"

CommitTopic = OffsetCommitRequest.OffsetCommitRequestTopic
CommitPartition = CommitTopic.OffsetCommitRequestPartition
FetchGroup = OffsetFetchRequest.OffsetFetchRequestGroup
FetchTopics = FetchGroup.OffsetFetchRequestTopics


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    """One broker for the module (each test has topics and groups of its own), with a
    client that sends requests pinned to one version."""
    from conftest import Broker, WireClient

    broker = Broker(tmp_path_factory.mktemp("data"), FAST_GROUPS).start()
    client = WireClient(broker.bootstrap)

    def send(request_type, version, **fields):
        return client.send(request_type(min_version=version, max_version=version, **fields))

    send.broker = broker
    send.admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    yield send
    client.close()
    broker.stop()


def create(kafka, name, partitions=1):
    kafka.admin.create_topics([NewTopic(name, partitions)])[name].result(10)


def produce(kafka, topic, values, partitions=1):
    producer = Producer({"bootstrap.servers": kafka.broker.bootstrap, "linger.ms": 1})
    for i, value in enumerate(values):
        producer.produce(topic, value=value, partition=i % partitions)
    assert producer.flush(20) == 0


def topic_id(kafka, name):
    described = kafka.admin.describe_topics(TopicCollection([name]))[name].result(10)
    return uuid.UUID(bytes=described.topic_id.get_most_significant_bits().to_bytes(8, "big", signed=True)
                     + described.topic_id.get_least_significant_bits().to_bytes(8, "big", signed=True))


def commit_v10(kafka, group, topics):
    """A simple (generation -1, memberless) commit, Kafka's admin-style commit."""
    request_topics = [CommitTopic(topic_id=str(tid), partitions=[
        CommitPartition(partition_index=p, committed_offset=offset, committed_leader_epoch=-1, committed_metadata="m")
        for p, offset in partitions]) for tid, partitions in topics]
    response = kafka(OffsetCommitRequest, 10, group_id=group, generation_id_or_member_epoch=-1, member_id="",
                     group_instance_id=None, topics=request_topics)
    return [(uuid.UUID(str(t.topic_id)), p.partition_index, p.error_code) for t in response.topics for p in t.partitions]


def fetch_v10(kafka, group, topics):
    response = kafka(OffsetFetchRequest, 10, require_stable=False, groups=[FetchGroup(
        group_id=group, member_id=None, member_epoch=-1,
        topics=None if topics is None else [FetchTopics(topic_id=str(tid), partition_indexes=ps) for tid, ps in topics])])
    (g,) = response.groups
    assert g.error_code == 0
    return sorted((uuid.UUID(str(t.topic_id)), p.partition_index, p.committed_offset, p.error_code)
                  for t in g.topics for p in t.partitions)


def test_offset_commit_and_fetch_v10_name_topics_by_id(kafka):
    create(kafka, "by-id-offsets", 2)
    known, unknown = topic_id(kafka, "by-id-offsets"), uuid.uuid4()
    assert commit_v10(kafka, "by-id", [(known, [(0, 5), (1, 7)]), (unknown, [(0, 1)])]) == [
        (known, 0, 0), (known, 1, 0), (unknown, 0, UNKNOWN_TOPIC_ID)]
    assert fetch_v10(kafka, "by-id", [(known, [0, 1]), (unknown, [0])]) == sorted([
        (known, 0, 5, 0), (known, 1, 7, 0), (unknown, 0, -1, UNKNOWN_TOPIC_ID)])
    # All topics of the group: each by its id.
    assert fetch_v10(kafka, "by-id", None) == [(known, 0, 5, 0), (known, 1, 7, 0)]
    # A v9 client sees the same offsets under the topic's name.
    v9 = kafka(OffsetFetchRequest, 9, require_stable=False, groups=[FetchGroup(
        group_id="by-id", member_id=None, member_epoch=-1, topics=None)])
    assert [(t.name, p.partition_index, p.committed_offset) for t in v9.groups[0].topics for p in t.partitions] == [
        ("by-id-offsets", 0, 5), ("by-id-offsets", 1, 7)]


def test_list_offsets_v11_earliest_pending_upload_without_tiered_storage(kafka):
    """Kafka's UnifiedLog.fetchEarliestPendingUploadOffset without remote storage: offset
    -1, timestamp -1, epoch -1. Below v11 the sentinel is UNSUPPORTED_VERSION
    (ReplicaManager.isListOffsetsTimestampUnsupported)."""
    create(kafka, "pending-upload")
    produce(kafka, "pending-upload", [b"a", b"b"])

    def listed(version, timestamp):
        response = kafka(ListOffsetsRequest, version, replica_id=-1, isolation_level=0, timeout_ms=5000,
                         topics=[("pending-upload", [(0, -1, timestamp)])])
        return [(p.error_code, p.offset, p.timestamp, p.leader_epoch) for t in response.topics for p in t.partitions]

    assert listed(11, -6) == [(0, -1, -1, -1)]
    assert listed(10, -6) == [(UNSUPPORTED_VERSION, -1, -1, -1)]
    assert listed(11, -1) == [(0, 2, -1, 0)]
    assert listed(11, -2) == [(0, 0, -1, 0)]
    # What a librdkafka application sees once ListOffsets v11 is advertised.
    tp = TopicPartition("pending-upload", 0)
    answers = [kafka.admin.list_offsets({tp: spec})[tp].result(10).offset
               for spec in (OffsetSpec.earliest(), OffsetSpec.latest())]
    assert answers == [0, 2]


def test_describe_log_dirs_v5_reports_the_directory_not_cordoned(kafka):
    create(kafka, "log-dirs-v5")
    produce(kafka, "log-dirs-v5", [b"x" * 100])
    response = kafka(DescribeLogDirsRequest, 5, topics=None)
    (result,) = response.results
    assert (result.error_code, result.is_cordoned) == (0, False)
    sizes = {(t.name, p.partition_index): p.partition_size for t in result.topics for p in t.partitions}
    assert sizes[("log-dirs-v5", 0)] > 100


@pytest.fixture(scope="module")
def franz():
    if not FRANZ.exists():  # scripts/test.sh builds it; this serves a bare pytest run
        subprocess.run(["go", "build", "-o", str(FRANZ), "."], cwd=GO_DIR, check=True, timeout=300)
    return str(FRANZ)


def test_franz_go_commits_and_resumes_by_topic_id(kafka, franz):
    """kgo's manual-commit member commits on leaving (OffsetCommit v10, by topic id); the
    member started after it fetches those offsets (OffsetFetch v10) and reads only what
    was produced since. kgo's debug log names each request's version."""
    create(kafka, "franz-by-id", 2)
    produce(kafka, "franz-by-id", [b"first-%d" % i for i in range(10)], 2)

    def member(name):
        # FRANZ_DEBUG: kgo logs "wrote <Request> v<version>" for every request.
        args = ["env", "FRANZ_DEBUG=1", franz, "member", "-brokers", kafka.broker.bootstrap,
                "-group", "franz-by-id", "-topic", "franz-by-id"]
        return MemberProcess(args, name)

    first = member("first")
    wait_for(lambda: len(first.values()) == 10, 60, "the first member reads the ten records")
    first.close()
    assert all(e["commit_error"] is None for e in first.of("revoked")), first.of("revoked")
    assert first.log_lines("wrote OffsetCommit v10"), first.log_lines("OffsetCommit")

    produce(kafka, "franz-by-id", [b"second-%d" % i for i in range(4)], 2)
    second = member("second")
    wait_for(lambda: len(second.values()) == 4, 60, "the second member reads the four new records")
    second.close()
    assert sorted(second.values()) == sorted("second-%d" % i for i in range(4))
    assert second.log_lines("wrote OffsetFetch v10"), second.log_lines("OffsetFetch")


def test_kafka_python_group_consumer_commits_and_resumes(kafka):
    from kafka import KafkaConsumer, TopicPartition as KTopicPartition

    create(kafka, "kp-resume", 2)
    produce(kafka, "kp-resume", [b"old-%d" % i for i in range(6)], 2)

    def consume(count):
        consumer = KafkaConsumer("kp-resume", bootstrap_servers=kafka.broker.bootstrap, group_id="kp-resume",
                                 auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=20000)
        got = []
        for message in consumer:
            got.append(message.value)
            if len(got) == count:
                break
        consumer.commit()
        committed = {p: consumer.committed(KTopicPartition("kp-resume", p)) for p in range(2)}
        consumer.close()
        return got, committed

    got, committed = consume(6)
    assert sorted(got) == sorted(b"old-%d" % i for i in range(6))
    assert committed == {0: 3, 1: 3}
    produce(kafka, "kp-resume", [b"new-%d" % i for i in range(4)], 2)
    got, committed = consume(4)
    assert sorted(got) == sorted(b"new-%d" % i for i in range(4))
    assert committed == {0: 5, 1: 5}
    # The same committed offsets, read by topic id.
    tid = topic_id(kafka, "kp-resume")
    assert fetch_v10(kafka, "kp-resume", [(tid, [0, 1])]) == [(tid, 0, 5, 0), (tid, 1, 5, 0)]
