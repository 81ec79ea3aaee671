"""Kinesis as AWS answers it: a table of AWS's documented (and recorded) errors, each case
asserting the error type, the HTTP status and the message; the record-size limits; every
operation of the installed botocore model; the HTTP front door (CORS, other methods,
content types); and the account id setting.

Requests go raw (http.client) where boto3 would refuse them client-side, and through
boto3 where it sends them, so both what AWS sends and what a program sees are checked."""
import base64
import gzip
import http.client
import json
import time
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.config import Config

from conftest import Broker

ACCOUNT = "000000000000"
JSON = "application/x-amz-json-1.1"
MIB = 1 << 20


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    # One broker for the module: every case uses streams of its own, or none.
    b = Broker(tmp_path_factory.mktemp("kinesis-aws") / "data").start()
    yield b
    b.stop()


def client(url, validate=True):
    return boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=validate),
    )


@pytest.fixture(scope="module")
def kinesis(broker):
    return client(broker.kinesis_url)


def raw(broker, operation, body, method="POST", headers=None):
    """One request as it goes on the wire: (status, headers, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", broker.kinesis_port, timeout=60)
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    sent = {"Content-Type": JSON, "X-Amz-Target": f"Kinesis_20131202.{operation}"}
    sent.update(headers or {})
    conn.request(method, "/", body=data, headers={k: v for k, v in sent.items() if v is not None})
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text


def error(broker, operation, body):
    """(HTTP status, __type, message) of a refused request."""
    status, _, text = raw(broker, operation, body)
    out = json.loads(text)
    return status, out.get("__type"), out.get("message", out.get("Message"))


def ensure_stream(kinesis, name, **kwargs):
    try:
        kinesis.create_stream(StreamName=name, **({"ShardCount": 1} | kwargs))
    except kinesis.exceptions.ResourceInUseException:
        pass
    return name


def not_null(member):
    return f"Value null at '{member}' failed to satisfy constraint: Member must not be null"


def pattern(value, member, regex):
    return f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {regex}"


def errors(*parts):
    n = len(parts)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)


SEQUENCE = r"^(0|([1-9]\d{0,128}))$"
HASH_KEY = r"^(0|([1-9]\d{0,38}))$"
NAME = "[a-zA-Z0-9_.-]+"
LONG_KEY = "k" * 129

# (case, operation, input, HTTP status, __type, message). `{S}` is the stream "errs"
# (1 shard, created first), `{A}` the account.
CASES = [
    ("missing required member", "CreateStream", {}, 400, "ValidationException", errors(not_null("streamName"))),
    ("neither StreamName nor StreamARN", "DescribeStreamSummary", {}, 400, "ValidationException",
     errors(not_null("streamName"))),
    ("several constraints, AWS's order", "PutRecord",
     {"StreamName": "", "PartitionKey": "", "Data": "", "ExplicitHashKey": "", "SequenceNumberForOrdering": ""},
     400, "ValidationException",
     errors(pattern("", "sequenceNumberForOrdering", SEQUENCE),
            "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1",
            pattern("", "explicitHashKey", HASH_KEY),
            pattern("", "streamName", NAME),
            "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1")),
    ("nested member paths", "PutRecords", {"StreamName": "{S}", "Records": [{"Data": "", "PartitionKey": ""}]},
     400, "ValidationException",
     errors("Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1")),
    ("too many records", "PutRecords", {"StreamName": "{S}", "Records": [{"Data": "", "PartitionKey": "k"}] * 501},
     400, "ValidationException",
     errors("Value '[501 records]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")),
    ("shape before existence: long tag key", "AddTagsToStream", {"StreamName": "no-such-stream", "Tags": {LONG_KEY: "v"}},
     400, "ValidationException",
     errors(f"Value '{{{LONG_KEY}=v}}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: "
            "[Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")),
    ("range", "GetRecords", {"ShardIterator": "x", "Limit": 0}, 400, "ValidationException",
     errors("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")),
    ("enum", "GetShardIterator", {"StreamName": "{S}", "ShardId": "shardId-000000000000", "ShardIteratorType": "OLDEST"},
     400, "ValidationException",
     errors("Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: "
            "[AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]")),
    ("max record size range", "UpdateMaxRecordSize",
     {"StreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/errs", "MaxRecordSizeInKiB": 100},
     400, "ValidationException",
     errors("Value '100' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024")),
    ("ARN pattern", "DescribeStreamSummary", {"StreamARN": "arn:aws:sqs:us-east-1:1:q"}, 400, "ValidationException",
     errors(pattern("arn:aws:sqs:us-east-1:1:q", "streamARN", r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+"))),
    ("string for an integer", "CreateStream", {"StreamName": "x", "ShardCount": "one"}, 400, "SerializationException",
     "class java.lang.String can not be converted to an Integer"),
    ("structure for a list", "PutRecords", {"StreamName": "{S}", "Records": {}}, 400, "SerializationException",
     "Start of structure or map found where not expected."),
    ("blob that is not base64", "PutRecord", {"StreamName": "{S}", "PartitionKey": "k", "Data": "eA"}, 400,
     "SerializationException",
     "'eA' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 2"),
    ("unknown stream", "DescribeStream", {"StreamName": "nope"}, 400, "ResourceNotFoundException",
     "Stream nope under account {A} not found."),
    ("unknown stream by ARN", "ListShards", {"StreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/nope"}, 400,
     "ResourceNotFoundException", "Stream nope under account {A} not found."),
    ("unknown shard", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"}, 400,
     "ResourceNotFoundException", "Shard shardId-000000000009 in stream {S} under account {A} does not exist"),
    ("GetShardIterator names the shard of a missing stream", "GetShardIterator",
     {"StreamName": "nope", "ShardId": "shardId-000000000002", "ShardIteratorType": "LATEST"}, 400,
     "ResourceNotFoundException", "Shard shardId-000000000002 in stream nope under account {A} does not exist"),
    ("invalid iterator", "GetRecords", {"ShardIterator": "not-an-iterator"}, 400, "InvalidArgumentException",
     "Invalid ShardIterator."),
    ("unreadable shard id", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "bogus", "ShardIteratorType": "LATEST"}, 400,
     "ResourceNotFoundException", "Could not find shard bogus in stream {S} under account {A}."),
    ("retention too short", "IncreaseStreamRetentionPeriod", {"StreamName": "{S}", "RetentionPeriodHours": 23}, 400,
     "InvalidArgumentException",
     "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."),
    ("retention too long", "IncreaseStreamRetentionPeriod", {"StreamName": "{S}", "RetentionPeriodHours": 8761}, 400,
     "InvalidArgumentException",
     "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."),
    ("retention of an unknown stream", "IncreaseStreamRetentionPeriod",
     {"StreamName": "nope", "RetentionPeriodHours": 23}, 400, "ResourceNotFoundException",
     "Stream nope under account {A} not found."),
    ("sequence number with TRIM_HORIZON", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON",
      "StartingSequenceNumber": "1"}, 400, "InvalidArgumentException",
     "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
     "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
     "Request specified TRIM_HORIZON and also a StartingSequenceNumber."),
    ("AT_SEQUENCE_NUMBER without one", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER"}, 400,
     "InvalidArgumentException",
     "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
     "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
     "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."),
    ("AT_TIMESTAMP without one", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP"}, 400,
     "InvalidArgumentException",
     "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."),
    ("sequence number not from the stream", "GetShardIterator",
     {"StreamName": "{S}", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER",
      "StartingSequenceNumber": "12345"}, 400, "InvalidArgumentException",
     "StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream {S} under account {A} is invalid."),
    ("invalid SequenceNumberForOrdering", "PutRecord",
     {"StreamName": "{S}", "PartitionKey": "k", "Data": "", "SequenceNumberForOrdering": "123"}, 400,
     "InvalidArgumentException",
     "ExclusiveMinimumSequenceNumber 123 used in PutRecord on stream {S} under account {A} is invalid."),
    ("ExplicitHashKey past 2^128-1", "PutRecord",
     {"StreamName": "{S}", "PartitionKey": "k", "Data": "", "ExplicitHashKey": str(2**128)}, 400,
     "InvalidArgumentException",
     f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {2**128}"),
    ("tag characters", "AddTagsToStream", {"StreamName": "{S}", "Tags": {"a#b": "v"}}, 400, "InvalidArgumentException",
     "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :."),
    ("on-demand stream resharded by hand", "UpdateShardCount",
     {"StreamName": "errs-od", "TargetShardCount": 8, "ScalingType": "UNIFORM_SCALING"}, 400, "ValidationException",
     "This API is only supported for data streams with the provisioned capacity mode. "
     "Stream errs-od under account {A} is in ON_DEMAND mode."),
    ("scaling past double", "UpdateShardCount",
     {"StreamName": "{S}", "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"}, 400, "LimitExceededException",
     "UpdateShardCount cannot scale up over double your current open shard count. "
     "Current open shard count: 1, Target shard count: 3"),
    ("dry run of a put that would succeed", "PutRecord",
     {"StreamName": "{S}", "PartitionKey": "k", "Data": "", "DryRun": True}, 400, "DryRunOperationException",
     "The request would have succeeded, but the DryRun parameter was set."),
    ("dry run of a put that would fail", "PutRecord",
     {"StreamName": "nope", "PartitionKey": "k", "Data": "", "DryRun": True}, 400, "ResourceNotFoundException",
     "Stream nope under account {A} not found."),
    ("warm throughput of a provisioned stream", "UpdateStreamWarmThroughput",
     {"StreamName": "{S}", "WarmThroughputMiBps": 10}, 400, "InvalidArgumentException", None),
]


@pytest.fixture(scope="module")
def streams(kinesis):
    ensure_stream(kinesis, "errs")
    ensure_stream(kinesis, "errs-od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    return "errs"


def fill(value, stream):
    if isinstance(value, str):
        return value.replace("{S}", stream).replace("{A}", ACCOUNT)
    if isinstance(value, list):
        return [fill(v, stream) for v in value]
    if isinstance(value, dict):
        return {fill(k, stream): fill(v, stream) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case,operation,body,status,kind,message", CASES, ids=[c[0] for c in CASES])
def test_aws_error_table(broker, streams, case, operation, body, status, kind, message):
    got = error(broker, operation, fill(body, streams))
    assert got[:2] == (status, kind), got
    if message is not None:
        assert got[2] == fill(message, streams)
    else:
        assert got[2], "a message says what was wrong"


def test_null_members_are_absent(broker, streams):
    status, _, text = raw(broker, "CreateStream", {"StreamName": "nulls", "ShardCount": 1, "Tags": None,
                                                   "StreamModeDetails": None})
    assert (status, text) == (200, "{}")
    assert error(broker, "CreateStream", {"StreamName": None}) == (400, "ValidationException", errors(not_null("streamName")))


def test_boto3_sees_the_same_errors(broker, streams):
    unchecked = client(broker.kinesis_url, validate=False)
    with pytest.raises(unchecked.exceptions.ClientError) as e:
        unchecked.create_stream()
    assert e.value.response["Error"] == {"Code": "ValidationException", "Message": errors(not_null("streamName"))}
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(unchecked.exceptions.ResourceNotFoundException, match="Stream gone under account"):
        unchecked.describe_stream_summary(StreamName="gone")


def test_expired_iterator_uses_aws_wording(broker, streams, kinesis):
    # An iterator is the stream, shard, offset and creation time; one made 301 s ago is
    # built the way the broker builds them.
    created = int(time.time() * 1000) - 301_000
    text = base64.urlsafe_b64encode(f"v1/0/0/{created}/{streams}".encode()).decode().rstrip("=")
    with pytest.raises(kinesis.exceptions.ExpiredIteratorException) as e:
        kinesis.get_records(ShardIterator=text)
    message = e.value.response["Error"]["Message"]
    assert message.startswith("Iterator expired. The iterator was created at time ")
    assert " UTC 20" in message and message.endswith("which is further in the future than the tolerated delay of 300000 milliseconds.")


def test_record_size_limits(broker, kinesis):
    """A record is data plus partition key up to 1 MiB exactly; one byte more is refused
    for the whole request with InvalidArgumentException, as AWS does."""
    stream = ensure_stream(kinesis, "sizes")
    largest = kinesis.put_record(StreamName=stream, Data=b"x" * (MIB - 1), PartitionKey="k")
    assert largest["SequenceNumber"]
    with pytest.raises(kinesis.exceptions.InvalidArgumentException, match="exceeds the maximum record size of 1024 KiB"):
        kinesis.put_record(StreamName=stream, Data=b"x" * MIB, PartitionKey="k")
    batch = [{"Data": b"y", "PartitionKey": "k"}, {"Data": b"z" * MIB, "PartitionKey": "k"}]
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.put_records(StreamName=stream, Records=batch)
    out = kinesis.put_records(StreamName=stream, Records=[{"Data": b"w" * (MIB - 2), "PartitionKey": "kk"}] * 5)
    assert out["FailedRecordCount"] == 0, "5 MiB of 1 MiB records in one request"
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    assert len(records[0]["Data"]) == MIB - 1 and records[0]["PartitionKey"] == "k"
    assert {len(r["Data"]) for r in records[1:]} == {MIB - 2}, "nothing of the refused requests was stored"


def test_update_max_record_size_admits_10_mib(broker, kinesis):
    stream = ensure_stream(kinesis, "large")
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=10240)
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 10240
    kinesis.put_record(StreamName=stream, Data=b"L" * (10 * MIB - 1), PartitionKey="k")
    with pytest.raises(kinesis.exceptions.InvalidArgumentException, match="10240 KiB"):
        kinesis.put_record(StreamName=stream, Data=b"L" * (10 * MIB), PartitionKey="k")
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [len(r["Data"]) for r in kinesis.get_records(ShardIterator=it)["Records"]] == [10 * MIB - 1]


def test_stream_names_starting_with_underscores_are_streams(broker, kinesis):
    kinesis.create_stream(StreamName="__audit", ShardCount=1)
    assert "__audit" in kinesis.list_streams()["StreamNames"]
    kinesis.put_record(StreamName="__audit", Data=b"a", PartitionKey="k")
    summary = kinesis.describe_stream_summary(StreamName="__audit")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 1
    # The broker's own topics stay out of the Kinesis namespace.
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName="__consumer_offsets")
    assert not [n for n in kinesis.list_streams()["StreamNames"] if n in ("__consumer_offsets", "__cluster_metadata")]
    kinesis.delete_stream(StreamName="__audit")
    assert "__audit" not in kinesis.list_streams()["StreamNames"]


def installed_model():
    data = Path(botocore.__file__).parent / "data" / "kinesis" / "2013-12-02"
    path = data / "service-2.json"
    return json.loads(path.read_text()) if path.exists() else json.loads(gzip.open(data / "service-2.json.gz").read())


# Queues and channels (ack-based queue consumption and delivery to S3 / S3 Tables) are
# not served yet: they answer UnknownOperationException until they are built.
NOT_SERVED = {
    "AcknowledgeDeadLetterQueueRecords", "AcknowledgeQueueRecords", "CreateChannel", "CreateQueue", "DeleteChannel",
    "DeleteQueue", "DescribeChannel", "DescribeQueue", "ListChannels", "ListQueues", "ReceiveDeadLetterQueueRecords",
    "ReceiveQueueRecords", "RestoreDeadLetterQueueRecords", "UpdateChannel", "UpdateDeadLetterQueueRecordsVisibility",
    "UpdateQueue", "UpdateQueueRecordsVisibility",
}


def test_every_operation_of_the_installed_model_is_served(broker):
    operations = sorted(installed_model()["operations"])
    assert len(operations) >= 57
    unknown = []
    for operation in operations:
        status, _, text = raw(broker, operation, {})
        if json.loads(text or "{}").get("__type") == "UnknownOperationException":
            unknown.append(operation)
    # Fails when botocore gains an operation this endpoint does not serve, or when one of
    # the known gaps becomes served (then drop it from NOT_SERVED).
    assert sorted(unknown) == sorted(NOT_SERVED), f"served {len(operations) - len(unknown)} of {len(operations)}"


def test_http_front_door(broker):
    status, _, text = raw(broker, "ListStreams", "", method="GET")
    assert status == 403
    assert "<AccessDeniedException>" in text and "Unable to determine service/operation name to be authorized" in text
    status, headers, text = raw(broker, "ListStreams", "", method="OPTIONS", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target"})
    assert (status, text) == (200, "")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "POST"
    assert headers["access-control-allow-headers"] == "content-type,x-amz-target"
    assert headers["access-control-max-age"] == "172800"
    status, headers, _ = raw(broker, "ListStreams", "{}", headers={"Origin": "http://localhost:3000"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert "x-amzn-RequestId" in headers["access-control-expose-headers"]
    status, _, text = raw(broker, "ListStreams", "{}", headers={"Content-Type": None})
    assert (status, text) == (404, "<UnknownOperationException/>\n")
    assert error(broker, "NoSuchOperation", {})[:2] == (400, "UnknownOperationException")
    status, _, text = raw(broker, "ListStreams", "")
    assert (status, json.loads(text)) == (400, {"__type": "SerializationException"})
    status, _, text = raw(broker, "ListStreams", "[1]")
    assert (status, json.loads(text)) == (400, {"__type": "SerializationException"})
    status, _, text = raw(broker, "ListStreams", "{}", headers={"Content-Type": "application/json"})
    assert status == 200
    assert json.loads(text)["Output"]["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_resource_policies_on_streams_and_consumers(kinesis):
    stream = ensure_stream(kinesis, "policies")
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == policy
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    kinesis.put_resource_policy(ResourceARN=consumer, Policy=policy)
    assert kinesis.get_resource_policy(ResourceARN=consumer)["Policy"] == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        kinesis.put_resource_policy(ResourceARN=arn, Policy="not json")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_resource_policy(ResourceARN=arn.replace("policies", "nope"))


def test_account_settings_warm_throughput_and_distribution(kinesis):
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "DISABLED"
    stream = ensure_stream(kinesis, "warm", ShardCount=4, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    with pytest.raises(kinesis.exceptions.InvalidArgumentException, match="commitment"):
        kinesis.update_stream_warm_throughput(StreamName=stream, WarmThroughputMiBps=100)
    enabled = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert enabled["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    out = kinesis.update_stream_warm_throughput(StreamName=stream, WarmThroughputMiBps=100)
    assert out["WarmThroughput"] == {"TargetMiBps": 100, "CurrentMiBps": 100}
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["WarmThroughput"]["TargetMiBps"] == 100
    disabled = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    # A commitment lasts at least 24 hours.
    assert disabled["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    # AUTO spreads records over the shards, partition key or not.
    arn = summary["StreamARN"]
    kinesis.update_stream_record_distribution_strategy(StreamARN=arn, RecordDistributionStrategy="AUTO")
    out = kinesis.put_records(StreamName=stream, Records=[{"Data": b"a", "PartitionKey": "same"}] * 200)
    assert len({r["ShardId"] for r in out["Records"]}) > 1
    unchecked = client(kinesis.meta.endpoint_url, validate=False)
    assert unchecked.put_record(StreamName=stream, Data=b"no key")["ShardId"]
    kinesis.update_stream_record_distribution_strategy(StreamARN=arn, RecordDistributionStrategy="USER_PARTITION_KEY")
    with pytest.raises(unchecked.exceptions.InvalidArgumentException, match="PartitionKey is required"):
        unchecked.put_record(StreamName=stream, Data=b"no key")
    out = kinesis.put_records(StreamName=stream, Records=[{"Data": b"a", "PartitionKey": "same"}] * 50)
    assert len({r["ShardId"] for r in out["Records"]}) == 1


def test_shard_ids_are_read_as_aws_reads_them(kinesis):
    stream = ensure_stream(kinesis, "ids", ShardCount=2)
    for shard_id in ["shardId-000000000001", "shardId-1", "1", "any-prefix-00001"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="LATEST")
        assert it["ShardIterator"], shard_id


def test_account_id_setting(tmp_path):
    b = Broker(tmp_path / "data", ["kinesis.account.id=123456789012"]).start()
    try:
        kinesis = client(b.kinesis_url)
        kinesis.create_stream(StreamName="acct", ShardCount=1)
        arn = kinesis.describe_stream_summary(StreamName="acct")["StreamDescriptionSummary"]["StreamARN"]
        assert arn == "arn:aws:kinesis:us-east-1:123456789012:stream/acct"
        with pytest.raises(kinesis.exceptions.ResourceNotFoundException, match="under account 123456789012 not found"):
            kinesis.describe_stream(StreamName="other")
    finally:
        b.stop()
