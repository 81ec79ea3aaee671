"""tidelog advertises Kafka 4.3's API versions: the vendored `kafka-protocol` codec carries
4.1's, extended to 4.3's for the messages that changed (vendor/README.md).

The reference table is kafka-python's own record of what each Apache Kafka release answers
to ApiVersions (`kafka.protocol.broker_version_data`, 4.3 the newest it knows), and
kafka-python's version guess is the one a user sees (for 4.3: DescribeLogDirs v5). Every
served API reaches Kafka 4.3's maximum.
"""
import pytest
from kafka.protocol.api_key import ApiKey
from kafka.protocol.broker_version_data import BROKER_API_VERSIONS

KAFKA = (4, 3)

# ShareFetch and ShareAcknowledge v2 (KIP-1206 acquire modes, KIP-1222 renew
# acknowledgements) are not served yet: share consumers use v1.
HELD_BELOW = {ApiKey.ShareFetch: 1, ApiKey.ShareAcknowledge: 1}



@pytest.fixture(scope="module")
def advertised(tmp_path_factory):
    from conftest import Broker, WireClient

    broker = Broker(tmp_path_factory.mktemp("data")).start()
    client = WireClient(broker.bootstrap)
    guessed = client.broker_version
    client.client.await_ready(client.node)
    versions = dict(client.client._manager.broker_version_data.api_versions)
    yield guessed, versions
    client.close()
    broker.stop()


def test_kafka_python_takes_tidelog_for_kafka_4_3(advertised):
    guessed, _ = advertised
    assert guessed == KAFKA


def test_every_served_api_reaches_kafka_4_3s_newest_version(advertised):
    _, versions = advertised
    reference = BROKER_API_VERSIONS[KAFKA]
    lines, short = [], []
    for key, (lo, hi) in sorted(versions.items()):
        name = ApiKey(key).name
        kafka_hi = reference.get(key, (None, None))[1]
        lines.append(f"{name:28} {lo}-{hi}   Kafka {KAFKA[0]}.{KAFKA[1]}: {kafka_hi}")
        expected = HELD_BELOW.get(ApiKey(key), kafka_hi)
        if kafka_hi is not None and hi != expected:
            short.append(f"{name}: {hi}, expected {expected}")
    print("\n".join(lines))
    assert not short, short
