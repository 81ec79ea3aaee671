"""Kinesis Data Streams through boto3 with endpoint_url: the producer and consumer
programs of any Kinesis tutorial, the error paths AWS documents, and the round trip with
Kafka clients on the same log."""
import base64
import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer, TopicPartition


@pytest.fixture
def kinesis(broker):
    return boto3.client(
        "kinesis",
        endpoint_url=broker.kinesis_url,
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_tutorial_producer_and_consumer(kinesis):
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks", WaiterConfig={"Delay": 1})
    desc = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]
    assert desc["StreamStatus"] == "ACTIVE"
    assert desc["StreamARN"] == "arn:aws:kinesis:eu-west-1:000000000000:stream/clicks"
    assert desc["RetentionPeriodHours"] == 24
    assert [s["ShardId"] for s in desc["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert desc["Shards"][1]["HashKeyRange"]["EndingHashKey"] == str(2**128 - 1)

    put = kinesis.put_record(StreamName="clicks", Data=b"first", PartitionKey="user-1")
    assert len(put["SequenceNumber"]) == 56
    # put_records with the usual retry loop for failed entries.
    entries = [{"Data": json.dumps({"n": i}).encode(), "PartitionKey": f"user-{i % 7}"} for i in range(100)]
    while entries:
        result = kinesis.put_records(StreamName="clicks", Records=entries)
        entries = [e for e, r in zip(entries, result["Records"]) if "ErrorCode" in r]
    assert result["FailedRecordCount"] == 0

    got = []
    for shard in desc["Shards"]:
        it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            out = kinesis.get_records(ShardIterator=it, Limit=25)
            got.extend(out["Records"])
            if not out["Records"] and out["MillisBehindLatest"] == 0:
                break
            it = out["NextShardIterator"]
    assert len(got) == 101
    assert {r["Data"] for r in got} >= {b"first", b'{"n": 0}', b'{"n": 99}'}
    # The same partition key always lands on the same shard; sequence numbers increase in a shard.
    by_key = {}
    for r in got:
        by_key.setdefault(r["PartitionKey"], set()).add(r["SequenceNumber"][2:14])
    assert all(len(shards) == 1 for shards in by_key.values())
    assert all(isinstance(r["ApproximateArrivalTimestamp"].year, int) for r in got)


def test_iterator_types(kinesis):
    kinesis.create_stream(StreamName="its", ShardCount=1)
    seqs = [kinesis.put_record(StreamName="its", Data=b"%d" % i, PartitionKey="k")["SequenceNumber"] for i in range(5)]

    def read(**kw):
        it = kinesis.get_shard_iterator(StreamName="its", ShardId="shardId-000000000000", **kw)["ShardIterator"]
        return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert read(ShardIteratorType="TRIM_HORIZON") == [b"0", b"1", b"2", b"3", b"4"]
    assert read(ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2]) == [b"2", b"3", b"4"]
    assert read(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2]) == [b"3", b"4"]
    assert read(ShardIteratorType="LATEST") == []
    # AWS refuses a timestamp in the future rather than waiting at the end of the shard.
    with pytest.raises(kinesis.exceptions.InvalidArgumentException, match="cannot be greater than the current"):
        read(ShardIteratorType="AT_TIMESTAMP", Timestamp=time.time() + 60)
    assert len(read(ShardIteratorType="AT_TIMESTAMP", Timestamp=time.time() - 60)) == 5
    latest = kinesis.get_shard_iterator(StreamName="its", ShardId="shardId-000000000000",
                                        ShardIteratorType="LATEST")["ShardIterator"]
    kinesis.put_record(StreamName="its", Data=b"new", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=latest)["Records"]] == [b"new"]


def test_stream_administration(kinesis):
    kinesis.create_stream(StreamName="admin-a", ShardCount=3, Tags={"team": "data"})
    kinesis.create_stream(StreamName="admin-b", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    names = kinesis.list_streams()["StreamNames"]
    assert {"admin-a", "admin-b"} <= set(names)
    page = kinesis.list_streams(Limit=1)
    assert page["HasMoreStreams"] and len(page["StreamNames"]) == 1
    summary = kinesis.describe_stream_summary(StreamName="admin-b")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND" and summary["OpenShardCount"] == 4
    shards = kinesis.list_shards(StreamName="admin-a", MaxResults=2)
    assert len(shards["Shards"]) == 2 and "NextToken" in shards
    rest = kinesis.list_shards(NextToken=shards["NextToken"])
    assert [s["ShardId"] for s in rest["Shards"]] == ["shardId-000000000002"]
    after = kinesis.list_shards(StreamName="admin-a", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000000"})
    assert len(after["Shards"]) == 2

    kinesis.increase_stream_retention_period(StreamName="admin-a", RetentionPeriodHours=48)
    assert kinesis.describe_stream_summary(StreamName="admin-a")["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    kinesis.decrease_stream_retention_period(StreamName="admin-a", RetentionPeriodHours=24)
    with pytest.raises(ClientError) as e:
        kinesis.increase_stream_retention_period(StreamName="admin-a", RetentionPeriodHours=12)
    assert error_code(e) in ("ValidationException", "InvalidArgumentException")

    kinesis.add_tags_to_stream(StreamName="admin-a", Tags={"env": "test"})
    kinesis.remove_tags_from_stream(StreamName="admin-a", TagKeys=["team"])
    assert kinesis.list_tags_for_stream(StreamName="admin-a")["Tags"] == [{"Key": "env", "Value": "test"}]
    arn = kinesis.describe_stream_summary(StreamName="admin-a")["StreamDescriptionSummary"]["StreamARN"]
    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"by": "arn"})
    assert {t["Key"] for t in kinesis.list_tags_for_stream(StreamARN=arn)["Tags"]} == {"env", "by"}

    kinesis.start_stream_encryption(StreamName="admin-a", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kinesis.describe_stream_summary(StreamName="admin-a")["StreamDescriptionSummary"]["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName="admin-a", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    mon = kinesis.enable_enhanced_monitoring(StreamName="admin-a", ShardLevelMetrics=["IncomingBytes"])
    assert mon["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == 500 and limits["OpenShardCount"] >= 7

    kinesis.delete_stream(StreamName="admin-b")
    kinesis.get_waiter("stream_not_exists").wait(StreamName="admin-b", WaiterConfig={"Delay": 1})


def test_errors_as_aws_sends_them(kinesis, broker):
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream(StreamName="missing")
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == "Stream missing under account 000000000000 not found."
    kinesis.create_stream(StreamName="errs", ShardCount=1)
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName="errs", ShardCount=1)
    assert error_code(e) == "ResourceInUseException"
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName="too-many", ShardCount=1000)
    assert error_code(e) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName="errs", Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128))
    assert error_code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator="bm90LWFuLWl0ZXJhdG9y")
    assert error_code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.get_shard_iterator(StreamName="errs", ShardId="shardId-000000000000",
                                   ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="1" * 56)
    assert error_code(e) == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.put_records(StreamName="errs", Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    assert error_code(e) == "ValidationException"

    # Below boto3: malformed JSON, unknown operations, wrong types. Never a 500.
    def raw(target, body):
        req = urllib.request.Request(broker.kinesis_url, data=body, method="POST", headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read()), r.headers
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), err.headers

    status, body, headers = raw("Kinesis_20131202.ListStreams", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    assert headers["x-amzn-RequestId"]
    status, body, _ = raw("Kinesis_20131202.Frobnicate", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body, _ = raw("Kinesis_20131202.CreateStream", b'{"StreamName": 5, "ShardCount": "x"}')
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body, _ = raw("Kinesis_20131202.PutRecord", b'{"StreamName": "errs", "PartitionKey": "k", "Data": "!!"}')
    assert (status, body["__type"]) == (400, "SerializationException")
    # Nothing stored was affected by any of this.
    it = kinesis.get_shard_iterator(StreamName="errs", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it)["Records"] == []


def test_one_log_two_views(kinesis, broker):
    kinesis.create_stream(StreamName="bridge", ShardCount=2)
    kinesis.put_records(StreamName="bridge", Records=[
        {"Data": b"from-kinesis-%d" % i, "PartitionKey": f"pk-{i}"} for i in range(10)])
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "bridge", "enable.auto.commit": False})
    c.assign([TopicPartition("bridge", p, 0) for p in range(2)])
    seen = []
    deadline = time.monotonic() + 20
    while len(seen) < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen.append((m.key(), m.value()))
    c.close()
    assert sorted(seen) == sorted((b"pk-%d" % i, b"from-kinesis-%d" % i) for i in range(10))

    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(5):
        p.produce("bridge", key=b"kafka-key", value=b"from-kafka-%d" % i, partition=1)
    p.flush(10)
    it = kinesis.get_shard_iterator(StreamName="bridge", ShardId="shardId-000000000001",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    from_kafka = [r for r in records if r["PartitionKey"] == "kafka-key"]
    assert [r["Data"] for r in from_kafka] == [b"from-kafka-%d" % i for i in range(5)]
    # A Kafka-created topic is a stream too.
    assert "bridge" in kinesis.list_streams()["StreamNames"]
