"""aiokafka (asyncio) against the real tidelog binary: a keyed producer with each
codec, a consumer group rebalancing mid-stream with commits on revoke, a fenced
transactional zombie, the admin client's topic life cycle, and seek / replay by offset
and by timestamp."""
import asyncio
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, ProducerFenced

from client_processes import FAST_GROUPS, MemberProcess, create_topic, rebalance_mid_stream_reads_each_record_once
from conftest import Broker

MEMBER = str(Path(__file__).resolve().parent / "aiokafka_member.py")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # One broker for the module: every test uses topics and groups of its own.
    b = Broker(tmp_path_factory.mktemp("aiokafka") / "data", FAST_GROUPS).start()
    yield b
    b.stop()


def run(coroutine, timeout=60):
    """Runs one test's client code, failing rather than hanging past `timeout`."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def read(bootstrap, topic, partitions=1, offset=None, timestamp=None, count=None, idle=2.0,
               isolation="read_uncommitted"):
    """assign() and seek: from `offset`, from the first record at or after `timestamp`,
    or from the beginning; until `count` records or `idle` seconds without one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        if timestamp is not None:
            for tp, found in (await consumer.offsets_for_times({tp: timestamp for tp in tps})).items():
                consumer.seek(tp, found.offset)
        elif offset is not None:
            for tp in tps:
                consumer.seek(tp, offset)
        else:
            await consumer.seek_to_beginning(*tps)
        out = []
        while count is None or len(out) < count:
            batches = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batches:
                break
            for records in batches.values():
                out.extend((r.partition, r.offset, r.key, r.value, r.timestamp) for r in records)
        return sorted(out)
    finally:
        await consumer.stop()


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_keyed_producer_each_codec(broker, codec):
    topic = f"aio-{codec or 'none'}"
    create_topic(broker.bootstrap, topic, 3)

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=codec, acks="all",
                                    enable_idempotence=True, linger_ms=5)
        await producer.start()
        try:
            sends = [await producer.send(topic, key=b"user-%d" % (i % 7), value=b"value-%04d" % i) for i in range(90)]
            delivered = [(md.partition, md.offset, b"user-%d" % (i % 7), b"value-%04d" % i)
                         for i, md in enumerate(await asyncio.gather(*sends))]
        finally:
            await producer.stop()
        return delivered, await read(broker.bootstrap, topic, partitions=3, count=90)

    delivered, consumed = run(scenario())
    assert sorted(delivered) == sorted(row[:4] for row in consumed)
    key_partitions = defaultdict(set)
    for partition, _, key, _ in delivered:
        key_partitions[key].add(partition)
    assert all(len(ps) == 1 for ps in key_partitions.values()), "one key, one partition"
    for p in range(3):
        rows = [row for row in consumed if row[0] == p]
        assert [row[1] for row in rows] == list(range(len(rows)))
        assert [row[3] for row in rows] == sorted(row[3] for row in rows), "send order within the partition"


def test_group_rebalance_mid_stream_with_commit_on_revoke(broker):
    def start(name):
        return MemberProcess([sys.executable, MEMBER, broker.bootstrap, "aio-g", "aio-g"], name)

    members = rebalance_mid_stream_reads_each_record_once(broker.bootstrap, "aio-g", "aio-g", 6, start)
    assert all(m.of("revoked") for m in members[:2]), "the first two members revoked (and committed) in a rebalance"


def test_transactions_fence_the_zombie(broker):
    create_topic(broker.bootstrap, "aio-tx", 1)

    async def scenario():
        def transactional():
            return AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-zombie",
                                    request_timeout_ms=10000)
        zombie = transactional()
        await zombie.start()  # InitProducerId
        await zombie.begin_transaction()
        await zombie.send_and_wait("aio-tx", b"from-zombie")
        successor = transactional()
        await successor.start()  # a newer epoch: fences the zombie
        async with successor.transaction():
            await successor.send_and_wait("aio-tx", b"from-successor")
        await successor.begin_transaction()
        await successor.send_and_wait("aio-tx", b"successor-aborted")
        await successor.abort_transaction()
        await successor.stop()
        errors = []
        try:
            await zombie.send_and_wait("aio-tx", b"late-from-zombie")
            await zombie.commit_transaction()
        except KafkaError as e:
            errors.append(e)
        finally:
            try:
                await zombie.stop()
            except KafkaError:
                pass
        return errors

    errors = run(scenario())
    assert len(errors) == 1 and isinstance(errors[0], ProducerFenced), errors
    committed = run(read(broker.bootstrap, "aio-tx", isolation="read_committed"))
    assert [row[3] for row in committed] == [b"from-successor"]
    everything = [row[3] for row in run(read(broker.bootstrap, "aio-tx"))]
    assert {b"from-zombie", b"from-successor", b"successor-aborted"} <= set(everything)
    assert b"late-from-zombie" not in everything


def test_admin_create_describe_alter_delete(broker):
    topic = "aio-admin"
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)

    async def configs(admin):
        [described] = await admin.describe_configs([resource])
        [res] = described.to_object()["resources"]
        assert res["error_code"] == 0, res
        return {e["config_names"]: e for e in res["config_entries"]}

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
        await admin.start()
        try:
            out = {}
            new = NewTopic(topic, num_partitions=3, replication_factor=1, topic_configs={"retention.ms": "120000"})
            out["created"] = (await admin.create_topics([new])).to_object()["topic_errors"]
            out["created_again"] = (await admin.create_topics([new])).to_object()["topic_errors"]
            out["described"] = await admin.describe_topics([topic])
            out["before"] = await configs(admin)
            altered = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={
                "retention.ms": "60000", "cleanup.policy": "compact"})])
            out["altered"] = [r.to_object() for r in altered]
            out["after"] = await configs(admin)
            out["deleted"] = (await admin.delete_topics([topic])).to_object()
            out["listed_after_delete"] = topic in await admin.list_topics()
            out["deleted_again"] = (await admin.delete_topics([topic])).to_object()
            return out
        finally:
            await admin.close()

    out = run(scenario())
    assert [(t["topic"], t["error_code"]) for t in out["created"]] == [(topic, 0)]
    assert [(t["topic"], t["error_code"]) for t in out["created_again"]] == [(topic, 36)]  # TOPIC_ALREADY_EXISTS
    [described] = out["described"]
    assert described["error_code"] == 0 and len(described["partitions"]) == 3
    assert out["before"]["retention.ms"]["config_value"] == "120000"
    assert out["before"]["cleanup.policy"]["config_value"] == "delete"
    assert [r["error_code"] for a in out["altered"] for r in a["resources"]] == [0]
    assert out["after"]["retention.ms"]["config_value"] == "60000"
    assert out["after"]["cleanup.policy"]["config_value"] == "compact"
    assert [(t["topic"], t["error_code"]) for t in out["deleted"]["topic_error_codes"]] == [(topic, 0)]
    assert out["listed_after_delete"] is False
    assert [(t["topic"], t["error_code"]) for t in out["deleted_again"]["topic_error_codes"]] == [(topic, 3)]  # UNKNOWN_TOPIC_OR_PARTITION


def test_seek_replay_from_offset_and_timestamp(broker):
    create_topic(broker.bootstrap, "aio-seek", 1)
    base = int(time.time() * 1000) - 60_000

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for i in range(20):
                await producer.send_and_wait("aio-seek", b"v%02d" % i, partition=0, timestamp_ms=base + i * 1000)
        finally:
            await producer.stop()
        return (await read(broker.bootstrap, "aio-seek", count=20),
                await read(broker.bootstrap, "aio-seek", offset=7, count=13),
                await read(broker.bootstrap, "aio-seek", timestamp=base + 12_500, count=7),
                await read(broker.bootstrap, "aio-seek", count=20))

    everything, from_offset, from_time, replay = run(scenario())
    assert [(row[1], row[3], row[4]) for row in everything] == [(i, b"v%02d" % i, base + i * 1000) for i in range(20)]
    assert from_offset == everything[7:]
    assert from_time == everything[13:]
    assert replay == everything
