"""The `tidelog` command-line tools against a running broker, checked by their output
(and, where they change state, by what a real client then sees)."""
import json
import re
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import BIN, wait_for


def tool(broker, *args, input=None, ok=True, timeout=60):
    done = subprocess.run([str(BIN), *args, "--brokers", broker.bootstrap], input=input,
                          capture_output=True, text=True, timeout=timeout)
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


def table(text):
    """Rows of a printed table as lists of cells (header included)."""
    return [line.split() for line in text.strip().splitlines() if line.strip()]


def test_topic_lifecycle(broker):
    out = tool(broker, "topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000").stdout
    assert out.strip() == 'Created topic "orders".'
    assert ["orders", "3"] in table(tool(broker, "topic", "list").stdout)
    listed = json.loads(tool(broker, "topic", "list", "--output", "json").stdout)
    assert {"name": "orders", "partitions": 3} in listed

    Producer({"bootstrap.servers": broker.bootstrap}).produce("orders", b"v", partition=1) or None
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for _ in range(5):
        p.produce("orders", b"v", partition=1)
    assert p.flush(10) == 0

    out = tool(broker, "topic", "describe", "orders").stdout
    assert "Topic: orders\tPartitionCount: 3\tConfigs: retention.ms=86400000" in out
    rows = table(out)
    assert rows[1] == ["PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET", "LAST-STABLE-OFFSET",
                       "HIGH-WATERMARK"]
    assert rows[3] == ["1", "1", "1", "1", "0", "5", "5"]

    assert tool(broker, "topic", "alter-config", "orders", "--set", "cleanup.policy=compact").stdout.strip() == \
        'Updated settings of topic "orders".'
    described = json.loads(tool(broker, "topic", "describe", "orders", "--output", "json").stdout)[0]
    assert described["configs"] == {"cleanup.policy": "compact", "retention.ms": "86400000"}
    assert [p["high_watermark"] for p in described["partitions"]] == [0, 5, 0]
    tool(broker, "topic", "alter-config", "orders", "--delete", "retention.ms")
    described = json.loads(tool(broker, "topic", "describe", "orders", "--output", "json").stdout)[0]
    assert described["configs"] == {"cleanup.policy": "compact"}

    assert "now has 5 partitions" in tool(broker, "topic", "add-partitions", "orders", "--total", "5").stdout
    assert ["orders", "5"] in table(tool(broker, "topic", "list").stdout)

    assert tool(broker, "topic", "delete", "orders").stdout.strip() == 'Deleted topic "orders".'
    assert "orders" not in tool(broker, "topic", "list").stdout


def test_errors_are_one_line_and_a_nonzero_status(broker):
    done = tool(broker, "topic", "describe", "missing", ok=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: topic 'missing' does not exist"
    tool(broker, "topic", "create", "twice")
    done = tool(broker, "topic", "create", "twice", ok=False)
    assert done.returncode == 1 and "already exists" in done.stderr.lower()
    assert len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run([str(BIN), "topic", "list", "--brokers", "127.0.0.1:1", "--timeout-ms", "2000"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stderr.startswith("error: cannot reach the broker at 127.0.0.1:1")


def test_produce_and_consume_with_keys_headers_and_formats(broker):
    tool(broker, "topic", "create", "lines", "--partitions", "2")
    out = tool(broker, "produce", "lines", "--key-separator", ":", "--partition", "1", "--header", "src=cli",
               "--compression", "zstd", input="k1:hello\nk2:world\nk3:again\n")
    assert 'Produced 3 records to "lines".' in out.stderr

    out = tool(broker, "consume", "lines", "--format", "{partition}/{offset} {key}={value} [{headers}]").stdout
    assert out.splitlines() == ["1/0 k1=hello [src=cli]", "1/1 k2=world [src=cli]", "1/2 k3=again [src=cli]"]
    # From an offset, on one partition, a count.
    out = tool(broker, "consume", "lines", "--partition", "1", "--from", "1", "--count", "1").stdout
    assert out.splitlines() == ["world"]
    records = [json.loads(l) for l in tool(broker, "consume", "lines", "--output", "json").stdout.splitlines()]
    assert [(r["key"], r["value"], r["headers"]) for r in records] == \
        [("k1", "hello", {"src": "cli"}), ("k2", "world", {"src": "cli"}), ("k3", "again", {"src": "cli"})]
    # From a timestamp: everything produced after it, nothing before.
    cut = records[-1]["timestamp"] + 1
    time.sleep(0.01)
    tool(broker, "produce", "lines", "--partition", "1", input="later\n")
    assert tool(broker, "consume", "lines", "--from", f"@{cut}").stdout.splitlines() == ["later"]
    assert tool(broker, "consume", "lines", "--from", "end").stdout == ""
    # From a file.
    path = broker.data_dir.parent / "input.txt"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    tool(broker, "produce", "lines", "--file", str(path), "--acks", "1")
    assert len(tool(broker, "consume", "lines").stdout.splitlines()) == 104


def test_consume_follow_prints_new_records(broker):
    tool(broker, "topic", "create", "live")
    follower = subprocess.Popen([str(BIN), "consume", "live", "--follow", "--brokers", broker.bootstrap],
                                stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        tool(broker, "produce", "live", input="first\nsecond\n")
        assert follower.stdout.readline().strip() == "first"
        assert follower.stdout.readline().strip() == "second"
        assert follower.poll() is None, "--follow keeps running at the end of the log"
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_groups_describe_reset_and_delete(broker):
    tool(broker, "topic", "create", "work", "--partitions", "2")
    tool(broker, "produce", "work", "--partition", "0", input="".join(f"a{i}\n" for i in range(10)))
    tool(broker, "produce", "work", "--partition", "1", input="".join(f"b{i}\n" for i in range(4)))
    assert len(tool(broker, "consume", "work", "--group", "workers", "--count", "14").stdout.splitlines()) == 14

    out = tool(broker, "group", "list").stdout
    assert ["workers", "Empty", "consumer", "0"] in table(out)
    out = tool(broker, "group", "describe", "workers").stdout
    assert "Consumer group 'workers' has no active members." in out
    rows = table(out)
    assert rows[1] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
                       "HOST", "CLIENT-ID"]
    assert rows[2:] == [["workers", "work", "0", "10", "10", "0", "-", "-", "-"],
                        ["workers", "work", "1", "4", "4", "0", "-", "-", "-"]]

    # A dry run changes nothing; --execute commits.
    out = tool(broker, "group", "reset-offsets", "workers", "--topic", "work", "--to-offset", "3")
    assert table(out.stdout)[1:] == [["workers", "work", "0", "3"], ["workers", "work", "1", "3"]]
    assert "Dry run" in out.stderr
    described = json.loads(tool(broker, "group", "describe", "workers", "--output", "json").stdout)
    assert [p["current_offset"] for p in described["partitions"]] == [10, 4]
    tool(broker, "group", "reset-offsets", "workers", "--topic", "work", "--shift-by", "-2", "--execute")
    described = json.loads(tool(broker, "group", "describe", "workers", "--output", "json").stdout)
    assert [(p["current_offset"], p["lag"]) for p in described["partitions"]] == [(8, 2), (2, 2)]
    tool(broker, "group", "reset-offsets", "workers", "--topic", "work", "--to-earliest", "--execute")
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "workers"})
    committed = consumer.committed([TopicPartition("work", 0), TopicPartition("work", 1)], timeout=10)
    assert [tp.offset for tp in committed] == [0, 0]

    # With a live member: its id, host and client id are shown, and resets are refused.
    consumer.subscribe(["work"])
    wait_for(lambda: consumer.poll(0.2) is not None and consumer.assignment(), 30, "assignment")
    out = tool(broker, "group", "describe", "workers").stdout
    row = table(out)[1]
    assert row[0:3] == ["workers", "work", "0"] and row[7] == "/127.0.0.1" and row[8] == "rdkafka"
    done = tool(broker, "group", "reset-offsets", "workers", "--topic", "work", "--to-latest", "--execute", ok=False)
    assert done.returncode == 1 and "can only be reset if the group 'workers' is inactive" in done.stderr
    consumer.close()

    assert tool(broker, "group", "delete", "workers").stdout.strip() == "Deleted consumer group 'workers'."
    assert "workers" not in tool(broker, "group", "list").stdout
    done = tool(broker, "group", "describe", "workers", ok=False)
    assert "Consumer group 'workers' does not exist." in done.stderr


def test_perf_tools_print_what_the_kafka_perf_tests_print(broker):
    out = tool(broker, "perf", "produce", "bench", "--num-records", "20000", "--record-size", "100",
               "--producer-props", "acks=all").stdout
    final = out.strip().splitlines()[-1]
    assert re.fullmatch(r"20000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, "
                        r"[\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\.", final), final
    out = tool(broker, "perf", "consume", "bench", "--messages", "20000").stdout.splitlines()
    assert out[0] == ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                      "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
    fields = out[1].split(", ")
    assert fields[2] == "1.9073" and fields[4] == "20000"
    stats = json.loads(tool(broker, "perf", "produce", "bench", "--num-records", "1000", "--output", "json").stdout)
    assert stats["records"] == 1000 and stats["p99_ms"] >= stats["p50_ms"]


def test_cluster_info(broker):
    out = tool(broker, "cluster", "info").stdout
    assert re.search(r"^Cluster ID: \S{22}$", out, re.M)
    assert ["1", "127.0.0.1", str(broker.port)] in table(out)
    info = json.loads(tool(broker, "cluster", "info", "--output", "json").stdout)
    assert info["brokers"] == [{"id": 1, "host": "127.0.0.1", "port": broker.port}]
