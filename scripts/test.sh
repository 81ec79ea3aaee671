#!/usr/bin/env bash
# Installs what the tests need and runs every test layer: unit, property and in-process
# integration tests (cargo), then the client compatibility suite (pytest, real clients
# against the real binary). Benchmarks are not tests: see `tidelog-bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's kcat (librdkafka 2.0.2): the old-client check of the compatibility suite.
if ! command -v kcat >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kcat >/dev/null
fi

# Python clients in a project-local virtual environment.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r compat/requirements.txt
# The AWS CLI pins its own botocore, so it gets an environment of its own.
[ -x .venv-awscli/bin/python ] || python3 -m venv .venv-awscli
.venv-awscli/bin/pip install -q --disable-pip-version-check -r compat/requirements-awscli.txt

# KafkaJS (npm, pinned by compat/js/package-lock.json) and franz-go (Go modules, pinned
# by compat/go/go.sum) for the compatibility suite; both skip the work when up to date.
[ compat/js/node_modules/.package-lock.json -nt compat/js/package-lock.json ] ||
    (cd compat/js && npm ci --no-audit --no-fund --loglevel=error)
(cd compat/go && go build -buildvcs=false -o bin/franz .)

# Apache Kafka's Java client and Kafka Streams (Maven, pinned by compat/java/pom.xml):
# compiled, with the run-time class path written for the tests' `java -cp`; skipped when
# nothing changed since the last build.
if ! command -v mvn >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi
[ -f compat/java/target/.built ] && [ -z "$(find compat/java/pom.xml compat/java/src -newer compat/java/target/.built)" ] ||
    { (cd compat/java && mvn -q -B compile) && touch compat/java/target/.built; }

# The house rules: formatted, and clippy-clean with warnings as errors.
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --all-targets
cargo test --workspace
TIDELOG_BIN="$PWD/target/debug/tidelog" .venv/bin/pytest -q -p no:warnings compat
