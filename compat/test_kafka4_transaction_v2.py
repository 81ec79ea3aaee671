"""Transaction version 2 (KIP-890 part 2), as Kafka 4.x serves it to clients that use it.

tidelog finalizes `transaction.version` = 2. A client that sees it sends Produce v12+ without
AddPartitionsToTxn (the partition joins the transaction on produce), TxnOffsetCommit v5
without AddOffsetsToTxn, and EndTxn v5, which answers the producer id and epoch to go on
with: every end bumps the epoch, so a late write of a finished transaction is fenced. franz-go
uses it (test_franz_go.py checks the epochs); the requests here pin each version with
kafka-python's codec, and confluent-kafka reads what they wrote.
"""
import socket
import struct
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from client_processes import create_topic
from conftest import Broker, WireClient
from kafka import KafkaAdminClient
from kafka.protocol.producer.produce import ProduceRequest, ProduceResponse
from kafka.protocol.producer.transaction import EndTxnRequest, InitProducerIdRequest, TxnOffsetCommitRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, PRODUCER_FENCED = 47, 48, 90


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("data")).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def wire(broker):
    client = WireClient(broker.bootstrap)
    yield client
    client.close()


def pinned(request_type, version, **fields):
    return request_type(min_version=version, max_version=version, **fields)


def init(wire, transactional_id):
    response = wire.send(pinned(InitProducerIdRequest, 5, transactional_id=transactional_id,
                                transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1))
    assert response.error_code == 0
    return response.producer_id, response.producer_epoch


def batch(producer, sequence, value):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True, producer_id=producer[0],
                                        producer_epoch=producer[1], base_sequence=sequence, batch_size=1 << 20)
    builder.append(0, int(time.time() * 1000), b"k", value, [])
    return bytes(builder.build())


def produce_request(transactional_id, topic, partition, records, version=12):
    return pinned(ProduceRequest, version, transactional_id=transactional_id, acks=-1, timeout_ms=5000,
                  topic_data=[(topic, [(partition, records)])])


def produce(wire, transactional_id, topic, records, partition=0):
    response = wire.send(produce_request(transactional_id, topic, partition, records))
    (p,) = response.responses[0].partition_responses
    return p.error_code


def end(wire, transactional_id, producer, commit):
    response = wire.send(pinned(EndTxnRequest, 5, transactional_id=transactional_id, producer_id=producer[0],
                                producer_epoch=producer[1], committed=commit))
    return response.error_code, (response.producer_id, response.producer_epoch)


def read_committed(broker, topic):
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"reader-{time.time_ns()}",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.monotonic() + 2
    while time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is not None and not m.error():
            values.append(m.value())
    consumer.close()
    return values


def test_the_feature_is_finalized_at_version_2(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    features = admin.describe_features()
    admin.close()
    assert features["transaction.version"]["supported"] == (0, 2)
    assert features["transaction.version"]["finalized"] == (2, 2)
    assert features["transaction.version"]["finalized_epoch"] >= 0
    assert features["group.version"]["finalized"] == (1, 1)


def test_produce_joins_the_transaction_and_each_end_bumps_the_epoch(broker, wire):
    create_topic(broker.bootstrap, "tv2", 1)
    producer = init(wire, "tv2")
    assert produce(wire, "tv2", "tv2", batch(producer, 0, b"first")) == 0, "joined without AddPartitionsToTxn"
    assert produce(wire, "tv2", "tv2", batch(producer, 1, b"second")) == 0
    assert read_committed(broker, "tv2") == []

    code, after = end(wire, "tv2", producer, commit=True)
    assert (code, after) == (0, (producer[0], producer[1] + 1))
    assert read_committed(broker, "tv2") == [b"first", b"second"]
    # The answer was lost and the client retries with the epoch it had: the same answer.
    assert end(wire, "tv2", producer, commit=True) == (0, after)
    # A late retry of the committed transaction's produce is fenced by the marker's epoch.
    assert produce(wire, "tv2", "tv2", batch(producer, 2, b"late")) == INVALID_PRODUCER_EPOCH

    assert produce(wire, "tv2", "tv2", batch(after, 0, b"aborted")) == 0
    code, again = end(wire, "tv2", after, commit=False)
    assert (code, again) == (0, (producer[0], producer[1] + 2))
    assert read_committed(broker, "tv2") == [b"first", b"second"]
    # An epoch older than the one before the last bump is a zombie.
    assert end(wire, "tv2", producer, commit=False)[0] == PRODUCER_FENCED


def test_an_abort_with_nothing_open_bumps_the_epoch_and_a_commit_is_refused(wire):
    producer = init(wire, "tv2-empty")
    assert end(wire, "tv2-empty", producer, commit=True)[0] == INVALID_TXN_STATE
    assert end(wire, "tv2-empty", producer, commit=False) == (0, (producer[0], producer[1] + 1))


def test_txn_offset_commit_v5_joins_the_group_without_add_offsets(broker, wire):
    create_topic(broker.bootstrap, "tv2-offsets", 1)
    producer = init(wire, "tv2-offsets")
    response = wire.send(pinned(TxnOffsetCommitRequest, 5, transactional_id="tv2-offsets", group_id="tv2-group",
                                producer_id=producer[0], producer_epoch=producer[1], generation_id=-1,
                                member_id="", group_instance_id=None,
                                topics=[("tv2-offsets", [(0, 42, -1, "")])]))
    assert [p.error_code for t in response.topics for p in t.partitions] == [0]
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "tv2-group"})
    assert consumer.committed([TopicPartition("tv2-offsets", 0)], timeout=10)[0].offset < 0, "not before the commit"
    assert end(wire, "tv2-offsets", producer, commit=True)[0] == 0
    assert consumer.committed([TopicPartition("tv2-offsets", 0)], timeout=10)[0].offset == 42
    consumer.close()


def test_pipelined_produces_append_in_order_while_the_first_joins(broker, wire):
    """Five produces sent back to back on one connection, the first of which must wait for
    its partition to join the transaction: all append, in order, with no sequence error."""
    create_topic(broker.bootstrap, "tv2-pipelined", 1)
    producer = init(wire, "tv2-pipelined")
    host, port = broker.bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        for i in range(5):
            request = produce_request("tv2-pipelined", "tv2-pipelined", 0, batch(producer, i, b"v%d" % i))
            request.with_header(correlation_id=i, client_id="pipeline")
            conn.sendall(request.encode(version=12, header=True, framed=True))
        answers = []
        for _ in range(5):
            (size,) = struct.unpack(">i", recv_exactly(conn, 4))
            response = ProduceResponse.decode(recv_exactly(conn, size), version=12, header=True)
            (p,) = response.responses[0].partition_responses
            answers.append((response.header.correlation_id, p.error_code, p.base_offset))
    assert answers == [(i, 0, i) for i in range(5)]
    assert end(wire, "tv2-pipelined", producer, commit=True)[0] == 0
    assert read_committed(broker, "tv2-pipelined") == [b"v%d" % i for i in range(5)]


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        assert chunk, "the broker closed the connection"
        data += chunk
    return data
