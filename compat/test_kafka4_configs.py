"""Configuration as Apache Kafka 4.x reports and changes it, through real admin clients.

confluent-kafka (librdkafka) describes TOPIC, BROKER and GROUP resources with synonyms and
changes them with IncrementalAlterConfigs; kafka-python 3.0 describes with its config
filters, alters broker settings and lists config resources (ListConfigResources, KIP-1142).
One broker serves the module; tests that change broker defaults restore them.
"""
import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType
from conftest import WireClient
from kafka.protocol.admin import DescribeConfigsRequest, IncrementalAlterConfigsRequest

TOPIC_CONFIG, DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC_BROKER, DEFAULT, GROUP_CONFIG = 1, 2, 3, 4, 5, 8
BROKER, SET, DELETE = 4, 0, 1


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    from conftest import Broker

    # A static log.retention.ms shows the STATIC_BROKER_CONFIG layer among the synonyms.
    b = Broker(tmp_path_factory.mktemp("data"), settings=["log.retention.ms=86400000"]).start()
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
def cluster_default(broker):
    """IncrementalAlterConfigs / DescribeConfigs of the BROKER resource "" (every broker's
    default), which the high-level admin clients do not name, through kafka-python's codec."""

    class ClusterDefault:
        def send(self, request):
            # A client per request: a test restarts the broker under the module's fixtures.
            client = WireClient(broker.bootstrap)
            try:
                return client.send(request)
            finally:
                client.close()

        def alter_answer(self, name, value, resource=""):
            op = DELETE if value is None else SET
            request = IncrementalAlterConfigsRequest(resources=[(BROKER, resource, [(name, op, value)])],
                                                     validate_only=False, min_version=1, max_version=1)
            return self.send(request).responses[0]

        def alter(self, name, value):
            response = self.alter_answer(name, value)
            assert (response.error_code, response.error_message) == (0, None), "success carries a null message"

        def describe(self, resource_type=BROKER, name="", synonyms=True, documentation=False):
            request = DescribeConfigsRequest(resources=[(resource_type, name, None)], include_synonyms=synonyms,
                                             include_documentation=documentation, min_version=4, max_version=4)
            result = self.send(request).results[0]
            assert (result.error_code, result.error_message) == (0, None), "success carries a null message"
            return {c.name: c for c in result.configs}

    return ClusterDefault()


def create(admin, name, config=None):
    admin.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(10)


def describe(admin, resource_type, name):
    """librdkafka always asks for synonyms."""
    res = ConfigResource(resource_type, name)
    return admin.describe_configs([res])[res].result(10)


def incremental(admin, resource_type, name, *entries):
    res = ConfigResource(resource_type, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=op) for k, v, op in entries])
    return admin.incremental_alter_configs([res])[res].result(10)


def synonyms(entry):
    return [(s.name, s.value, s.source) for s in entry.synonyms.values()]


def test_every_kafka_topic_config_is_accepted_and_reported(admin):
    configs = {
        "file.delete.delay.ms": "30000", "segment.jitter.ms": "1000", "preallocate": "true",
        "unclean.leader.election.enable": "true", "remote.storage.enable": "false", "local.retention.ms": "-2",
        "local.retention.bytes": "-2", "message.timestamp.type": "LogAppendTime",
        "follower.replication.throttled.replicas": "0:1", "leader.replication.throttled.replicas": "*",
        "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "100000", "index.interval.bytes": "2048",
        "segment.index.bytes": "4096", "flush.messages": "100", "flush.ms": "500", "compression.zstd.level": "5",
    }
    create(admin, "all-configs", configs)
    described = describe(admin, ConfigResource.Type.TOPIC, "all-configs")
    for name, value in configs.items():
        assert described[name].value == value, name
        assert described[name].source == TOPIC_CONFIG, name
    assert described["segment.index.bytes"].source == TOPIC_CONFIG
    assert described["remote.log.copy.disable"].value == "false"
    assert described["remote.log.copy.disable"].source == DEFAULT
    assert "message.downconversion.enable" not in described, "removed in Kafka 4.0"


@pytest.mark.parametrize("name,value,message", [
    ("preallocate", "maybe", "Invalid value maybe for configuration preallocate: Expected value to be either true or false"),
    ("segment.jitter.ms", "-1", "Invalid value -1 for configuration segment.jitter.ms: Value must be at least 0"),
    ("cleanup.policy", "shred", "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete"),
    ("remote.storage.enable", "true", "Tiered Storage functionality is disabled in the broker"),
    ("message.downconversion.enable", "true", "Unknown topic config name: message.downconversion.enable"),
])
def test_bad_topic_values_are_invalid_config_with_kafkas_message(admin, name, value, message):
    create(admin, f"bad-{name}")
    with pytest.raises(KafkaException) as err:
        incremental(admin, ConfigResource.Type.TOPIC, f"bad-{name}", (name, value, AlterConfigOpType.SET))
    assert err.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert message in err.value.args[0].str()


def test_synonyms_in_kafkas_order_with_config_types_and_documentation(admin, cluster_default):
    create(admin, "syn", {"retention.ms": "1000"})
    cluster_default.alter("log.retention.ms", "7200000")
    incremental(admin, ConfigResource.Type.BROKER, "1", ("log.retention.ms", "3600000", AlterConfigOpType.SET))
    try:
        # confluent-kafka keys synonyms by name, which folds repeated layers: the raw answer.
        described = cluster_default.describe(2, "syn")
        retention = described["retention.ms"]
        assert [(s.name, s.value, s.source) for s in retention.synonyms] == [
            ("retention.ms", "1000", TOPIC_CONFIG),
            ("log.retention.ms", "3600000", DYNAMIC_BROKER),
            ("log.retention.ms", "7200000", DYNAMIC_DEFAULT),
            ("log.retention.ms", "86400000", STATIC_BROKER),
            ("log.retention.hours", "168", DEFAULT),
        ]
        segment = described["segment.bytes"]
        assert [(s.name, s.value, s.source) for s in segment.synonyms] == [("log.segment.bytes", "1073741824", DEFAULT)]
        assert synonyms(describe(admin, ConfigResource.Type.TOPIC, "syn")["retention.ms"])[0] == ("retention.ms", "1000", TOPIC_CONFIG)
        TOPIC, LONG, INT, LIST = 2, 5, 3, 7
        plain = cluster_default.describe(TOPIC, "syn", synonyms=False)
        assert plain["retention.ms"].synonyms == [], "no synonyms unless asked for"
        assert plain["retention.ms"].documentation is None, "no documentation unless asked for"
        assert (plain["retention.ms"].config_type, plain["segment.bytes"].config_type) == (LONG, INT)
        assert plain["cleanup.policy"].config_type == LIST
        documented = cluster_default.describe(TOPIC, "syn", synonyms=False, documentation=True)
        assert documented["retention.ms"].documentation
    finally:
        cluster_default.alter("log.retention.ms", None)
        incremental(admin, ConfigResource.Type.BROKER, "1", ("log.retention.ms", None, AlterConfigOpType.DELETE))


def test_broker_resource_reports_kafkas_keys_with_running_values(admin, broker):
    configs = describe(admin, ConfigResource.Type.BROKER, "1")
    assert configs["listeners"].value == f"PLAINTEXT://{broker.bootstrap}"
    assert configs["advertised.listeners"].value == f"PLAINTEXT://{broker.bootstrap}"
    assert configs["log.dirs"].value == str(broker.data_dir)
    assert configs["node.id"].value == "1" and configs["broker.id"].value == "1"
    assert configs["process.roles"].value == "broker,controller"
    assert configs["controller.quorum.voters"].value == "" and configs["controller.quorum.voters"].source == DEFAULT
    assert configs["listeners"].is_read_only and configs["num.partitions"].is_read_only
    assert not configs["log.retention.ms"].is_read_only, "dynamic (KIP-226)"
    assert configs["log.retention.ms"].value == "86400000" and configs["log.retention.ms"].source == STATIC_BROKER
    assert configs["log.retention.hours"].value == "168" and configs["log.retention.hours"].source == DEFAULT


def test_empty_cleanup_policy_is_accepted_and_keeps_everything(admin):
    create(admin, "keep-all")
    incremental(admin, ConfigResource.Type.TOPIC, "keep-all", ("cleanup.policy", "delete", AlterConfigOpType.SUBTRACT))
    described = describe(admin, ConfigResource.Type.TOPIC, "keep-all")
    assert described["cleanup.policy"].value == ""
    assert described["cleanup.policy"].source == TOPIC_CONFIG
    incremental(admin, ConfigResource.Type.TOPIC, "keep-all", ("cleanup.policy", "compact", AlterConfigOpType.APPEND))
    assert describe(admin, ConfigResource.Type.TOPIC, "keep-all")["cleanup.policy"].value == "compact"


def test_dynamic_broker_defaults_change_topics_without_their_own_value(admin, broker, cluster_default):
    from confluent_kafka import Producer

    create(admin, "follows-default")
    create(admin, "own-limit", {"max.message.bytes": "1048588"})
    cluster_default.alter("message.max.bytes", "2000")
    try:
        default = cluster_default.describe()
        assert list(default) == ["message.max.bytes"], "the cluster default lists what is set there"
        assert default["message.max.bytes"].value == "2000"
        assert default["message.max.bytes"].config_source == DYNAMIC_DEFAULT
        assert [(s.name, s.source) for s in default["message.max.bytes"].synonyms] == [("message.max.bytes", DYNAMIC_DEFAULT)]
        assert describe(admin, ConfigResource.Type.BROKER, "1")["message.max.bytes"].source == DYNAMIC_DEFAULT
        topic = describe(admin, ConfigResource.Type.TOPIC, "follows-default")
        assert topic["max.message.bytes"].value == "2000"
        assert topic["max.message.bytes"].source == DYNAMIC_DEFAULT
        raw = cluster_default.describe(2, "follows-default")["max.message.bytes"]
        assert [(s.name, s.value, s.source) for s in raw.synonyms] == [("message.max.bytes", "2000", DYNAMIC_DEFAULT),
                                                                      ("message.max.bytes", "1048588", DEFAULT)]
        p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none", "linger.ms": 0})
        errors = {}
        for topic_name in ("follows-default", "own-limit"):
            p.produce(topic_name, value=b"x" * 5000, on_delivery=lambda err, msg: errors.update({msg.topic(): err}))
        p.flush(10)
        assert errors["follows-default"].code() == KafkaError.MSG_SIZE_TOO_LARGE
        assert errors["own-limit"] is None, "the topic's own value stays in force"

        with pytest.raises(KafkaException) as err:
            incremental(admin, ConfigResource.Type.BROKER, "1", ("num.partitions", "4", AlterConfigOpType.SET))
        assert err.value.args[0].code() == KafkaError.INVALID_REQUEST
        assert "Cannot update these configs dynamically: [num.partitions]" in err.value.args[0].str()
        # librdkafka routes BROKER resources to the broker named, so another id goes raw.
        INVALID_REQUEST = 42
        other = cluster_default.alter_answer("log.retention.ms", "1", resource="7")
        assert (other.error_code, other.error_message) == (INVALID_REQUEST, "Unexpected broker id, expected 1, but received 7")

        # Persisted as a metadata event: still in force after a restart.
        broker.restart()
        restarted = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert describe(restarted, ConfigResource.Type.TOPIC, "follows-default")["max.message.bytes"].value == "2000"
    finally:
        cluster_default.alter("message.max.bytes", None)
    assert describe(admin, ConfigResource.Type.TOPIC, "follows-default")["max.message.bytes"].value == "1048588"


def test_group_configs_are_stored_validated_and_reported(admin):
    incremental(admin, ConfigResource.Type.GROUP, "cfg-group",
                ("consumer.session.timeout.ms", "50000", AlterConfigOpType.SET),
                ("consumer.heartbeat.interval.ms", "6000", AlterConfigOpType.SET))
    described = describe(admin, ConfigResource.Type.GROUP, "cfg-group")
    session = described["consumer.session.timeout.ms"]
    assert session.value == "50000" and session.source == GROUP_CONFIG
    assert synonyms(session) == [("consumer.session.timeout.ms", "50000", GROUP_CONFIG),
                                 ("group.consumer.session.timeout.ms", "45000", DEFAULT)]
    assert described["share.auto.offset.reset"].value == "latest"
    assert describe(admin, ConfigResource.Type.GROUP, "other-group")["consumer.session.timeout.ms"].value == "45000"
    with pytest.raises(KafkaException) as err:
        incremental(admin, ConfigResource.Type.GROUP, "cfg-group",
                    ("consumer.session.timeout.ms", "1000", AlterConfigOpType.SET))
    assert err.value.args[0].code() == KafkaError.INVALID_CONFIG
    assert "must be greater than or equal to group.consumer.min.session.timeout.ms" in err.value.args[0].str()


def test_kafka_python_describes_alters_and_lists_config_resources(admin, kp_admin):
    create(admin, "kp-configs", {"retention.ms": "60000"})
    modified = kp_admin.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, "kp-configs")])
    assert modified["topic"]["kp-configs"]["retention.ms"]["value"] == "60000"
    assert set(modified["topic"]["kp-configs"]) == {"retention.ms"}, "only values that differ from the default"
    dynamic = kp_admin.describe_configs([KpConfigResource(ConfigResourceType.BROKER, "1")], config_filter="dynamic")
    assert "log.segment.bytes" in dynamic["broker"]["1"] and "listeners" not in dynamic["broker"]["1"]
    result = kp_admin.alter_configs([KpConfigResource(ConfigResourceType.BROKER, "1", configs={"log.segment.bytes": "2097152"})])
    assert result["broker"]["1"] == "OK"
    try:
        assert describe(admin, ConfigResource.Type.TOPIC, "kp-configs")["segment.bytes"].value == "2097152"
    finally:
        kp_admin.alter_configs([KpConfigResource(ConfigResourceType.BROKER, "1", configs={"log.segment.bytes": ("DELETE", None)})])
    incremental(admin, ConfigResource.Type.GROUP, "kp-group", ("consumer.heartbeat.interval.ms", "7000", AlterConfigOpType.SET))
    listed = kp_admin.list_config_resources()
    assert "kp-configs" in listed["topic"]
    assert listed["broker"] == ["1"]
    assert "kp-group" in listed["group"], "groups with configs are listed though they have no members"
    assert kp_admin.list_config_resources(["GROUP"]) == {"group": listed["group"]}
