"""KafkaJS 2.2.4 against the real tidelog binary: a keyed producer with each codec it
supports, a consumer group rebalancing mid-stream with its commits on rebalance, a
fenced transactional zombie, the admin client's topic life cycle, and seek / replay by
offset and by timestamp. The programs are compat/js/kafkajs.js (deps: `npm ci` in
compat/js, run by scripts/test.sh)."""
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from client_processes import FAST_GROUPS, MemberProcess, create_topic, rebalance_mid_stream_reads_each_record_once, run_json
from conftest import Broker

JS_DIR = Path(__file__).resolve().parent / "js"
PROGRAM = str(JS_DIR / "kafkajs.js")


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    if not (JS_DIR / "node_modules" / "kafkajs").exists():  # scripts/test.sh installs them
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=300)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # One broker for the module: every test uses topics and groups of its own.
    b = Broker(tmp_path_factory.mktemp("kafkajs") / "data", FAST_GROUPS).start()
    yield b
    b.stop()


def run(command, broker, **args):
    argv = ["node", PROGRAM, command, "--brokers", broker.bootstrap]
    for name, value in args.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    return run_json(argv)


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy"])
def test_keyed_producer_each_codec(broker, codec):
    topic = f"kjs-{codec}"
    create_topic(broker.bootstrap, topic, 3)
    metadata = run("produce", broker, topic=topic, codec=codec, count=90)
    assert all(m["errorCode"] == 0 and m["baseOffset"] == 0 for m in metadata), metadata
    consumed = run("consume", broker, topic=topic, count=90)
    assert sorted(r["value"] for r in consumed) == ["value-%04d" % i for i in range(90)]
    assert {r["partition"] for r in consumed} == {m["partition"] for m in metadata}
    by_partition = defaultdict(list)
    key_partitions = defaultdict(set)
    for r in consumed:
        by_partition[r["partition"]].append(r)
        key_partitions[r["key"]].add(r["partition"])
    for rows in by_partition.values():
        # Offsets are dense from 0 and follow the send order within the partition.
        assert [r["offset"] for r in rows] == list(range(len(rows)))
        assert [r["value"] for r in rows] == sorted(r["value"] for r in rows)
    assert len(key_partitions) == 7 and all(len(ps) == 1 for ps in key_partitions.values()), "one key, one partition"


def test_group_rebalance_mid_stream_commits_before_rejoining(broker):
    def start(name):
        return MemberProcess(["node", PROGRAM, "member", "--brokers", broker.bootstrap, "--group", "kjs-g", "--topic", "kjs-g"], name)

    rebalance_mid_stream_reads_each_record_once(broker.bootstrap, "kjs-g", "kjs-g", 6, start)


def test_transactions_fence_the_zombie(broker):
    create_topic(broker.bootstrap, "kjs-tx", 1)
    result = run("txn", broker, topic="kjs-tx", transactional_id="kjs-zombie")
    fenced = ("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
    assert result["zombie_produce_error"] or result["zombie_commit_error"], result
    for error in (result["zombie_produce_error"], result["zombie_commit_error"]):
        assert error is None or any(f in error for f in fenced), result
    committed = run("consume", broker, topic="kjs-tx", read_committed="true", idle=2000)
    assert [r["value"] for r in committed] == ["from-successor"]
    everything = [r["value"] for r in run("consume", broker, topic="kjs-tx", idle=2000)]
    assert {"from-zombie", "from-successor", "successor-aborted"} <= set(everything)
    assert "late-from-zombie" not in everything


def test_admin_create_describe_alter_delete(broker):
    out = run("admin", broker, topic="kjs-admin")
    assert out["created"] is True and out["created_again"] is False, out
    assert out["described_partitions"] == 3
    before = out["configs_before"]
    assert before["retention.ms"] == {"value": "120000", "isDefault": False, "source": 1}  # DYNAMIC_TOPIC_CONFIG
    assert before["cleanup.policy"] == {"value": "delete", "isDefault": True, "source": 5}  # DEFAULT_CONFIG
    after = out["configs_after"]
    assert after["retention.ms"]["value"] == "60000"
    assert after["cleanup.policy"] == {"value": "compact", "isDefault": False, "source": 1}
    assert out["listed_after_delete"] is False
    assert "UNKNOWN_TOPIC_OR_PARTITION" in out["delete_again_error"]


def test_seek_replay_from_offset_and_timestamp(broker):
    create_topic(broker.bootstrap, "kjs-seek", 1)
    base = int(time.time() * 1000) - 60_000
    run("produce", broker, topic="kjs-seek", count=20, timestamp=base)
    everything = run("consume", broker, topic="kjs-seek", count=20)
    assert [r["offset"] for r in everything] == list(range(20))
    assert [r["timestamp"] for r in everything] == [base + i * 1000 for i in range(20)]
    assert run("consume", broker, topic="kjs-seek", offset=7, count=13) == everything[7:]
    assert run("consume", broker, topic="kjs-seek", after_milli=base + 12_500, count=7) == everything[13:]
    # Replaying from the start gives the same records again.
    assert run("consume", broker, topic="kjs-seek", count=20) == everything
