"""Runs client programs written in other languages (KafkaJS, franz-go) or in other
processes (aiokafka group members) for the compatibility suite, and the one consumer
group scenario every client goes through.

Programs print JSON on stdout: a one-shot program prints one document; a group
member prints one event a line (assigned, record, revoked, lost, error, closed) and
leaves its group when its stdin closes."""
import json
import subprocess
from collections import Counter
import threading
import time

from confluent_kafka import ConsumerGroupTopicPartitions, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import wait_for

# Fast classic-group rebalances: no initial delay, short sessions allowed.
FAST_GROUPS = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"]


def run_json(args, timeout=90, cwd=None):
    """Runs a one-shot program and returns the JSON document it printed."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert done.returncode == 0, f"{args[:2]} exited {done.returncode}: {done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions)])[name].result(10)


class MemberProcess:
    """One group member in a subprocess, its events collected by a reader thread."""

    def __init__(self, args, name):
        self.name = name
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = []
        self.assigned = set()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a client's own log line on stdout
            with self.lock:
                self.events.append(event)
                if event["event"] == "assigned":
                    self.assigned |= set(event["partitions"])
                elif event["event"] in ("revoked", "lost"):
                    self.assigned -= set(event["partitions"])

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if e["event"] == kind]

    def values(self):
        return [e["record"]["value"] for e in self.of("record")]

    def close(self, timeout=30):
        """Closes stdin (the member commits and leaves) and waits for it to exit."""
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.name} did not leave within {timeout}s: {''.join(self.stderr)[-3000:]}")
        self.reader.join(5)
        assert rc == 0, f"{self.name} exited {rc}: {''.join(self.stderr)[-3000:]}"

    def log_lines(self, word):
        """The client's own log lines (stderr) that mention `word`."""
        return [line.strip() for line in self.stderr if word.lower() in line.lower()]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class SteadyProducer:
    """Produces `v00000`, `v00001`, ... round-robin over the partitions at a steady
    rate until stopped, so group members join and rebalance mid-stream."""

    def __init__(self, bootstrap, topic, partitions, per_second=200):
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "acks": "all"})
        self.topic, self.partitions, self.interval = topic, partitions, 1.0 / per_second
        self.sent = []
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self.halt.is_set():
            value = "v%05d" % i
            self.producer.produce(self.topic, value=value.encode(), partition=i % self.partitions)
            self.sent.append(value)
            self.producer.poll(0)
            i += 1
            time.sleep(self.interval)

    def stop(self):
        self.halt.set()
        self.thread.join(10)
        assert self.producer.flush(20) == 0
        return list(self.sent)


def rebalance_mid_stream_reads_each_record_once(bootstrap, group, topic, partitions, start_member):
    """Members join one by one while records keep arriving; each commits on revoke.
    Whatever was committed on revoke, the next owner must not read again, and nothing
    may be skipped: across the members, every record exactly once.

    `start_member(name)` starts a MemberProcess in `group`."""
    create_topic(bootstrap, topic, partitions)
    producer = SteadyProducer(bootstrap, topic, partitions)
    members = []
    try:
        members.append(start_member("member-1"))
        wait_for(lambda: len(members[0].values()) >= 100, 30, "member-1 reads 100 records")
        for n in (2, 3):
            members.append(start_member(f"member-{n}"))
            wait_for(lambda: members[-1].assigned and sum(len(m.assigned) for m in members) == partitions, 45,
                     f"member-{n} gets partitions in a rebalance")
            seen = len(producer.sent)
            wait_for(lambda: len(producer.sent) >= seen + 100, 10, "100 more records produced")
        sent = producer.stop()
        wait_for(lambda: len(set(v for m in members for v in m.values())) >= len(sent), 30,
                 f"all {len(sent)} records read")
        for m in members:
            m.close()
    finally:
        producer.halt.set()
        producer.thread.join(10)
        producer.producer = None  # frees librdkafka now, not when a failure's traceback goes
        for m in members:
            m.kill()
    read = [v for m in members for v in m.values()]
    # What the members saw go wrong with their commits, for the failure message.
    errors = [(m.name, e.get("commit_error") or e.get("error")) for m in members
              for e in m.of("revoked") + m.of("error") if e.get("commit_error") or e.get("error")]
    errors += [(m.name, line[:300]) for m in members for line in m.log_lines("offsetcommit")]
    duplicates = sorted(v for v, n in Counter(read).items() if n > 1)
    assert not set(sent) - set(read), "records lost"
    assert not duplicates, f"{len(duplicates)} records read twice (e.g. {duplicates[:5]}); commit errors: {errors[:6]}"
    assert sorted(read) == sorted(sent)
    # The members' last commits (on leaving) cover everything: a restart reads nothing again.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(10)
    assert sum(tp.offset for tp in committed.topic_partitions) == len(sent), (committed.topic_partitions, errors[:6])
    return members
