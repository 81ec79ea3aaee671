"""Client quotas as Kafka 4.x keeps and enforces them.

AlterClientQuotas / DescribeClientQuotas go through kafka-python's own codec and connection
(its KafkaAdminClient 3.0 has the messages but no methods for them; confluent-kafka 2.16 has
neither). Enforcement is judged by librdkafka: a producer and a consumer whose client id has a
byte-rate quota must see throttle callbacks, and the rate they achieve must stay near the quota.

The broker here keeps two quota samples of one second (`quota.window.num=2`) instead of Kafka's
eleven. With eleven, a new client may take ten seconds' worth of quota at once and the oldest
sample only expires after eleven seconds, so a five-second measurement sees the burst, not the
quota. The arithmetic is the same; only the window is shorter.
"""
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from conftest import WireClient
from kafka.protocol.admin import AlterClientQuotasRequest, DescribeClientQuotasRequest

NONE, INVALID_REQUEST, UNSUPPORTED_VERSION = 0, 42, 35
MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY = 0, 1, 2
QUOTA = 256 * 1024  # bytes per second
MEASURE_SECONDS = 5.0
VALUE = b"q" * 1000


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    from conftest import Broker

    b = Broker(tmp_path_factory.mktemp("data"), settings=["quota.window.num=2"]).start()
    yield b
    b.stop()


class QuotaAdmin:
    """AlterClientQuotas / DescribeClientQuotas through kafka-python's wire codec."""

    def __init__(self, bootstrap):
        self.client = WireClient(bootstrap)

    def send(self, request):
        return self.client.send(request)

    def alter(self, entries, validate_only=False):
        """entries: [({type: name}, [(key, value or None to remove)])]"""
        wire = [
            ([(t, n) for t, n in entity.items()], [(k, 0.0 if v is None else float(v), v is None) for k, v in ops])
            for entity, ops in entries
        ]
        response = self.send(AlterClientQuotasRequest(entries=wire, validate_only=validate_only))
        return [(e.error_code, e.error_message) for e in response.entries]

    def describe(self, components, strict=False):
        """components: [(type, match_type, name)]; returns (error_code, message, {entity: {key: value}})."""
        response = self.send(DescribeClientQuotasRequest(components=components, strict=strict))
        found = {}
        for entry in response.entries or []:
            entity = tuple(sorted((e.entity_type, e.entity_name) for e in entry.entity))
            found[entity] = {v.key: v.value for v in entry.values}
        return response.error_code, response.error_message, found

    def close(self):
        self.client.close()


def test_quotas_are_altered_described_validated_and_survive_a_restart(broker):
    admin = QuotaAdmin(broker.bootstrap)
    try:
        results = admin.alter([
            ({"user": "alice"}, [("producer_byte_rate", 1024), ("request_percentage", 25.5)]),
            ({"user": "alice", "client-id": None}, [("consumer_byte_rate", 2048)]),
            ({"client-id": None}, [("producer_byte_rate", 4096)]),
            ({"user": "bob"}, [("bogus_rate", 1)]),
            ({"ip": "127.0.0.1"}, [("connection_creation_rate", 10)]),
            ({"ip": "127.0.0.1", "user": "x"}, [("connection_creation_rate", 10)]),
            ({"client-id": "frac"}, [("consumer_byte_rate", 1.5)]),
        ])
        assert results[:3] == [(NONE, None)] * 3
        assert results[3] == (INVALID_REQUEST, "Invalid configuration key bogus_rate")
        assert results[4] == (NONE, None)
        assert results[5][0] == INVALID_REQUEST
        assert results[6] == (INVALID_REQUEST, "consumer_byte_rate cannot be a fractional value.")

        # validate_only checks and stores nothing.
        assert admin.alter([({"user": "carol"}, [("producer_byte_rate", 1)])], validate_only=True) == [(NONE, None)]

        alice = (("user", "alice"),)
        alice_default_client = (("client-id", None), ("user", "alice"))
        code, _, found = admin.describe([("user", MATCH_EXACT, "alice")])
        assert code == NONE
        assert found == {
            alice: {"producer_byte_rate": 1024.0, "request_percentage": 25.5},
            alice_default_client: {"consumer_byte_rate": 2048.0},
        }
        _, _, strict = admin.describe([("user", MATCH_EXACT, "alice")], strict=True)
        assert strict == {alice: found[alice]}
        _, _, defaults = admin.describe([("client-id", MATCH_DEFAULT, None)])
        assert set(defaults) == {alice_default_client, (("client-id", None),)}
        _, _, users = admin.describe([("user", MATCH_ANY, None)], strict=True)
        assert set(users) == {alice}, "carol was only validated, bob refused"
        _, _, everything = admin.describe([])
        assert len(everything) == 4

        code, message, _ = admin.describe([("group", MATCH_ANY, None)])
        assert (code, message) == (UNSUPPORTED_VERSION, "Unsupported entity type group")
        code, _, _ = admin.describe([("ip", MATCH_ANY, None), ("user", MATCH_ANY, None)])
        assert code == INVALID_REQUEST

        # Removal, then the survivors outlive a restart (quotas are metadata).
        assert admin.alter([({"client-id": None}, [("producer_byte_rate", None)])]) == [(NONE, None)]
    finally:
        admin.close()
    broker.restart()
    admin = QuotaAdmin(broker.bootstrap)
    try:
        _, _, everything = admin.describe([])
        assert set(everything) == {alice, alice_default_client, (("ip", "127.0.0.1"),)}
        assert everything[alice] == {"producer_byte_rate": 1024.0, "request_percentage": 25.5}
        # Tidy up for the enforcement tests: anonymous clients must not hit alice's quotas anyway.
        admin.alter([({"ip": "127.0.0.1"}, [("connection_creation_rate", None)])])
    finally:
        admin.close()


def set_quota(broker, client_id, key, value):
    admin = QuotaAdmin(broker.bootstrap)
    try:
        assert admin.alter([({"client-id": client_id}, [(key, value)])]) == [(NONE, None)]
    finally:
        admin.close()


def create_topic(broker, name):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, 1)])[name].result(timeout=10)


class Throttles:
    """librdkafka's throttle callback: every throttle time a broker reported."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def __call__(self, event):
        with self.lock:
            self.events.append(event.throttle_time)


def test_a_producer_is_held_to_its_producer_byte_rate(broker):
    create_topic(broker, "quota-produce")
    set_quota(broker, "slow-producer", "producer_byte_rate", QUOTA)
    throttles = Throttles()
    acked = []
    producer = Producer({
        "bootstrap.servers": broker.bootstrap,
        "client.id": "slow-producer",
        "throttle_cb": throttles,
        "linger.ms": 5,
        "batch.size": 16384,
        "max.in.flight": 5,
        "queue.buffering.max.kbytes": 512,
    })

    def delivered(err, msg):
        if err is None:
            acked.append((time.monotonic(), len(msg.value())))

    start = time.monotonic()
    while time.monotonic() - start < MEASURE_SECONDS:
        try:
            producer.produce("quota-produce", VALUE, on_delivery=delivered)
        except BufferError:
            producer.poll(0.01)
        producer.poll(0)
    end = time.monotonic()
    producer.poll(0)
    producer.purge()
    producer.flush(10)
    observed = sum(n for t, n in acked if t <= end) / (end - start)
    print(f"\nproducer_byte_rate={QUOTA} B/s observed={observed:.0f} B/s ({observed / QUOTA:.2f}x) "
          f"over {end - start:.1f} s; throttle callbacks={len(throttles.events)} "
          f"max throttle={max(throttles.events, default=0):.3f} s")
    assert throttles.events and max(throttles.events) > 0, "librdkafka saw no throttle"
    assert 0.5 * QUOTA <= observed <= 1.5 * QUOTA


def test_a_consumer_is_held_to_its_consumer_byte_rate(broker):
    create_topic(broker, "quota-fetch")
    # Batches well under one quota window: the first batch of a fetch is returned whole
    # (KIP-74), and a batch larger than a window's worth is throttled every time, in Kafka too.
    loader = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "loader", "linger.ms": 20,
                       "batch.size": 16384})
    total = int(QUOTA * (MEASURE_SECONDS + 4))
    for _ in range(total // len(VALUE)):
        while True:
            try:
                loader.produce("quota-fetch", VALUE)
                break
            except BufferError:
                loader.poll(0.05)
    assert loader.flush(30) == 0
    set_quota(broker, "slow-consumer", "consumer_byte_rate", QUOTA)

    throttles = Throttles()
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap,
        "client.id": "slow-consumer",
        "group.id": "quota-fetch-group",
        "enable.auto.commit": False,
        "throttle_cb": throttles,
    })
    consumer.assign([TopicPartition("quota-fetch", 0, 0)])
    received = 0
    first = None
    deadline = time.monotonic() + MEASURE_SECONDS + 10
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            now = time.monotonic()
            if first is not None and now - first >= MEASURE_SECONDS:
                break
            if msg is None or msg.error():
                continue
            if first is None:
                first = now
            received += len(msg.value())
        assert first is not None, "the consumer received nothing"
        elapsed = time.monotonic() - first
    finally:
        consumer.close()
    observed = received / elapsed
    print(f"\nconsumer_byte_rate={QUOTA} B/s observed={observed:.0f} B/s ({observed / QUOTA:.2f}x) "
          f"over {elapsed:.1f} s of {total} bytes stored; throttle callbacks={len(throttles.events)} "
          f"max throttle={max(throttles.events, default=0):.3f} s")
    assert received < total, "the consumer read everything: the quota did not hold it back"
    assert throttles.events and max(throttles.events) > 0, "librdkafka saw no throttle"
    assert 0.5 * QUOTA <= observed <= 1.5 * QUOTA


def test_request_time_over_request_percentage_is_throttled(broker):
    """Any request takes more than 0.0001 % of a thread-second: every answer is throttled,
    whatever its API, and librdkafka is told so (Produce, Metadata and the rest)."""
    create_topic(broker, "quota-requests")
    set_quota(broker, "busy-client", "request_percentage", 0.0001)
    throttles = Throttles()
    producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": "busy-client",
                         "throttle_cb": throttles, "linger.ms": 0})
    start = time.monotonic()
    for _ in range(20):
        producer.produce("quota-requests", VALUE)
        producer.poll(0.05)
    assert producer.flush(30) == 0
    producer.poll(0)
    elapsed = time.monotonic() - start
    print(f"\nrequest_percentage=0.0001: {len(throttles.events)} throttle callbacks, "
          f"max {max(throttles.events, default=0):.3f} s, 20 messages in {elapsed:.1f} s")
    assert throttles.events and max(throttles.events) > 0
    # A request throttle is capped at one quota window (1 s here).
    assert max(throttles.events) <= 1.0
