"""franz-go (kgo, kadm) against the real tidelog binary: its README producer with each
codec, a manual-commit consumer group rebalancing mid-stream, a fenced transactional
zombie, kadm topic administration, and seek / replay by offset and by timestamp.
The programs are compat/go (built by scripts/test.sh into compat/go/bin/franz)."""
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from client_processes import FAST_GROUPS, MemberProcess, create_topic, rebalance_mid_stream_reads_each_record_once, run_json
from conftest import Broker

GO_DIR = Path(__file__).resolve().parent / "go"
FRANZ = GO_DIR / "bin" / "franz"


@pytest.fixture(scope="module")
def franz():
    if not FRANZ.exists():  # scripts/test.sh builds it; this serves a bare pytest run
        subprocess.run(["go", "build", "-o", str(FRANZ), "."], cwd=GO_DIR, check=True, timeout=300)
    return str(FRANZ)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # One broker for the module: every test uses topics and groups of its own.
    b = Broker(tmp_path_factory.mktemp("franz") / "data", FAST_GROUPS).start()
    yield b
    b.stop()


def run(franz, command, broker, *args):
    return run_json([franz, command, "-brokers", broker.bootstrap, *map(str, args)])


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_keyed_producer_each_codec(franz, broker, codec):
    topic = f"franz-{codec}"
    create_topic(broker.bootstrap, topic, 3)
    delivered = run(franz, "produce", broker, "-topic", topic, "-codec", codec, "-count", 90)
    assert len(delivered) == 90
    consumed = run(franz, "consume", broker, "-topic", topic, "-partitions", 3, "-count", 90)
    def fields(r):
        return r["partition"], r["offset"], r["key"], r["value"]

    assert sorted(map(fields, consumed)) == sorted(map(fields, delivered))
    by_partition = defaultdict(list)
    for r in consumed:
        by_partition[r["partition"]].append(r)
    key_partitions = defaultdict(set)
    for partition, rows in by_partition.items():
        # Offsets are dense from 0 and follow the send order of that partition.
        assert [r["offset"] for r in rows] == list(range(len(rows)))
        assert [r["value"] for r in rows] == sorted(r["value"] for r in rows)
        for r in rows:
            key_partitions[r["key"]].add(partition)
    assert all(len(ps) == 1 for ps in key_partitions.values()), "one key, one partition"
    assert len(by_partition) > 1, "7 keys spread over more than one partition"


def test_group_rebalance_mid_stream_with_commit_on_revoke(franz, broker):
    def start(name):
        return MemberProcess([franz, "member", "-brokers", broker.bootstrap, "-group", "franz-g", "-topic", "franz-g"], name)

    members = rebalance_mid_stream_reads_each_record_once(broker.bootstrap, "franz-g", "franz-g", 6, start)
    assert all(m.of("revoked") for m in members), "every member revoked (and committed) at least once"


def test_transactions_fence_the_zombie(franz, broker):
    create_topic(broker.bootstrap, "franz-tx", 1)
    result = run(franz, "txn", broker, "-topic", "franz-tx", "-transactional-id", "franz-zombie")
    fenced = ("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
    assert any(f in (result["zombie_produce_error"] or "") for f in fenced), result
    assert result["zombie_commit_error"], result  # kgo will not commit after a fenced produce
    assert any(f in (result["zombie_retry_error"] or "") for f in fenced), result
    # franz-go runs transaction version 2 where the broker finalizes it: each end bumps the epoch.
    first = result["successor_epochs"][0]
    assert result["successor_epochs"] == [first, first + 1, first + 2], result
    committed = run(franz, "consume", broker, "-topic", "franz-tx", "-read-committed", "-idle", "2s")
    assert [r["value"] for r in committed] == ["from-successor"]
    everything = [r["value"] for r in run(franz, "consume", broker, "-topic", "franz-tx", "-idle", "2s")]
    assert {"from-zombie", "from-successor", "successor-aborted"} <= set(everything)
    assert not {"late-from-zombie", "zombie-retry"} & set(everything)


def test_admin_create_describe_alter_delete(franz, broker):
    out = run(franz, "admin", broker, "-topic", "franz-admin")
    assert out["create_error"] is None and out["created_partitions"] == 3, out
    assert "TOPIC_ALREADY_EXISTS" in out["create_again_error"]
    assert out["list_error"] is None and out["described_partitions"] == 3
    assert out["describe_configs_error"] is None
    before = out["configs_before"]
    assert before["retention.ms"] == {"value": "120000", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert before["cleanup.policy"] == {"value": "delete", "source": "DEFAULT_CONFIG"}
    assert out["alter_error"] is None
    after = out["configs_after"]
    assert after["retention.ms"]["value"] == "60000"
    assert after["cleanup.policy"] == {"value": "compact", "source": "DYNAMIC_TOPIC_CONFIG"}
    assert out["delete_error"] is None
    assert out["listed_after_delete"] is False
    assert "UNKNOWN_TOPIC_OR_PARTITION" in out["delete_again_error"]


def test_seek_replay_from_offset_and_timestamp(franz, broker):
    create_topic(broker.bootstrap, "franz-seek", 1)
    base = int(time.time() * 1000) - 60_000
    run(franz, "produce", broker, "-topic", "franz-seek", "-count", 20, "-timestamp", base)
    everything = run(franz, "consume", broker, "-topic", "franz-seek", "-count", 20)
    assert [r["offset"] for r in everything] == list(range(20))
    assert [r["timestamp"] for r in everything] == [base + i * 1000 for i in range(20)]
    from_offset = run(franz, "consume", broker, "-topic", "franz-seek", "-offset", 7, "-count", 13)
    assert from_offset == everything[7:]
    from_time = run(franz, "consume", broker, "-topic", "franz-seek", "-after-milli", base + 12_500, "-count", 7)
    assert from_time == everything[13:]
    # Replaying from the start gives the same records again.
    assert run(franz, "consume", broker, "-topic", "franz-seek", "-count", 20) == everything
