"""confluent-kafka (librdkafka) against the real tidelog binary: the producer and
consumer programs of any Kafka tutorial, AdminClient, restart, and kill -9 during
acks=all produce."""
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def create_topic(bootstrap, name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])
    futures[name].result(timeout=20)


def produce(bootstrap, topic, records, **conf):
    """records: (key, value, partition-or-None). Returns delivered (partition, offset, key, value)."""
    delivered = []

    def on_delivery(err, msg):
        assert err is None, err
        delivered.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    p = Producer({"bootstrap.servers": bootstrap, **conf})
    for key, value, partition in records:
        kwargs = {"key": key, "value": value, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        p.produce(topic, **kwargs)
        p.poll(0)
    assert p.flush(30) == 0
    return delivered


def consume_all(bootstrap, topic, partitions, expected_count, timeout=30):
    """Reads every partition from the beginning with assign(); no consumer group."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compat-unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < expected_count and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        out.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
    c.close()
    assert len(out) == expected_count, f"got {len(out)} of {expected_count}"
    return out


def per_partition(rows):
    parts = {}
    for partition, offset, key, value in rows:
        parts.setdefault(partition, []).append((offset, key, value))
    return {p: sorted(v) for p, v in parts.items()}


@pytest.mark.parametrize("codec", CODECS)
def test_keyed_and_unkeyed_produce_consume_in_order(broker, codec):
    topic = f"cfk-{codec}"
    create_topic(broker.bootstrap, topic, partitions=3)
    keyed = [(f"user-{i % 7}".encode(), f"keyed-{i}".encode(), None) for i in range(60)]
    unkeyed = [(None, f"plain-{i}".encode() * 5, None) for i in range(40)]
    delivered = produce(broker.bootstrap, topic, keyed + unkeyed, **{"compression.type": codec, "linger.ms": 5, "acks": "all"})
    consumed = consume_all(broker.bootstrap, topic, 3, len(delivered))
    assert per_partition(consumed) == per_partition(delivered)
    # Keyed records: one key always lands on one partition (client-side murmur2 partitioner).
    key_partitions = {}
    for partition, _, key, _ in consumed:
        if key is not None:
            key_partitions.setdefault(key, set()).add(partition)
    assert all(len(ps) == 1 for ps in key_partitions.values())
    # Per-partition order is the send order.
    for partition, rows in per_partition(consumed).items():
        sent = [v for p, _, _, v in sorted(delivered, key=lambda d: (d[0], d[1])) if p == partition]
        assert [v for _, _, v in rows] == sent


def test_metadata_lists_topics_and_the_broker(broker):
    create_topic(broker.bootstrap, "meta-a", partitions=4)
    create_topic(broker.bootstrap, "meta-b", partitions=1)
    md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
    assert {"meta-a", "meta-b"} <= set(md.topics)
    assert len(md.topics["meta-a"].partitions) == 4
    assert [b.port for b in md.brokers.values()] == [broker.port]
    assert md.topics["meta-a"].partitions[0].leader == list(md.brokers)[0]
    assert md.cluster_id


def test_admin_create_describe_delete(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    fs = admin.create_topics([NewTopic("adm", 2, 1, config={"retention.ms": "120000", "segment.bytes": "1048576"})])
    fs["adm"].result(10)
    with pytest.raises(KafkaException) as dup:
        admin.create_topics([NewTopic("adm", 2, 1)])["adm"].result(10)
    assert dup.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    with pytest.raises(KafkaException) as bad:
        admin.create_topics([NewTopic("bad/name", 1, 1)])["bad/name"].result(10)
    assert bad.value.args[0].code() == KafkaError.TOPIC_EXCEPTION
    # validate_only creates nothing
    admin.create_topics([NewTopic("dry", 1, 1)], validate_only=True)["dry"].result(10)
    assert "dry" not in admin.list_topics(timeout=10).topics

    res = ConfigResource(ConfigResource.Type.TOPIC, "adm")
    configs = admin.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "120000"
    assert configs["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert configs["segment.bytes"].value == "1048576"
    assert configs["cleanup.policy"].value == "delete"
    assert configs["max.message.bytes"].source == 5  # DEFAULT_CONFIG
    broker_res = ConfigResource(ConfigResource.Type.BROKER, "1")
    broker_configs = admin.describe_configs([broker_res])[broker_res].result(10)
    assert broker_configs["auto.create.topics.enable"].value == "true"

    admin.create_partitions([NewPartitions("adm", 6)])["adm"].result(10)
    assert len(admin.list_topics(timeout=10).topics["adm"].partitions) == 6

    admin.delete_topics(["adm"])["adm"].result(10)
    assert "adm" not in admin.list_topics(timeout=10).topics
    with pytest.raises(KafkaException) as gone:
        admin.delete_topics(["adm"])["adm"].result(10)
    assert gone.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_offsets_for_times_and_watermarks(broker):
    create_topic(broker.bootstrap, "times", 1)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    base = int(time.time() * 1000) - 60_000
    for i in range(20):
        p.produce("times", value=b"v%d" % i, partition=0, timestamp=base + i * 1000)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "compat-unused"})
    assert c.get_watermark_offsets(TopicPartition("times", 0), timeout=10) == (0, 20)
    found = c.offsets_for_times([TopicPartition("times", 0, base + 7_500)], timeout=10)
    assert found[0].offset == 8
    beyond = c.offsets_for_times([TopicPartition("times", 0, base + 999_999)], timeout=10)
    assert beyond[0].offset == -1
    c.close()


def test_restart_reads_everything_again(make_broker):
    broker = make_broker(["log.segment.bytes=4096"])
    create_topic(broker.bootstrap, "persist", 2)
    records = [(f"k{i}".encode(), f"value-{i}".encode() * 10, i % 2) for i in range(500)]
    delivered = produce(broker.bootstrap, "persist", records, acks="all", **{"compression.type": "lz4"})
    broker.restart()
    assert per_partition(consume_all(broker.bootstrap, "persist", 2, 500)) == per_partition(delivered)
    # New records continue the offsets.
    more = produce(broker.bootstrap, "persist", [(b"k", b"after", 0)])
    assert more[0][1] == 250


def test_kill_9_during_acks_all_loses_and_duplicates_nothing(make_broker):
    broker = make_broker()
    create_topic(broker.bootstrap, "crash", 3)
    acked, errors = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def on_delivery(err, msg):
        with lock:
            (errors if err else acked).append(msg.value())

    def run():
        # No retries: a retried batch whose first ack was lost would be a legitimate
        # duplicate without idempotence; here every acked value must appear exactly once.
        p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "retries": 0,
                      "enable.idempotence": False, "linger.ms": 2, "message.timeout.ms": 5000})
        i = 0
        while not stop.is_set():
            try:
                p.produce("crash", value=b"%08d" % i, key=b"%d" % (i % 11), on_delivery=on_delivery)
                i += 1
            except BufferError:
                pass
            p.poll(0.001)
        p.flush(10)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 3000:
                break
        time.sleep(0.01)
    broker.kill()
    stop.set()
    t.join(30)
    assert len(acked) >= 3000
    broker.start()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "compat-unused"})
    total = sum(c.get_watermark_offsets(TopicPartition("crash", p), timeout=10)[1] for p in range(3))
    c.close()
    consumed = consume_all(broker.bootstrap, "crash", 3, total)
    values = [v for _, _, _, v in consumed]
    assert len(values) == len(set(values)), "a record appears twice"
    missing = set(acked) - set(values)
    assert not missing, f"{len(missing)} acknowledged records lost"
    # Per partition, values (sequence numbers) increase: the order of sending.
    for partition, rows in per_partition(consumed).items():
        seq = [int(v) for _, _, v in rows]
        assert seq == sorted(seq), f"partition {partition} out of order"


def test_describe_cluster(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    cluster = admin.describe_cluster(request_timeout=10).result(10)
    assert cluster.cluster_id
    assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(1, "127.0.0.1", broker.port)]
    assert cluster.controller.id == 1
