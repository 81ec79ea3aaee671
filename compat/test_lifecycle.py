"""Topic configs, retention and record deletion with real admin clients."""
import os
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType, KafkaAdminClient

from conftest import wait_for



def describe(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res])[res].result(10)


def test_incremental_and_full_alter_configs(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("cfg", 1)])["cfg"].result(10)
    res = ConfigResource(ConfigResource.Type.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
    ])
    admin.incremental_alter_configs([res])[res].result(10)
    configs = describe(admin, "cfg")
    assert configs["retention.ms"].value == "3600000" and configs["retention.ms"].source == 1
    assert configs["cleanup.policy"].value == "delete,compact"

    bad = ConfigResource(ConfigResource.Type.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.ms", "-7", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as err:
        admin.incremental_alter_configs([bad])[bad].result(10)
    assert "retention.ms" in str(err.value)
    assert describe(admin, "cfg")["retention.ms"].value == "3600000", "a refused change changes nothing"

    delete = ConfigResource(ConfigResource.Type.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    admin.incremental_alter_configs([delete])[delete].result(10)
    assert describe(admin, "cfg")["retention.ms"].source == 5, "back to the default"

    # kafka-python sets a value.
    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    kp.alter_configs([KpConfigResource(ConfigResourceType.TOPIC, "cfg", configs={"segment.ms": "600000"})])
    assert describe(admin, "cfg")["segment.ms"].value == "600000"
    kp.close()
    # AlterConfigs (not incremental) replaces the whole set of overrides.
    full = ConfigResource(ConfigResource.Type.TOPIC, "cfg", set_config={"max.message.bytes": "2048"})
    admin.alter_configs([full])[full].result(10)
    configs = describe(admin, "cfg")
    assert configs["max.message.bytes"].value == "2048"
    assert configs["cleanup.policy"].value == "delete", "overrides not named were removed"
    assert configs["segment.ms"].source == 5

    # The new limit is in force for produce.
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none"})
    errors = []
    p.produce("cfg", value=b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert errors and errors[0] is not None and errors[0].code() == 10  # MSG_SIZE_TOO_LARGE


def test_retention_removes_old_segments_and_consumers_reset(make_broker):
    broker = make_broker(["log.retention.check.interval.ms=100"])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("old", 1, config={"segment.bytes": "2048", "retention.ms": "60000"})])["old"].result(10)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    stale = int(time.time() * 1000) - 600_000
    for i in range(40):
        p.produce("old", value=b"stale-%02d" % i + b"." * 200, partition=0, timestamp=stale)
    for i in range(5):
        p.produce("old", value=b"fresh-%d" % i, partition=0)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "ret", "auto.offset.reset": "earliest"})
    tp = TopicPartition("old", 0)
    wait_for(lambda: c.get_watermark_offsets(tp, timeout=5)[0] > 0, 20, "retention to advance the log start")
    low, high = c.get_watermark_offsets(tp, timeout=5)
    assert high == 45 and low >= 30, (low, high)
    # A consumer asking for offset 0 is out of range and follows auto.offset.reset.
    c.assign([TopicPartition("old", 0, 0)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < high - low and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.offset())
    c.close()
    assert got[0] == low and got[-1] == 44


def test_delete_records_moves_the_log_start_durably(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("del", 2)])["del"].result(10)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(20):
        p.produce("del", value=b"%d" % i, partition=i % 2)
    assert p.flush(10) == 0
    result = admin.delete_records([TopicPartition("del", 0, 4), TopicPartition("del", 1, -1)])
    assert result[TopicPartition("del", 0)].result(10).low_watermark == 4
    assert result[TopicPartition("del", 1)].result(10).low_watermark == 10
    broker.restart()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "del"})
    assert c.get_watermark_offsets(TopicPartition("del", 0), timeout=10) == (4, 10)
    assert c.get_watermark_offsets(TopicPartition("del", 1), timeout=10) == (10, 10)
    c.close()
    with pytest.raises(KafkaException):
        admin.delete_records([TopicPartition("del", 0, 99)])[TopicPartition("del", 0)].result(10)


def test_compacted_topic_reads_back_one_value_per_key(make_broker):
    broker = make_broker(["log.retention.check.interval.ms=100"])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("latest", 1, config={"cleanup.policy": "compact", "segment.bytes": "1024"})])["latest"].result(10)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "compression.type": "lz4"})
    for version in range(20):
        for key in range(10):
            p.produce("latest", key=b"key-%d" % key, value=b"v%02d" % version, partition=0)
        p.flush(10)
    p.produce("latest", key=b"key-3", value=None, partition=0)  # tombstone
    for i in range(30):  # incompressible, one batch each: the tombstone's segment surely rolls
        p.produce("latest", key=b"filler-%d" % i, value=os.urandom(100), partition=0)
        p.flush(10)

    def read_all():
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "compact-reader", "enable.auto.commit": False})
        c.assign([TopicPartition("latest", 0, 0)])
        rows = []
        while True:
            msg = c.poll(1.0)
            if msg is None:
                break
            if not msg.error():
                rows.append((msg.offset(), msg.key(), msg.value()))
        c.close()
        return rows

    deadline = time.monotonic() + 30
    rows = read_all()
    while sum(1 for _, k, _ in rows if k.startswith(b"key-")) > 11 and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = read_all()
    keyed = [(o, k, v) for o, k, v in rows if k.startswith(b"key-")]
    latest = {}
    for o, k, v in keyed:
        latest[k] = v
    assert len(keyed) <= 11, f"{len(keyed)} keyed records after compaction"
    assert all(latest[b"key-%d" % k] == b"v19" for k in range(10) if k != 3)
    assert latest[b"key-3"] is None, "the tombstone is kept for delete.retention.ms"
    assert [o for o, _, _ in rows] == sorted(o for o, _, _ in rows), "offsets keep their order"
    assert rows[-1][0] == 230, "offsets never change"


def test_log_append_time_topics_and_log_dirs(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("lat", 1, config={"message.timestamp.type": "LogAppendTime"})])["lat"].result(10)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce("lat", value=b"x", timestamp=1000, partition=0)  # the client's timestamp is replaced
    assert p.flush(10) == 0
    before = int(time.time() * 1000) - 60_000
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "lat"})
    c.assign([TopicPartition("lat", 0, 0)])
    msg = c.poll(10)
    c.close()
    kind, ts = msg.timestamp()
    assert kind == 2 and ts > before, (kind, ts)  # TIMESTAMP_LOG_APPEND_TIME, the broker's clock

    from kafka.admin import KafkaAdminClient
    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    dirs = kp.describe_log_dirs()
    kp.close()
    text = repr(dirs)
    assert "lat" in text and str(broker.data_dir) in text, text[:500]
