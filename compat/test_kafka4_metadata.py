"""Cluster and topic metadata APIs answer as Kafka 4.x does, through real admin clients.

confluent-kafka (librdkafka) describes topics with Metadata and the cluster with
DescribeCluster; kafka-python 3.0 speaks Metadata v13, DescribeCluster v2,
DescribeTopicPartitions v0 (KIP-966) and FindCoordinator v6. Without an authorizer every
operation that applies to a resource is authorized (KIP-430). One broker serves the whole
module: each test uses its own topics.
"""
import pytest
from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AclOperation, AdminClient, NewPartitions, NewTopic
from kafka import KafkaAdminClient
from conftest import WireClient
from kafka.protocol.admin import CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest
from kafka.protocol.metadata import FindCoordinatorRequest, MetadataRequest

TOPIC_OPERATIONS = {"READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"}
CLUSTER_OPERATIONS = {"CREATE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
                      "IDEMPOTENT_WRITE"}
# READ=3 WRITE=4 CREATE=5 DELETE=6 ALTER=7 DESCRIBE=8 DESCRIBE_CONFIGS=10 ALTER_CONFIGS=11; the cluster's
# CLUSTER_ACTION=9 and IDEMPOTENT_WRITE=12 instead of READ, WRITE and DELETE.
TOPIC_CODES = {3, 4, 5, 6, 7, 8, 10, 11}
TOPIC_BITS = sum(1 << code for code in TOPIC_CODES)
NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST = 0, 3, 39, 42


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    from conftest import Broker

    b = Broker(tmp_path_factory.mktemp("data")).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


@pytest.fixture(scope="module")
def kp_admin(broker):
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    yield client
    client.close()


@pytest.fixture(scope="module")
def raw(broker):
    """Sends one request, pinned to one version, through kafka-python's codec."""
    client = WireClient(broker.bootstrap)

    def send(request_type, version, **fields):
        return client.send(request_type(min_version=version, max_version=version, **fields))

    yield send
    client.close()


def create(admin, name, partitions):
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(timeout=20)


def node_id(admin):
    return admin.describe_cluster().result(timeout=10).nodes[0].id


def test_confluent_describe_topics_returns_every_topic_operation(admin):
    create(admin, "ops-topic", 2)
    described = admin.describe_topics(TopicCollection(["ops-topic"]), include_authorized_operations=True)
    topic = described["ops-topic"].result(timeout=10)
    assert {op.name for op in topic.authorized_operations} == TOPIC_OPERATIONS
    assert [p.id for p in topic.partitions] == [0, 1]
    assert topic.topic_id is not None


def test_confluent_describe_cluster_returns_every_cluster_operation(admin):
    cluster = admin.describe_cluster(include_authorized_operations=True).result(timeout=10)
    assert {op.name for op in cluster.authorized_operations} == CLUSTER_OPERATIONS
    assert AclOperation.IDEMPOTENT_WRITE in cluster.authorized_operations
    assert cluster.controller.id == cluster.nodes[0].id
    assert admin.describe_cluster().result(timeout=10).authorized_operations is None, "not asked, not given"


def test_confluent_create_partitions_refuses_an_unregistered_broker(admin):
    create(admin, "assigned", 1)
    futures = admin.create_partitions([NewPartitions("assigned", 2, replica_assignment=[[12]])])
    with pytest.raises(KafkaException) as refused:
        futures["assigned"].result(timeout=10)
    error = refused.value.args[0]
    assert error.code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert error.str() == "The manual partition assignment includes broker 12, but no such broker is registered."
    assert len(admin.list_topics("assigned", timeout=10).topics["assigned"].partitions) == 1, "nothing was added"

    futures = admin.create_partitions([NewPartitions("assigned", 2, replica_assignment=[[node_id(admin)]])])
    futures["assigned"].result(timeout=10)
    assert len(admin.list_topics("assigned", timeout=10).topics["assigned"].partitions) == 2


def test_confluent_create_topics_refuses_an_unregistered_broker(admin):
    futures = admin.create_topics([NewTopic("placed", num_partitions=1, replica_assignment=[[7, 9]])])
    with pytest.raises(KafkaException) as refused:
        futures["placed"].result(timeout=10)
    error = refused.value.args[0]
    assert error.code() == KafkaError.INVALID_REPLICA_ASSIGNMENT
    assert error.str() == "The manual partition assignment includes broker 7, but no such broker is registered."
    assert "placed" not in admin.list_topics(timeout=10).topics


def test_kafka_python_create_partitions_checks_the_assignment_count(kp_admin, admin):
    create(admin, "counted", 1)
    node = node_id(admin)
    response = kp_admin.create_partitions({"counted": {"count": 3, "assignments": [[node]]}}, raise_errors=False)
    (result,) = response.results
    assert (result.error_code, result.error_message) == (
        INVALID_REPLICA_ASSIGNMENT, "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.")
    response = kp_admin.create_partitions({"counted": {"count": 3, "assignments": [[node], [node]]}},
                                          raise_errors=False)
    assert [(r.error_code, r.error_message) for r in response.results] == [(NONE, None)]


def test_successful_admin_results_carry_a_null_error_message(raw):
    created = raw(CreateTopicsRequest, 7, topics=[CreateTopicsRequest.CreatableTopic(
        name="nulls", num_partitions=1, replication_factor=1, assignments=[], configs=[])], timeout_ms=10000,
        validate_only=False)
    assert [(t.error_code, t.error_message) for t in created.topics] == [(NONE, None)]
    grown = raw(CreatePartitionsRequest, 3, topics=[CreatePartitionsRequest.CreatePartitionsTopic(
        name="nulls", count=2, assignments=None)], timeout_ms=10000, validate_only=False)
    assert [(r.error_code, r.error_message) for r in grown.results] == [(NONE, None)]
    deleted = raw(DeleteTopicsRequest, 6, topics=[DeleteTopicsRequest.DeleteTopicState(name="nulls")],
                  timeout_ms=10000)
    assert [(r.error_code, r.error_message) for r in deleted.responses] == [(NONE, None)]


def test_kafka_python_describe_topics_and_cluster_report_authorized_operations(kp_admin, admin):
    create(admin, "kp-described", 1)
    # kafka-python decodes KIP-430's bit field into operation names.
    (topic,) = kp_admin.describe_topics(["kp-described"])
    assert set(topic["authorized_operations"]) == TOPIC_OPERATIONS
    cluster = kp_admin.describe_cluster()
    assert set(cluster["authorized_operations"]) == CLUSTER_OPERATIONS
    assert [b["is_fenced"] for b in cluster["brokers"]] == [False]


def test_metadata_v13_answers_a_top_level_error_code(raw, admin):
    create(admin, "v13", 1)
    response = raw(MetadataRequest, 13, topics=[MetadataRequest.MetadataRequestTopic(name="v13")],
                   allow_auto_topic_creation=False, include_topic_authorized_operations=True)
    assert response.error_code == NONE
    (topic,) = response.topics
    # The raw codec decodes the bit field into the set of ACL operation codes.
    assert (topic.name, topic.error_code, topic.authorized_operations) == ("v13", NONE, TOPIC_CODES)


def test_metadata_below_v12_refuses_topic_ids(raw, admin):
    create(admin, "by-id", 1)
    (described,) = raw(MetadataRequest, 12, topics=[MetadataRequest.MetadataRequestTopic(name="by-id")],
                       allow_auto_topic_creation=False).topics
    wanted = described.topic_id
    refused = raw(MetadataRequest, 11, topics=[MetadataRequest.MetadataRequestTopic(name="by-id", topic_id=wanted)],
                  allow_auto_topic_creation=False)
    assert [t.error_code for t in refused.topics] == [INVALID_REQUEST]
    found = raw(MetadataRequest, 12, topics=[MetadataRequest.MetadataRequestTopic(name=None, topic_id=wanted)],
                allow_auto_topic_creation=False)
    assert [(t.name, t.error_code) for t in found.topics] == [("by-id", NONE)]


def test_kafka_python_describe_topic_partitions_pages_with_a_cursor(kp_admin, admin):
    create(admin, "paged-a", 3)
    create(admin, "paged-b", 2)
    first = kp_admin.describe_topic_partitions(["paged-b", "paged-a", "paged-missing"], response_partition_limit=2)
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in first["topics"]] == [
        ("paged-a", [0, 1])]
    assert first["next_cursor"] == {"topic_name": "paged-a", "partition_index": 2}
    second = kp_admin.describe_topic_partitions(["paged-b", "paged-a", "paged-missing"], response_partition_limit=2,
                                                cursor=first["next_cursor"])
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in second["topics"]] == [
        ("paged-a", [2]), ("paged-b", [0])]
    assert second["next_cursor"] == {"topic_name": "paged-b", "partition_index": 1}
    last = kp_admin.describe_topic_partitions(["paged-b", "paged-a", "paged-missing"], cursor=second["next_cursor"])
    assert [(t["name"], t["error_code"]) for t in last["topics"]] == [
        ("paged-b", NONE), ("paged-missing", UNKNOWN_TOPIC_OR_PARTITION)]
    assert last["next_cursor"] is None
    described = last["topics"][0]
    assert described["topic_authorized_operations"] == TOPIC_BITS
    node = node_id(admin)
    (partition,) = described["partitions"]
    assert (partition["leader_id"], partition["replica_nodes"], partition["isr_nodes"]) == (node, [node], [node])
    assert partition["offline_replicas"] == []


def test_kafka_python_describe_topic_partitions_of_all_topics(kp_admin, admin):
    create(admin, "zz-everything", 1)
    everything = kp_admin.describe_topic_partitions([])
    names = [t["name"] for t in everything["topics"]]
    assert names == sorted(names) and "zz-everything" in names
    assert all(t["error_code"] == NONE for t in everything["topics"])


def test_find_coordinator_v6_refuses_share_keys_and_serves_groups(raw):
    share = raw(FindCoordinatorRequest, 6, key_type=2, coordinator_keys=["group:topic-id:0"])
    assert [(c.error_code, c.node_id, c.port) for c in share.coordinators] == [(INVALID_REQUEST, -1, -1)]
    group = raw(FindCoordinatorRequest, 6, key_type=0, coordinator_keys=["g1", "g2"])
    assert [(c.key, c.error_code, c.error_message) for c in group.coordinators] == [
        ("g1", NONE, None), ("g2", NONE, None)]
