"""Transaction APIs answer each request version with the error codes that version knows.

PRODUCER_FENCED (90) came with KIP-588 (InitProducerId v4, AddPartitionsToTxn, AddOffsetsToTxn
and EndTxn v2). A client speaking an older version is told INVALID_PRODUCER_EPOCH (47), as
Kafka tells it. The requests go through kafka-python's own codec and connection, pinned to
one version each.
"""
import pytest
from kafka.net.compat import KafkaNetClient
from kafka.protocol.producer.transaction import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    EndTxnRequest,
    InitProducerIdRequest,
)

PRODUCER_FENCED, INVALID_PRODUCER_EPOCH = 90, 47


@pytest.fixture(scope="module")
def fenced(tmp_path_factory):
    """A broker, and a client holding a producer epoch that a newer one has fenced."""
    from conftest import Broker

    broker = Broker(tmp_path_factory.mktemp("data")).start()
    client = KafkaNetClient(bootstrap_servers=broker.bootstrap)
    client.check_version()
    node = next(iter(client.cluster.brokers())).node_id

    def send(request):
        return client.send_and_receive(node, request, timeout_ms=10000)

    def init():
        return send(InitProducerIdRequest(transactional_id="zombie", transaction_timeout_ms=60000,
                                          producer_id=-1, producer_epoch=-1, max_version=3))

    old = init()
    new = init()
    assert (new.producer_id, new.producer_epoch) == (old.producer_id, old.producer_epoch + 1)
    yield send, (old.producer_id, old.producer_epoch)
    client.close()
    broker.stop()


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
