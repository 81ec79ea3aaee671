"""Debian's kcat (librdkafka 2.0.2, an older client) against tidelog."""
import shutil
import subprocess

import pytest

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


def kcat(*args, input=None):
    assert KCAT, "kcat is installed by the README's test command (apt package kcat)"
    done = subprocess.run([KCAT, *args], input=input, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_and_consume_keyed(broker, codec):
    topic = f"kcat-{codec}"
    lines = "".join(f"key{i % 3}:value {i}\n" for i in range(30))
    kcat("-b", broker.bootstrap, "-t", topic, "-P", "-K:", "-z", codec, input=lines)
    out = kcat("-b", broker.bootstrap, "-t", topic, "-C", "-e", "-f", "%k|%s|%o\n")
    rows = [line.split("|") for line in out.splitlines()]
    assert [(k, v) for k, v, _ in rows] == [(f"key{i % 3}", f"value {i}") for i in range(30)]
    assert [int(o) for _, _, o in rows] == list(range(30))


def test_metadata_listing(broker):
    kcat("-b", broker.bootstrap, "-t", "kcat-listed", "-P", input="x\n")
    out = kcat("-b", broker.bootstrap, "-L")
    assert "1 brokers:" in out
    assert f"broker 1 at 127.0.0.1:{broker.port}" in out
    assert 'topic "kcat-listed" with 1 partitions' in out


def test_offset_query_and_restart(broker):
    kcat("-b", broker.bootstrap, "-t", "kcat-q", "-P", input="a\nb\nc\n")
    out = kcat("-b", broker.bootstrap, "-Q", "-t", "kcat-q:0:-1")
    assert "offset 3" in out
    broker.restart()
    out = kcat("-b", broker.bootstrap, "-t", "kcat-q", "-C", "-e", "-f", "%s\n")
    assert out.split() == ["a", "b", "c"]
