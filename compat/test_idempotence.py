"""Idempotent producers: the default producers of kafka-python and librdkafka's
enable.idempotence, including retries across a broker kill -9 (no duplicates, order kept)."""
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition


def read_values(bootstrap, topic, partitions, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "idem-unused", "enable.auto.commit": False})
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = {p: [] for p in range(partitions)}
    deadline = time.monotonic() + timeout
    while sum(len(v) for v in out.values()) < sum(ends.values()) and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            out[msg.partition()].append(msg.value())
    c.close()
    return out


def test_kafka_python_default_producer_is_idempotent(broker):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap)  # idempotence on by default
    assert p.config["enable_idempotence"]
    for i in range(100):
        p.send("kp-idem", value=b"%03d" % i, partition=0)
    p.flush(30)
    p.close()
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=3000)
    tp = KpTopicPartition("kp-idem", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = [m.value for m in c]
    c.close()
    assert got == [b"%03d" % i for i in range(100)]


def test_idempotent_retries_across_kill_9_create_no_duplicates(make_broker):
    broker = make_broker()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic("idem", 2)])["idem"].result(10)
    acked = []
    failed = []
    lock = threading.Lock()
    stop = threading.Event()

    def on_delivery(err, msg):
        with lock:
            (failed if err else acked).append(msg.value())

    def produce():
        p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 5, "message.timeout.ms": 60000, "retry.backoff.ms": 100})
        i = 0
        while not stop.is_set():
            try:
                p.produce("idem", value=b"%08d" % i, partition=i % 2, on_delivery=on_delivery)
                i += 1
            except BufferError:
                pass
            p.poll(0.001 if i % 200 else 0.01)
        assert p.flush(60) == 0

    t = threading.Thread(target=produce)
    t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    broker.kill()
    time.sleep(0.5)  # the producer keeps sending into a dead broker: these must be retried
    broker.start()
    more = len(acked) + 2000
    while len(acked) < more and time.monotonic() < deadline + 30:
        time.sleep(0.01)
    stop.set()
    t.join(90)
    assert not failed, f"{len(failed)} deliveries failed"
    values = read_values(broker.bootstrap, "idem", 2)
    for partition, vals in values.items():
        seq = [int(v) for v in vals]
        assert len(seq) == len(set(seq)), f"partition {partition}: duplicates after retries"
        assert seq == sorted(seq), f"partition {partition}: order broken"
    stored = {v for vals in values.values() for v in vals}
    assert set(acked) <= stored, "an acknowledged record is missing"
