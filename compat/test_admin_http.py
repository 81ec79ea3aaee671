"""The admin HTTP listener: health, Prometheus metrics that move with real traffic,
the /v1 JSON views, and JSON logs."""
import json
import re
import socket
import struct
import time
import urllib.error
import urllib.request

import boto3
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import wait_for


def get(broker, path):
    try:
        with urllib.request.urlopen(broker.admin_url + path, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metrics(broker):
    status, text = get(broker, "/metrics")
    assert status == 200
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_health_and_cluster_view(broker):
    status, body = get(broker, "/health")
    assert status == 200 and json.loads(body) == {"status": "ready", "live": True, "ready": True}
    assert get(broker, "/health/live")[0] == 200
    assert get(broker, "/health/ready")[0] == 200
    cluster = json.loads(get(broker, "/v1/cluster")[1])
    assert cluster["node_id"] == 1 and cluster["listeners"]["kafka"] == broker.bootstrap
    assert cluster["listeners"]["kinesis"] == broker.kinesis_url
    status, body = get(broker, "/v1/nothing")
    assert status == 404 and "error" in json.loads(body)


def test_metrics_move_with_kafka_traffic(broker):
    before = metrics(broker)
    assert before["tidelog_kafka_connections_active"] >= 0
    assert before["tidelog_process_resident_memory_bytes"] > 0
    assert before["tidelog_process_open_fds"] > 0
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for i in range(200):
        p.produce("watched", f"value-{i:04}".encode(), partition=0)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "watchers", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe(["watched"])
    got = []

    def read_150():
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
        return len(got) >= 150
    wait_for(read_150, 30, "150 records")
    c.commit(message=got[149], asynchronous=False)

    after = metrics(broker)
    assert after['tidelog_topic_records_in_total{topic="watched"}'] == 200
    assert after['tidelog_topic_bytes_in_total{topic="watched"}'] > 200 * 10
    assert after['tidelog_topic_records_out_total{topic="watched"}'] >= 150
    assert after['tidelog_partition_high_watermark{partition="0",topic="watched"}'] == 200
    assert after['tidelog_partition_log_end_offset{partition="0",topic="watched"}'] == 200
    assert after['tidelog_partition_log_start_offset{partition="0",topic="watched"}'] == 0
    assert after['tidelog_partition_segments{partition="0",topic="watched"}'] == 1
    assert after['tidelog_partition_size_bytes{partition="0",topic="watched"}'] > 2000
    assert after['tidelog_group_lag{group="watchers",partition="0",topic="watched"}'] == 50
    assert after['tidelog_group_members{group="watchers"}'] == 1
    assert after['tidelog_group_rebalances_total{group="watchers"}'] >= 1
    assert after['tidelog_kafka_requests_total{api="Produce"}'] > before.get('tidelog_kafka_requests_total{api="Produce"}', 0)
    assert after['tidelog_kafka_request_duration_seconds_count{api="Fetch"}'] >= 1
    assert after["tidelog_fsync_duration_seconds_count"] > before["tidelog_fsync_duration_seconds_count"]
    assert after["tidelog_kafka_connections_active"] >= 2
    c.close()

    # Partition errors by Kafka error name: a fetch past the end of the log.
    c2 = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "strays", "auto.offset.reset": "earliest"})
    c2.assign([TopicPartition("watched", 0, 5000)])
    key = 'tidelog_kafka_partition_errors_total{api="Fetch",error="OffsetOutOfRange"}'
    wait_for(lambda: c2.poll(0.2) is not None and metrics(broker).get(key, 0) >= 1, 30, "an out-of-range fetch")
    c2.close()
    lag_view = json.loads(get(broker, "/v1/groups/watchers")[1])
    assert lag_view["offsets"] == [{"topic": "watched", "partition": 0, "committed_offset": 150,
                                    "log_end_offset": 200, "lag": 50}]
    topic = json.loads(get(broker, "/v1/topics/watched")[1])
    assert topic["partitions"][0]["high_watermark"] == 200 and topic["partitions"][0]["log_end_offset"] == 200
    assert any(t["name"] == "watched" for t in json.loads(get(broker, "/v1/topics")[1]))
    assert any(g["group_id"] == "watchers" for g in json.loads(get(broker, "/v1/groups")[1]))
    assert get(broker, "/v1/topics/none")[0] == 404


def test_bad_connections_are_counted_and_logged_with_their_peer(make_broker):
    broker = make_broker(args=["--log-format", "json"])
    before = metrics(broker)["tidelog_kafka_connection_errors_total"]
    with socket.create_connection(("127.0.0.1", broker.port)) as s:
        s.sendall(b"\x00\x00\x00\x08\x7f\x7f\x00\x00\x00\x00\x00\x01")  # unknown API key
        local = s.getsockname()
        s.recv(16)
    wait_for(lambda: metrics(broker)["tidelog_kafka_connection_errors_total"] == before + 1, 10, "counted")
    lines = [json.loads(l) for l in broker.log_text().splitlines() if l.startswith("{")]
    assert lines, "--log-format json writes JSON lines"
    closing = [l for l in lines if l.get("message", "").startswith("closing kafka connection")]
    assert closing and closing[-1]["peer"] == f"{local[0]}:{local[1]}" and closing[-1]["level"] == "WARN"
    assert "reason" in closing[-1]


def test_a_client_resetting_its_connection_is_an_ordinary_close(make_broker):
    """A client killed mid-request resets its connection (RST): Kafka logs nothing for it,
    and tidelog neither warns nor counts it as a protocol violation."""
    broker = make_broker(args=["--log-format", "json"])
    before = metrics(broker)["tidelog_kafka_connection_errors_total"]
    for partial in (b"", b"\x00\x00\x00\x40\x00\x12"):  # at a frame boundary, and inside one
        s = socket.create_connection(("127.0.0.1", broker.port))
        s.sendall(partial)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # linger 0: the kernel sends RST, as for a killed process
    # A real client still gets answers afterwards, and its close is quiet too.
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("after-reset", b"v")
    assert producer.flush(10) == 0
    time.sleep(0.5)
    assert metrics(broker)["tidelog_kafka_connection_errors_total"] == before
    lines = [json.loads(l) for l in broker.log_text().splitlines() if l.startswith("{")]
    assert not [l for l in lines if l["level"] == "WARN"], "no warning for an ordinary close"


def test_kinesis_metrics_and_iterator_age(broker):
    kinesis = boto3.client("kinesis", endpoint_url=broker.kinesis_url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    kinesis.put_records(StreamName="clicks", Records=[{"Data": b"d", "PartitionKey": str(i)} for i in range(10)])
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    out = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=5)
    try:
        kinesis.describe_stream(StreamName="absent")
    except kinesis.exceptions.ResourceNotFoundException:
        pass
    m = metrics(broker)
    assert m['tidelog_kinesis_requests_total{operation="PutRecords"}'] == 1
    assert m['tidelog_kinesis_request_duration_seconds_count{operation="GetRecords"}'] == 1
    assert m['tidelog_kinesis_errors_total{error="ResourceNotFoundException",operation="DescribeStream"}'] == 1
    age = m[f'tidelog_kinesis_iterator_age_milliseconds{{shard="{shard}",stream="clicks"}}']
    assert age == out["MillisBehindLatest"]
    assert m['tidelog_topic_records_in_total{topic="clicks"}'] == 10
    assert m['tidelog_topic_records_out_total{topic="clicks"}'] == 5
