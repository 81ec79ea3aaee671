"""Kinesis resharding, enhanced fan-out, CBOR, throughput limits and the AWS CLI against
tidelog: what boto3, the Java SDKs' encoding and `aws kinesis --endpoint-url` need."""
import json
import os
import subprocess
import time
import urllib.request

import boto3
import cbor2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from confluent_kafka.admin import AdminClient

from test_kinesis import error_code


def client(url):
    # One attempt: botocore would otherwise retry throttled calls until they pass.
    return boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def kinesis(broker):
    return client(broker.kinesis_url)


def read_shard(kinesis, stream, shard_id):
    """Every record of a shard, and the ChildShards reported at its end (None while open)."""
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while True:
        out = kinesis.get_records(ShardIterator=it)
        records.extend(out["Records"])
        if "NextShardIterator" not in out or out["NextShardIterator"] is None:
            return records, out.get("ChildShards")
        if not out["Records"]:
            return records, None
        it = out["NextShardIterator"]


def test_split_and_merge_read_parents_before_children(kinesis, broker):
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    for i in range(20):
        kinesis.put_record(StreamName="orders", Data=f"before-{i}".encode(), PartitionKey=f"k{i}")
    shard0 = "shardId-000000000000"
    kinesis.split_shard(StreamName="orders", ShardToSplit=shard0, NewStartingHashKey=str(2**127))
    shards = kinesis.list_shards(StreamName="orders")["Shards"]
    assert [s["ShardId"] for s in shards] == [shard0, "shardId-000000000001", "shardId-000000000002"]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    assert shards[1]["ParentShardId"] == shard0 and shards[2]["ParentShardId"] == shard0
    assert shards[1]["HashKeyRange"]["EndingHashKey"] == str(2**127 - 1)
    open_now = kinesis.list_shards(StreamName="orders", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in open_now] == ["shardId-000000000001", "shardId-000000000002"]
    assert kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["OpenShardCount"] == 2

    for i in range(20):
        put = kinesis.put_record(StreamName="orders", Data=f"after-{i}".encode(), PartitionKey=f"k{i}")
        assert put["ShardId"] != shard0

    # The parent keeps its records and ends with ChildShards and no next iterator.
    parent, children = read_shard(kinesis, "orders", shard0)
    assert [r["Data"] for r in parent] == [f"before-{i}".encode() for i in range(20)]
    assert sorted(c["ShardId"] for c in children) == ["shardId-000000000001", "shardId-000000000002"]
    after = []
    for child in children:
        records, _ = read_shard(kinesis, "orders", child["ShardId"])
        after.extend(r["Data"] for r in records)
    assert sorted(after) == sorted(f"after-{i}".encode() for i in range(20))

    # Splitting a closed shard is refused, as AWS refuses it.
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName="orders", ShardToSplit=shard0, NewStartingHashKey="5")
    assert error_code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.merge_shards(StreamName="orders", ShardToMerge="shardId-000000000001",
                             AdjacentShardToMerge=shard0)
    assert error_code(e) == "InvalidArgumentException"

    kinesis.merge_shards(StreamName="orders", ShardToMerge="shardId-000000000001",
                         AdjacentShardToMerge="shardId-000000000002")
    merged = kinesis.list_shards(StreamName="orders", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert merged[0]["ShardId"] == "shardId-000000000003"
    assert (merged[0]["ParentShardId"], merged[0]["AdjacentParentShardId"]) == (
        "shardId-000000000001", "shardId-000000000002")

    # Kafka clients see the children as new partitions of the same topic.
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert len(admin.list_topics("orders", timeout=10).topics["orders"].partitions) == 4


def test_update_shard_count_and_limits(kinesis):
    kinesis.create_stream(StreamName="scaled", ShardCount=2)
    out = kinesis.update_shard_count(StreamName="scaled", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (2, 4)
    open_shards = kinesis.list_shards(StreamName="scaled", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(open_shards) == 4
    assert [s["ParentShardId"] for s in open_shards] == ["shardId-000000000000"] * 2 + ["shardId-000000000001"] * 2
    with pytest.raises(ClientError) as e:
        kinesis.update_shard_count(StreamName="scaled", TargetShardCount=9, ScalingType="UNIFORM_SCALING")
    # AWS refuses more than double the open shards as a limit, not as a bad argument.
    assert error_code(e) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName="too-big", ShardCount=600)
    assert error_code(e) == "LimitExceededException"


def test_status_transitions_when_configured(make_broker):
    broker = make_broker(["kinesis.stream.transition.ms=1500"])
    kinesis = client(broker.kinesis_url)
    kinesis.create_stream(StreamName="slow", ShardCount=1)
    assert kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"] == "CREATING"
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName="slow", Data=b"x", PartitionKey="k")
    assert error_code(e) == "ResourceNotFoundException"
    kinesis.get_waiter("stream_exists").wait(StreamName="slow", WaiterConfig={"Delay": 1})
    kinesis.split_shard(StreamName="slow", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    assert kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"] == "UPDATING"
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName="slow", ShardToSplit="shardId-000000000001", NewStartingHashKey="5")
    assert error_code(e) == "ResourceInUseException"
    kinesis.put_record(StreamName="slow", Data=b"x", PartitionKey="k")  # writes go on while UPDATING


def test_enhanced_fan_out_subscribe_to_shard(kinesis):
    kinesis.create_stream(StreamName="fanout", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="fanout")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")["Consumer"]
    assert consumer["ConsumerARN"].startswith(stream_arn + "/consumer/app:")
    listed = kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]
    assert [c["ConsumerName"] for c in listed] == ["app"]
    described = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
    assert described["StreamARN"] == stream_arn and described["ConsumerStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app")
    assert error_code(e) == "ResourceInUseException"

    for i in range(30):
        kinesis.put_record(StreamName="fanout", Data=f"r{i}".encode(), PartitionKey="k")
    sub = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "TRIM_HORIZON"})
    got, continuation = [], None
    for event in sub["EventStream"]:
        e = event["SubscribeToShardEvent"]
        got.extend(r["Data"] for r in e["Records"])
        continuation = e["ContinuationSequenceNumber"]
        assert "MillisBehindLatest" in e
        if len(got) >= 30:
            break
    sub["EventStream"].close()
    assert got == [f"r{i}".encode() for i in range(30)]
    assert len(continuation) == 56

    # A second subscription for the same consumer and shard within 5 s is refused.
    with pytest.raises(ClientError) as e:
        kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    assert error_code(e) == "ResourceInUseException"

    with pytest.raises(ClientError) as e:
        kinesis.delete_stream(StreamName="fanout")
    assert error_code(e) == "ResourceInUseException"
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"] == []
    kinesis.delete_stream(StreamName="fanout")


def cbor_call(broker, operation, body):
    request = urllib.request.Request(
        broker.kinesis_url, data=cbor2.dumps(body), method="POST",
        headers={"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": f"Kinesis_20131202.{operation}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.headers["Content-Type"] == "application/x-amz-cbor-1.1"
            return 200, cbor2.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, cbor2.loads(e.read())


def test_cbor_requests_as_java_sdks_send_them(broker):
    assert cbor_call(broker, "CreateStream", {"StreamName": "java", "ShardCount": 1})[0] == 200
    status, put = cbor_call(broker, "PutRecord", {"StreamName": "java", "Data": b"\x00\x01bin", "PartitionKey": "k"})
    assert status == 200 and len(put["SequenceNumber"]) == 56
    status, batch = cbor_call(broker, "PutRecords", {"StreamName": "java", "Records": [
        {"Data": b"\x02", "PartitionKey": "a"}, {"Data": b"\x03", "PartitionKey": "b"}]})
    assert status == 200 and batch["FailedRecordCount"] == 0
    assert [r["ShardId"] for r in batch["Records"]] == ["shardId-000000000000"] * 2
    assert put["SequenceNumber"] < batch["Records"][0]["SequenceNumber"] < batch["Records"][1]["SequenceNumber"]
    now_ms = int(time.time() * 1000)
    _, it = cbor_call(broker, "GetShardIterator", {"StreamName": "java", "ShardId": "shardId-000000000000",
                                                   "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": now_ms - 60_000})
    _, out = cbor_call(broker, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    record = out["Records"][0]
    assert [r["Data"] for r in out["Records"]] == [b"\x00\x01bin", b"\x02", b"\x03"]  # byte strings, not base64
    assert out["MillisBehindLatest"] == 0 and "NextShardIterator" in out
    assert abs(record["ApproximateArrivalTimestamp"] - now_ms) < 60_000  # epoch milliseconds
    status, err = cbor_call(broker, "DescribeStream", {"StreamName": "missing"})
    assert status == 400 and err["__type"] == "ResourceNotFoundException"
    request = urllib.request.Request(broker.kinesis_url, data=b"\xff\x00", method="POST", headers={
        "Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=10)
    assert cbor2.loads(e.value.read())["__type"] == "SerializationException"


def test_enforced_throughput_limits(make_broker):
    broker = make_broker(["kinesis.enforce.limits=true"])
    kinesis = client(broker.kinesis_url)
    kinesis.create_stream(StreamName="limited", ShardCount=1)
    big = [{"Data": b"x" * 100_000, "PartitionKey": f"k{i}"} for i in range(15)]  # 1.5 MB for one shard
    out = kinesis.put_records(StreamName="limited", Records=big)
    assert out["FailedRecordCount"] > 0
    failed = [r for r in out["Records"] if "ErrorCode" in r]
    assert failed[0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    it = kinesis.get_shard_iterator(StreamName="limited", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    codes = []
    for _ in range(8):
        try:
            it = kinesis.get_records(ShardIterator=it, Limit=1)["NextShardIterator"]
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert "ProvisionedThroughputExceededException" in codes


def test_on_demand_stream_scales_with_load(kinesis):
    kinesis.create_stream(StreamName="auto", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    before = len(kinesis.list_shards(StreamName="auto", ShardFilter={"Type": "AT_LATEST"})["Shards"])
    assert before == 4
    # More than one shard's 1,000 records per second, all on one partition key's shard.
    for _ in range(5):
        kinesis.put_records(StreamName="auto", Records=[{"Data": b"x", "PartitionKey": "hot"}] * 500)
    after = kinesis.list_shards(StreamName="auto", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(after) > before


def test_aws_cli(broker):
    # scripts/test.sh installs the CLI in .venv-awscli (it pins its own botocore).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    aws = os.path.join(root, ".venv-awscli", "bin", "aws")
    assert os.path.exists(aws), "run scripts/test.sh, which installs the AWS CLI"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="eu-west-1",
               AWS_PAGER="")

    def run(*args):
        out = subprocess.run([aws, "kinesis", *args, "--endpoint-url", broker.kinesis_url, "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
        return out.returncode, out.stdout, out.stderr

    assert run("create-stream", "--stream-name", "cli", "--shard-count", "2")[0] == 0
    code, out, _ = run("put-record", "--stream-name", "cli", "--partition-key", "k", "--data", "hello")
    assert code == 0 and json.loads(out)["ShardId"].startswith("shardId-")
    code, out, _ = run("get-shard-iterator", "--stream-name", "cli", "--shard-id", json.loads(out)["ShardId"],
                       "--shard-iterator-type", "TRIM_HORIZON")
    code, out, _ = run("get-records", "--shard-iterator", json.loads(out)["ShardIterator"])
    assert code == 0 and json.loads(out)["Records"][0]["Data"] == "aGVsbG8="  # the CLI prints blobs as base64
    code, out, _ = run("list-streams")
    assert "cli" in json.loads(out)["StreamNames"]
    code, out, _ = run("describe-stream-summary", "--stream-name", "cli")
    assert json.loads(out)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    code, _, err = run("describe-stream", "--stream-name", "nope")
    assert code != 0 and "ResourceNotFoundException" in err
