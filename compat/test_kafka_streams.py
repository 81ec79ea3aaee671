"""Kafka Streams 4.4.0 against the real tidelog binary: the seeds' word count with its
5-minute windowed count (compat/java WordCount.java), with exactly-once v2. One instance
counts a first batch; it stops and is started again on an empty state directory, so it
must restore its counts from the changelog and resume from its committed offsets; then,
while lines keep arriving, it is killed with SIGKILL and a replacement on yet another
empty state directory takes over. Every count must be exact at each step: nothing
counted twice, nothing lost."""
import struct
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import java_programs
from client_processes import FAST_GROUPS, MemberProcess, create_topic
from conftest import Broker, wait_for

WINDOW_MS = 5 * 60 * 1000
TOPICS = {"input-topic": 2, "output-topic": 2, "windowed-output-topic": 2}


@pytest.fixture(scope="module", autouse=True)
def programs():
    java_programs.build()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("streams") / "data", FAST_GROUPS).start()
    yield b
    b.stop()


class Instance(MemberProcess):
    """One Kafka Streams instance of the word count, its state changes as events."""

    def __init__(self, broker, state_dir, name):
        super().__init__(java_programs.command("wordcount", broker.bootstrap, state_dir=state_dir), name)

    def states(self):
        return [e["state"] for e in self.of("state")]

    def wait_running(self, timeout=60):
        wait_for(lambda: "RUNNING" in self.states() or self.of("error") or self.proc.poll() is not None, timeout,
                 f"{self.name} RUNNING")
        assert "RUNNING" in self.states(), (self.events, "".join(self.stderr)[-4000:])


class Counts:
    """What a read_committed reader of the two output topics sees: the latest count per
    word and per word@windowStart."""

    def __init__(self, bootstrap):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "streams-test-reader",
                                  "isolation.level": "read_committed", "enable.auto.commit": False})
        self.consumer.assign([TopicPartition(t, p, 0) for t in ("output-topic", "windowed-output-topic")
                              for p in range(TOPICS[t])])
        self.latest = {"output-topic": {}, "windowed-output-topic": {}}

    def read(self):
        for m in self.consumer.consume(500, 0.2):
            assert m.error() is None, m.error()
            self.latest[m.topic()][m.key().decode()] = struct.unpack(">q", m.value())[0]
        return self.latest

    def close(self):
        self.consumer.close()


def committed_input_offsets(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    group = ConsumerGroupTopicPartitions("word-count-app")
    committed = admin.list_consumer_group_offsets([group])["word-count-app"].result(10)
    return sum(tp.offset for tp in committed.topic_partitions if tp.topic == "input-topic")


def lines_of(batch, n):
    """n lines of three lower-case words each, from a small vocabulary so counts grow."""
    words = ["tide", "log", "stream", "kafka", "count", "window", "exactly", "once"]
    return [" ".join(words[(batch * 3 + i + j) % len(words)] for j in range(3)) for i in range(n)]


class LineProducer:
    def __init__(self, bootstrap):
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        self.words, self.windowed = Counter(), Counter()
        self.lines = 0

    def send(self, lines, timestamp_ms):
        for i, line in enumerate(lines):
            self.producer.produce("input-topic", key=f"line-{i}", value=line, timestamp=timestamp_ms)
            self.producer.poll(0)
            window = timestamp_ms - timestamp_ms % WINDOW_MS
            for word in line.split():
                self.words[word] += 1
                self.windowed[f"{word}@{window}"] += 1
        assert self.producer.flush(20) == 0
        self.lines += len(lines)

    def expected(self):
        return {"output-topic": dict(self.words), "windowed-output-topic": dict(self.windowed)}


def test_word_count_exactly_once_restart_and_replacement(broker, tmp_path):
    for topic, partitions in TOPICS.items():
        create_topic(broker.bootstrap, topic, partitions)
    now = int(time.time() * 1000)
    window = now - now % WINDOW_MS - 6 * WINDOW_MS  # each batch a window of its own, in the past
    producer = LineProducer(broker.bootstrap)
    counts = Counts(broker.bootstrap)
    instances = []
    halt = threading.Event()
    try:
        # 1. One instance counts the first batch.
        first = Instance(broker, tmp_path / "state-1", "instance-1")
        instances.append(first)
        first.wait_running()
        producer.send(lines_of(0, 40), window + 60_000)
        wait_for(lambda: counts.read() == producer.expected(), 60, "the first batch counted")

        # 2. It stops; lines arrive meanwhile; it starts again with no local state.
        first.close(60)
        assert first.of("closed")[-1]["state"] == "NOT_RUNNING"
        # It committed its input offsets: a restart reads only new lines, so the counts of
        # the first batch can come back only from the changelog.
        assert committed_input_offsets(broker.bootstrap) == 40
        producer.send(lines_of(1, 40), window + WINDOW_MS + 60_000)
        restarted = Instance(broker, tmp_path / "state-2", "instance-2")
        instances.append(restarted)
        restarted.wait_running()
        wait_for(lambda: counts.read() == producer.expected(), 60, "restored counts plus the second batch")

        # 3. Killed mid-stream (SIGKILL: no commit, an open transaction left behind) and
        #    replaced by an instance on a new state directory.
        third = lines_of(2, 2000)

        def steady():  # until the replacement runs, so it takes over a live stream
            for start in range(0, len(third), 5):
                if halt.is_set():
                    break
                producer.send(third[start:start + 5], window + 2 * WINDOW_MS + 60_000)
                time.sleep(0.1)

        sender = threading.Thread(target=steady, daemon=True)
        before = dict(counts.read()["output-topic"])
        sender.start()
        wait_for(lambda: counts.read()["output-topic"] != before, 30, "the third batch is being counted")
        restarted.kill()
        replacement = Instance(broker, tmp_path / "state-3", "instance-3")
        instances.append(replacement)
        replacement.wait_running(90)
        halt.set()
        sender.join(30)
        assert not sender.is_alive()
        assert producer.lines < 80 + len(third), "lines were still arriving when the replacement took over"
        wait_for(lambda: counts.read() == producer.expected(), 90, "every line counted once after the replacement")
        replacement.close(60)
        assert "ERROR" not in replacement.states()
        assert committed_input_offsets(broker.bootstrap) == producer.lines
    finally:
        halt.set()
        for instance in instances:
            instance.kill()
        counts.close()
    # After the last instance stopped: a fresh reader of everything committed agrees.
    final = Counts(broker.bootstrap)
    try:
        wait_for(lambda: final.read() == producer.expected(), 30, "a fresh reader sees the final counts")
    finally:
        final.close()
