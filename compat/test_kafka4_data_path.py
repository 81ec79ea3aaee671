"""The data path at Kafka 4.x's versions and semantics, through real clients.

confluent-kafka (librdkafka) reads large records within `fetch.max.bytes` (KIP-74), lists
the offset of the record holding the largest timestamp (KIP-734), sees keyless records
refused by a compacted topic and validates a position carrying a leader epoch with
OffsetForLeaderEpoch (KIP-320). kafka-python's codec pins the newest request versions
(ListOffsets v9/v10, OffsetForLeaderEpoch v2-v4, Produce v8 and v13) to check what each
answers.
"""
import time
import uuid
import urllib.request

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec
from conftest import WireClient
from kafka.protocol.consumer.offsets import ListOffsetsRequest, OffsetForLeaderEpochRequest
from kafka.protocol.producer.produce import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_LEADER_EPOCH, INVALID_RECORD, UNKNOWN_TOPIC_ID = 3, 75, 87, 100
LARGE = 900 * 1024


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    """One broker for the module (the tests use topics of their own), with a client that
    sends requests pinned to one version."""
    from conftest import Broker

    broker = Broker(tmp_path_factory.mktemp("data")).start()
    client = WireClient(broker.bootstrap)

    def send(request):
        return client.send(request)

    send.broker = broker
    send.admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    yield send
    client.close()
    broker.stop()


def create(kafka, name, partitions=1, config=None):
    kafka.admin.create_topics([NewTopic(name, partitions, config=config or {})])[name].result(10)


def pinned(request_type, version, **fields):
    return request_type(min_version=version, max_version=version, **fields)


def produced(kafka, records, **config):
    """Produces (topic, partition, key, value, timestamp) records in one flush."""
    producer = Producer({"bootstrap.servers": kafka.broker.bootstrap, **config})
    errors = []
    for topic, partition, key, value, timestamp in records:
        producer.produce(topic, value=value, key=key, partition=partition, timestamp=timestamp or 0,
                         on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(20) == 0
    return errors


def test_large_records_are_read_within_fetch_max_bytes(kafka):
    """Three partitions of 900 KiB records and a 1 MB fetch.max.bytes: librdkafka drops any
    response above receive.message.max.bytes, so it reads them all only if every response
    gave the first partition its batch and the others what fitted."""
    create(kafka, "large", 3)
    values = {p: bytes([97 + p]) * LARGE for p in range(3)}
    assert produced(kafka, [("large", p, None, values[p], None) for p in range(3)]) == [None] * 3
    consumer = Consumer({"bootstrap.servers": kafka.broker.bootstrap, "group.id": "large", "enable.auto.commit": False,
                         "fetch.max.bytes": 1000000, "receive.message.max.bytes": 1000512})
    consumer.assign([TopicPartition("large", p, 0) for p in range(3)])
    got = {}
    deadline = time.monotonic() + 30
    while len(got) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is not None:
            assert msg.error() is None, msg.error()
            got[msg.partition()] = msg.value()
    consumer.close()
    assert got == values


def test_max_timestamp_is_the_record_that_holds_it(kafka):
    """OffsetSpec.max_timestamp() names the first record with the largest timestamp, even in
    the middle of a batch, with its leader epoch."""
    create(kafka, "stamped")
    now = int(time.time() * 1000)
    stamps = [now, now + 30, now + 10, now + 30, now + 20]
    # One flush after a long linger: the records travel, and are stored, as one batch.
    records = [("stamped", 0, b"k", b"v%d" % i, ts) for i, ts in enumerate(stamps)]
    assert produced(kafka, records, **{"linger.ms": 1000}) == [None] * 5
    tp = TopicPartition("stamped", 0)
    answers = {spec: kafka.admin.list_offsets({tp: spec})[tp].result(10)
               for spec in (OffsetSpec.max_timestamp(), OffsetSpec.earliest(), OffsetSpec.latest())}
    top, earliest, latest = answers.values()
    assert (top.offset, top.timestamp, top.leader_epoch) == (1, now + 30, 0)
    assert (earliest.offset, latest.offset) == (0, 5)


@pytest.mark.parametrize("version", [9, 10])
def test_special_timestamps_without_tiered_storage(kafka, version):
    """EARLIEST_LOCAL (-4) is the log start where nothing is tiered; LATEST_TIERED (-5) has no
    offset (-1, epoch -1), as Kafka answers without remote storage."""
    create(kafka, f"special-v{version}")
    now = int(time.time() * 1000)
    assert produced(kafka, [(f"special-v{version}", 0, b"k", b"v", now)] * 2, **{"linger.ms": 200}) == [None] * 2
    partitions = [(0, -1, -4), (0, -1, -5), (0, -1, -3), (0, 0, -1)]
    request = pinned(ListOffsetsRequest, version, replica_id=-1, isolation_level=0, timeout_ms=5000,
                     topics=[(f"special-v{version}", [p]) for p in partitions])
    answered = [(p.error_code, p.offset, p.timestamp, p.leader_epoch)
                for t in kafka(request).topics for p in t.partitions]
    assert answered == [(0, 0, -1, 0), (0, -1, -1, -1), (0, 0, now, 0), (0, 2, -1, 0)]


def test_a_newer_current_leader_epoch_is_unknown_to_list_offsets(kafka):
    create(kafka, "epoch-check")
    request = pinned(ListOffsetsRequest, 10, replica_id=-1, isolation_level=0, timeout_ms=5000,
                     topics=[("epoch-check", [(0, 5, -1)])])
    (p,) = [p for t in kafka(request).topics for p in t.partitions]
    assert (p.error_code, p.offset) == (UNKNOWN_LEADER_EPOCH, -1)


def keyless_batch(keys):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for offset, key in enumerate(keys):
        builder.append(offset, int(time.time() * 1000), key, b"value", [])
    return bytes(builder.build())


def test_a_compacted_topic_refuses_keyless_records(kafka):
    """Kafka's LogValidator: INVALID_RECORD for the whole batch, each keyless record named
    by its index (KIP-467), and nothing of the batch appended."""
    create(kafka, "compacted", config={"cleanup.policy": "compact"})
    errors = produced(kafka, [("compacted", 0, None, b"no key", None)], **{"message.send.max.retries": 0})
    assert [e.code() for e in errors] == [KafkaError.INVALID_RECORD]

    request = pinned(ProduceRequest, 8, transactional_id=None, acks=-1, timeout_ms=5000,
                     topic_data=[("compacted", [(0, keyless_batch([b"a", None, b"c", None]))])])
    ((p,),) = [t.partition_responses for t in kafka(request).responses]
    why = "Compacted topic cannot accept message without key in topic partition compacted-0."
    assert p.error_code == INVALID_RECORD
    assert [(e.batch_index, e.batch_index_error_message) for e in p.record_errors] == [(1, why), (3, why)]
    assert p.error_message == ("One or more records have been rejected due to 2 record errors in total, and only "
                               f"showing the first three errors at most: [RecordError(batchIndex=1, message='{why}'), "
                               f"RecordError(batchIndex=3, message='{why}')]")
    tp = TopicPartition("compacted", 0)
    assert kafka.admin.list_offsets({tp: OffsetSpec.latest()})[tp].result(10).offset == 0
    assert produced(kafka, [("compacted", 0, b"k", b"kept", None)]) == [None]
    assert kafka.admin.list_offsets({tp: OffsetSpec.latest()})[tp].result(10).offset == 1


def topic_id(kafka, name):
    from confluent_kafka import TopicCollection
    described = kafka.admin.describe_topics(TopicCollection([name]))[name].result(10)
    return uuid.UUID(bytes=described.topic_id.get_most_significant_bits().to_bytes(8, "big", signed=True)
                     + described.topic_id.get_least_significant_bits().to_bytes(8, "big", signed=True))


def test_produce_v13_names_topics_by_id(kafka):
    create(kafka, "by-id")
    known = topic_id(kafka, "by-id")
    unknown = uuid.uuid4()
    request = pinned(ProduceRequest, 13, transactional_id=None, acks=-1, timeout_ms=5000,
                     topic_data=[(str(known), [(0, keyless_batch([b"k"]))]),
                                 (str(unknown), [(0, keyless_batch([b"k"]))])])
    answered = [(uuid.UUID(str(t.topic_id)), p.error_code, p.base_offset)
                for t in kafka(request).responses for p in t.partition_responses]
    assert answered == [(known, 0, 0), (unknown, UNKNOWN_TOPIC_ID, -1)]
    tp = TopicPartition("by-id", 0)
    assert kafka.admin.list_offsets({tp: OffsetSpec.latest()})[tp].result(10).offset == 1


@pytest.mark.parametrize("version", [2, 3, 4])
def test_offset_for_leader_epoch_answers_where_each_epoch_ends(kafka, version):
    """The current epoch ends at the log end offset; a newer one is unknown (-1, -1); a
    current_leader_epoch ahead of the partition's is UNKNOWN_LEADER_EPOCH."""
    name = f"epochs-v{version}"
    create(kafka, name)
    assert produced(kafka, [(name, 0, b"k", b"v", None)] * 3) == [None] * 3
    # (partition, current_leader_epoch, leader_epoch)
    asked = [(0, 0, 0), (0, -1, 0), (0, -1, 1), (0, 1, 0), (7, -1, 0)]
    fields = {"topics": [(name, asked)]}
    if version >= 3:
        fields["replica_id"] = -1
    answered = [(p.error_code, p.leader_epoch, p.end_offset)
                for t in kafka(pinned(OffsetForLeaderEpochRequest, version, **fields)).topics for p in t.partitions]
    assert answered == [(0, 0, 3), (0, 0, 3), (0, -1, -1), (UNKNOWN_LEADER_EPOCH, -1, -1),
                        (UNKNOWN_TOPIC_OR_PARTITION, -1, -1)]


def requests_answered(kafka, api):
    with urllib.request.urlopen(f"{kafka.broker.admin_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    series = f'tidelog_kafka_requests_total{{api="{api}"}}'
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " "))


def test_a_position_with_a_leader_epoch_is_validated_before_fetching(kafka):
    """librdkafka asks OffsetForLeaderEpoch where the position's epoch ends before it
    fetches from an assigned offset that carries one, then reads from there."""
    create(kafka, "validated")
    assert produced(kafka, [("validated", 0, b"k", b"v%d" % i, None) for i in range(5)]) == [None] * 5
    before = requests_answered(kafka, "OffsetForLeaderEpoch")
    consumer = Consumer({"bootstrap.servers": kafka.broker.bootstrap, "group.id": "validated",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("validated", 0, 3, leader_epoch=0)])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 2 and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is not None:
            assert msg.error() is None, msg.error()
            got.append((msg.offset(), msg.value(), msg.leader_epoch()))
    consumer.close()
    assert got == [(3, b"v3", 0), (4, b"v4", 0)]
    assert requests_answered(kafka, "OffsetForLeaderEpoch") > before
