"""kafka-python (a pure-Python client with its own protocol code) against tidelog."""
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def producer(broker, **conf):
    # kafka-python 3's defaults, idempotence included.
    return KafkaProducer(bootstrap_servers=broker.bootstrap, **conf)


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)


def read_all(broker, topic, partitions, count, timeout=30):
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, consumer_timeout_ms=2000)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=500).values():
            out.extend((r.partition, r.offset, r.key, r.value) for r in records)
    c.close()
    assert len(out) == count, f"got {len(out)} of {count}"
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_each_codec(broker, codec):
    topic = f"kp-{codec or 'none'}"
    admin(broker).create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    p = producer(broker, compression_type=codec, acks="all", linger_ms=5)
    sent = []
    for i in range(50):
        md = p.send(topic, key=f"k{i % 5}".encode(), value=f"v{i}".encode(), partition=i % 2).get(timeout=20)
        sent.append((md.partition, md.offset, f"k{i % 5}".encode(), f"v{i}".encode()))
    p.close()
    got = read_all(broker, topic, 2, 50)
    assert sorted(got) == sorted(sent)
    for partition in (0, 1):
        offsets = [o for p_, o, _, _ in got if p_ == partition]
        assert offsets == sorted(offsets) == list(range(25))


def test_admin_topics_and_configs(broker):
    a = admin(broker)
    a.create_topics([NewTopic("kpa", num_partitions=1, replication_factor=1, topic_configs={"retention.ms": "60000"})])
    with pytest.raises(TopicAlreadyExistsError):
        a.create_topics([NewTopic("kpa", num_partitions=1, replication_factor=1)])
    assert "kpa" in a.list_topics()
    described = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kpa")])
    retention = described["topic"]["kpa"]["retention.ms"]
    assert (retention["value"], retention["config_source"]) == ("60000", "DYNAMIC_TOPIC_CONFIG")
    a.create_partitions({"kpa": NewPartitions(total_count=3)})
    assert len(a.describe_topics(["kpa"])[0]["partitions"]) == 3
    a.delete_topics(["kpa"])
    assert "kpa" not in a.list_topics()
    with pytest.raises(UnknownTopicOrPartitionError):
        a.delete_topics(["kpa"])


def test_offsets_by_time_and_end_offsets(broker):
    p = producer(broker)
    base = int(time.time() * 1000) - 30_000
    for i in range(10):
        p.send("kp-times", value=b"x", partition=0, timestamp_ms=base + i * 1000).get(timeout=20)
    p.close()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    tp = TopicPartition("kp-times", 0)
    assert c.end_offsets([tp])[tp] == 10
    assert c.beginning_offsets([tp])[tp] == 0
    assert c.offsets_for_times({tp: base + 3_500})[tp].offset == 4
    c.close()
