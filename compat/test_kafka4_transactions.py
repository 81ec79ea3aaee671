"""Transaction APIs answer each request version with the error codes that version knows,
and a transactional batch is appended only to a partition its transaction added (KIP-890).

PRODUCER_FENCED (90) came with KIP-588 (InitProducerId v4, AddPartitionsToTxn, AddOffsetsToTxn
and EndTxn v2). A client speaking an older version is told INVALID_PRODUCER_EPOCH (47), as
Kafka tells it. The requests go through kafka-python's own codec and connection, pinned to
one version each.
"""
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from conftest import WireClient
from kafka.protocol.producer.produce import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.protocol.producer.transaction import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    EndTxnRequest,
    InitProducerIdRequest,
)

PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, TRANSACTION_ABORTABLE = 90, 47, 48, 120


@pytest.fixture(scope="module")
def fenced(tmp_path_factory):
    """A broker, and a client holding a producer epoch that a newer one has fenced."""
    from conftest import Broker

    broker = Broker(tmp_path_factory.mktemp("data")).start()
    client = WireClient(broker.bootstrap)

    def send(request):
        return client.send(request)

    def init():
        return send(InitProducerIdRequest(transactional_id="zombie", transaction_timeout_ms=60000,
                                          producer_id=-1, producer_epoch=-1, max_version=3))

    old = init()
    new = init()
    assert (new.producer_id, new.producer_epoch) == (old.producer_id, old.producer_epoch + 1)
    send.bootstrap = broker.bootstrap
    yield send, (old.producer_id, old.producer_epoch)
    client.close()
    broker.stop()


def fenced_bootstrap(send):
    return send.bootstrap


def pinned(request_type, version, **fields):
    return request_type(min_version=version, max_version=version, **fields)


@pytest.mark.parametrize("version,expected", [(1, INVALID_PRODUCER_EPOCH), (2, PRODUCER_FENCED), (3, PRODUCER_FENCED)])
def test_end_txn_from_a_fenced_producer(fenced, version, expected):
    send, (pid, epoch) = fenced
    response = send(pinned(EndTxnRequest, version, transactional_id="zombie", producer_id=pid,
                           producer_epoch=epoch, committed=True))
    assert response.error_code == expected


@pytest.mark.parametrize("version,expected", [(1, INVALID_PRODUCER_EPOCH), (2, PRODUCER_FENCED)])
def test_add_partitions_to_txn_from_a_fenced_producer(fenced, version, expected):
    send, (pid, epoch) = fenced
    response = send(pinned(AddPartitionsToTxnRequest, version, v3_and_below_transactional_id="zombie",
                           v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
                           v3_and_below_topics=[("t", [0])]))
    codes = [code for _, partitions in response.results_by_topic_v3_and_below for _, code in partitions]
    assert codes == [expected]


@pytest.mark.parametrize("version,expected", [(1, INVALID_PRODUCER_EPOCH), (2, PRODUCER_FENCED)])
def test_add_offsets_to_txn_from_a_fenced_producer(fenced, version, expected):
    send, (pid, epoch) = fenced
    response = send(pinned(AddOffsetsToTxnRequest, version, transactional_id="zombie", producer_id=pid,
                           producer_epoch=epoch, group_id="g"))
    assert response.error_code == expected


@pytest.mark.parametrize("version,expected", [(3, INVALID_PRODUCER_EPOCH), (4, PRODUCER_FENCED)])
def test_init_producer_id_resuming_a_fenced_epoch(fenced, version, expected):
    send, (pid, epoch) = fenced
    response = send(pinned(InitProducerIdRequest, version, transactional_id="zombie", transaction_timeout_ms=60000,
                           producer_id=pid, producer_epoch=epoch))
    assert response.error_code == expected


def transactional_batch(pid, epoch, sequence, value):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=True, producer_id=pid,
                                        producer_epoch=epoch, base_sequence=sequence, batch_size=1 << 20)
    builder.append(0, int(time.time() * 1000), b"k", value, [])
    return bytes(builder.build())


def produce(send, version, transactional_id, batch, partition=0):
    request = pinned(ProduceRequest, version, transactional_id=transactional_id, acks=-1, timeout_ms=5000,
                     topic_data=[("verified", [(partition, batch)])])
    response = send(request)
    ((_, partitions),) = [(t.name, t.partition_responses) for t in response.responses]
    (p,) = partitions
    return p.error_code, p.error_message


def test_a_transactional_batch_needs_its_partition_added(fenced):
    """The hanging-transaction guard: a batch for a partition the transaction never added
    (a late retry, a buggy client) is refused, and nothing of it is stored."""
    send, _ = fenced
    init = send(InitProducerIdRequest(transactional_id="verified", transaction_timeout_ms=60000,
                                      producer_id=-1, producer_epoch=-1, max_version=3))
    pid, epoch = init.producer_id, init.producer_epoch
    admin = AdminClient({"bootstrap.servers": fenced_bootstrap(send)})
    admin.create_topics([NewTopic("verified", 2)])["verified"].result(10)

    code, message = produce(send, 10, "verified", transactional_batch(pid, epoch, 0, b"stray"))
    assert (code, message) == (INVALID_TXN_STATE, "Partition was not added to the transaction")
    code, message = produce(send, 11, "verified", transactional_batch(pid, epoch, 0, b"stray"))
    assert (code, message) == (TRANSACTION_ABORTABLE, None)

    added = send(pinned(AddPartitionsToTxnRequest, 3, v3_and_below_transactional_id="verified",
                        v3_and_below_producer_id=pid, v3_and_below_producer_epoch=epoch,
                        v3_and_below_topics=[("verified", [0])]))
    assert [c for _, ps in added.results_by_topic_v3_and_below for _, c in ps] == [0]
    assert produce(send, 11, "verified", transactional_batch(pid, epoch, 0, b"in"))[0] == 0
    # Another partition of the same transaction was not added.
    assert produce(send, 11, "verified", transactional_batch(pid, epoch, 0, b"x"), partition=1)[0] == TRANSACTION_ABORTABLE
    assert send(pinned(EndTxnRequest, 3, transactional_id="verified", producer_id=pid, producer_epoch=epoch,
                       committed=True)).error_code == 0
    # After the commit, the next batch belongs to no transaction until its partition is added again.
    assert produce(send, 11, "verified", transactional_batch(pid, epoch, 1, b"late"))[0] == TRANSACTION_ABORTABLE


def test_transactions_listed_by_id_pattern_and_producers_described_mid_transaction(fenced):
    """kafka-python's admin: ListTransactions v2 filters by a regular expression over the
    whole id (KIP-1152); DescribeProducers answers while transactions are open, with
    each producer's open-transaction start, and lists idempotent producers too."""
    from confluent_kafka import Producer
    from kafka import KafkaAdminClient, TopicPartition

    send, _ = fenced
    admin = KafkaAdminClient(bootstrap_servers=send.bootstrap)
    creator = AdminClient({"bootstrap.servers": send.bootstrap})
    creator.create_topics([NewTopic("ledger", 1)])["ledger"].result(10)
    producers = []
    for tid in ("orders-1", "orders-2", "payments-1"):
        p = Producer({"bootstrap.servers": send.bootstrap, "transactional.id": tid})
        p.init_transactions(10)
        p.begin_transaction()
        p.produce("ledger", key=tid.encode(), value=b"v")
        assert p.flush(10) == 0
        producers.append(p)
    idempotent = Producer({"bootstrap.servers": send.bootstrap, "enable.idempotence": True})
    idempotent.produce("ledger", value=b"plain")
    assert idempotent.flush(10) == 0

    listed = [t for per_broker in admin.list_transactions(transactional_id_pattern="orders-.*").values()
              for t in per_broker]
    assert sorted(t.transactional_id for t in listed) == ["orders-1", "orders-2"]
    assert not [t for b in admin.list_transactions(transactional_id_pattern="rders-1").values() for t in b]

    (state,) = admin.describe_producers([TopicPartition("ledger", 0)]).values()
    active = state.active_producers
    assert len(active) == 4
    open_starts = sorted(p.current_transaction_start_offset for p in active if p.current_transaction_start_offset >= 0)
    assert open_starts == [0, 1, 2]
    for p in producers:
        p.commit_transaction(10)
    (state,) = admin.describe_producers([TopicPartition("ledger", 0)]).values()
    assert all(p.current_transaction_start_offset == -1 for p in state.active_producers)
    admin.close()
    for p in producers + [idempotent]:
        p.flush(1)
