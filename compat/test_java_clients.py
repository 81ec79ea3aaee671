"""Apache Kafka's Java client (kafka-clients 4.4.0, compat/java) against the real tidelog
binary: the seeds' producer and consumer examples, the reliable keyed producer (acks=all, idempotent) with each codec, seek and
replay by offset and by timestamp, a manual-commit group member committing on revoke
while the group rebalances mid-stream (classic and KIP-848 protocols), the AdminClient's
topic, config, group, offset and record administration, and transactions:
consume-transform-produce with sendOffsetsToTransaction and a fenced zombie."""
import subprocess
import time
from collections import defaultdict

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from kafka.protocol.metadata.api_versions import ApiVersionsRequest

import java_programs
from client_processes import FAST_GROUPS, MemberProcess, create_topic, rebalance_mid_stream_reads_each_record_once
from conftest import Broker, WireClient, wait_for

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


@pytest.fixture(scope="module", autouse=True)
def programs():
    java_programs.build()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # One broker for the module: every test uses topics and groups of its own. The
    # consumer protocol's heartbeat is short so its rebalances are quick.
    b = Broker(tmp_path_factory.mktemp("java") / "data",
               FAST_GROUPS + ["group.consumer.heartbeat.interval.ms=500"]).start()
    yield b
    b.stop()


def test_keyed_idempotent_producer_each_codec(broker):
    for codec in CODECS:
        create_topic(broker.bootstrap, f"java-{codec}", 3)
    delivered = java_programs.run("produce", broker.bootstrap, topic_prefix="java", codecs=",".join(CODECS), count=90)
    consumed = java_programs.run("consume", broker.bootstrap, topics=",".join(f"java-{c}" for c in CODECS))
    for codec in CODECS:
        sent, read = delivered[codec], consumed[f"java-{codec}"]
        assert len(sent) == 90, codec

        def fields(r):
            return r["partition"], r["offset"], r["key"], r["value"], r["timestamp"]

        assert sorted(map(fields, read)) == sorted(map(fields, sent)), codec
        by_partition = defaultdict(list)
        key_partitions = defaultdict(set)
        for r in read:
            by_partition[r["partition"]].append(r)
            key_partitions[r["key"]].add(r["partition"])
        for rows in by_partition.values():
            # Offsets are dense from 0 and follow the send order of the partition.
            assert [r["offset"] for r in rows] == list(range(len(rows))), codec
            assert [r["value"] for r in rows] == sorted(r["value"] for r in rows), codec
        assert len(key_partitions) == 7 and all(len(ps) == 1 for ps in key_partitions.values()), "one key, one partition"
        assert len(by_partition) > 1, "7 keys spread over more than one partition"


def test_seek_replay_from_offset_and_timestamp(broker):
    create_topic(broker.bootstrap, "java-seek", 1)
    base = int(time.time() * 1000) - 60_000
    java_programs.run("produce", broker.bootstrap, topic_prefix="java-seek", codecs="lz4", count=20, timestamp=base)
    out = java_programs.run("seek", broker.bootstrap, topic="java-seek-lz4", offset=7, after_milli=base + 12_500)
    everything = out["everything"]
    assert [r["offset"] for r in everything] == list(range(20))
    assert [r["timestamp"] for r in everything] == [base + i * 1000 for i in range(20)]
    assert out["from_offset"] == everything[7:]
    assert (out["found_offset"], out["found_timestamp"]) == (13, base + 13_000)
    assert out["from_time"] == everything[13:]
    assert out["replay"] == everything


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_group_rebalance_mid_stream_with_commit_on_revoke(broker, protocol):
    group = f"java-g-{protocol}"

    def start(name):
        return MemberProcess(java_programs.command("member", broker.bootstrap, group=group, topic=group,
                                                   protocol=protocol), name)

    members = rebalance_mid_stream_reads_each_record_once(broker.bootstrap, group, group, 6, start)
    assert all(m.of("revoked") for m in members), "every member revoked (and committed) at least once"
    assert not [e for m in members for e in m.of("revoked") if e["commit_error"]]
    assert not [e for m in members for e in m.of("lost")], "no member lost its partitions"


def test_admin_topics_configs_groups_offsets_records(broker):
    out = java_programs.run("admin", broker.bootstrap, topic="java-admin", group="java-admin-g")
    errors = {k: v for k, v in out.items() if k.endswith("_error") and v and k not in ("create_again_error", "delete_again_error")}
    assert not errors, errors
    assert out["create"] == 3
    assert "TopicExistsException" in out["create_again_error"]
    assert out["describe"] == {"partitions": 3, "internal": False, "leaders": 1}
    assert out["configs_before"]["retention.ms"] == {"value": "120000", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert out["configs_before"]["cleanup.policy"] == {"value": "delete", "source": "DEFAULT_CONFIG"}
    assert out["configs_after"]["retention.ms"] == {"value": "60000", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert out["configs_after"]["cleanup.policy"] == {"value": "compact", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert out["list_offsets_of_group"] == {"java-admin-0": {"offset": 7, "metadata": "from-admin"}}
    listed = {g["group_id"]: g for g in out["list_groups"]}
    assert (listed["java-admin-g"]["type"], listed["java-admin-g"]["state"]) == ("Classic", "Empty"), listed
    assert out["describe_group"]["state"] == "Empty" and out["describe_group"]["members"] == 0
    assert out["delete_records"] == 4
    assert (out["earliest_offset"], out["latest_offset"]) == (4, 10)
    assert out["cluster"]["nodes"] == 1 and out["cluster"]["cluster_id"]
    # describeFeatures reads ApiVersions v3+: the Java client sees the feature levels the
    # broker advertises, as kafka-python's own decoding of that response has them.
    wire = WireClient(broker.bootstrap)
    try:
        versions = wire.send(ApiVersionsRequest(min_version=3, max_version=3, client_software_name="compat",
                                                client_software_version="0"))
    finally:
        wire.close()
    assert out["features"] == {
        "supported": {f.name: {"min": f.min_version, "max": f.max_version} for f in versions.supported_features},
        "finalized": {f.name: f.max_version_level for f in versions.finalized_features},
    }
    assert out["listed_after_delete"] is False
    assert "UnknownTopicOrPartitionException" in out["delete_again_error"]


def test_transactions_consume_transform_produce_and_a_fenced_zombie(broker):
    for topic, partitions in (("java-tx-in", 3), ("java-tx-out", 3), ("java-tx-zombie", 1)):
        create_topic(broker.bootstrap, topic, partitions)
    out = java_programs.run("transactions", broker.bootstrap, input="java-tx-in", output="java-tx-out",
                            group="java-tx", zombie_topic="java-tx-zombie", count=50)
    expected = sorted("WORD-%03d" % i for i in range(50))
    assert out["transformed"] == 50 and out["transactions"] >= 5, "at most 10 records a poll, a transaction a poll"
    assert sorted(r["value"] for r in out["output_read_committed"]) == expected
    assert sorted(r["value"] for r in out["output_read_uncommitted"]) == sorted(expected + ["ABORTED"])
    assert out["group_committed_total"] == 50, "the offsets sent with the transactions were committed"
    # The zombie's late send fails (its epoch is old), and it can neither commit nor abort.
    assert out["zombie_send_error"], out
    assert "ProducerFencedException" in (out["zombie_commit_error"] or "") + (out["zombie_abort_error"] or ""), out
    assert [r["value"] for r in out["zombie_topic_read_committed"]] == ["from-successor"]
    everything = [r["value"] for r in out["zombie_topic_read_uncommitted"]]
    assert {"from-zombie", "from-successor", "successor-aborted"} <= set(everything)
    assert "late-from-zombie" not in everything


def test_seed_producer_and_consumer_examples(broker, tmp_path):
    """The seeds' KafkaProducerExample sends one order synchronously and one with a
    callback (to a topic it auto-creates); the seeds' KafkaConsumerExample, which polls
    forever, processes both and commits each one synchronously; then it is stopped."""
    address = [("bootstrap.servers", broker.bootstrap)]
    sent = subprocess.run(java_programs.java("seeds.KafkaProducerExample", properties=address),
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr[-3000:]
    assert sent.stdout.splitlines() == ["Sent to partition 0, offset 0", "Success: 1"], sent.stderr[-3000:]
    output = tmp_path / "consumer.out"
    with open(output, "w") as out:
        consumer = subprocess.Popen(java_programs.java("seeds.KafkaConsumerExample", properties=address),
                                    stdout=out, stderr=subprocess.STDOUT, text=True)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    def committed():
        group = ConsumerGroupTopicPartitions("order-processor")
        offsets = admin.list_consumer_group_offsets([group])["order-processor"].result(10).topic_partitions
        return {(tp.topic, tp.partition): tp.offset for tp in offsets if tp.offset >= 0}

    try:
        wait_for(lambda: committed() == {("orders", 0): 2} or consumer.poll() is not None, 60, "both orders committed")
    finally:
        consumer.kill()
        consumer.wait(10)
    assert committed() == {("orders", 0): 2}, output.read_text()[-3000:]
    assert output.read_text().count("Processing order: order-123") == 2, output.read_text()[-3000:]
