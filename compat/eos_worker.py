"""A consume-transform-produce loop as exactly-once applications write it with
confluent-kafka: read_committed input, transactional output, input offsets committed in
the same transaction. Run as a separate process so tests can kill -9 it mid-way.

usage: eos_worker.py BOOTSTRAP TRANSACTIONAL_ID IN_TOPIC OUT_TOPIC GROUP EXPECTED
Exits 0 once the group's committed offsets cover EXPECTED input records."""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, txn_id, in_topic, out_topic, group, expected = sys.argv[1:7]
expected = int(expected)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",
})
consumer.subscribe([in_topic])
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 10000})
producer.init_transactions(30)


def committed_total():
    parts = consumer.assignment()
    if not parts:
        return 0
    return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))


while True:
    msgs = consumer.consume(num_messages=50, timeout=1.0)
    msgs = [m for m in msgs if not m.error()]
    if not msgs:
        if committed_total() >= expected:
            break
        continue
    producer.begin_transaction()
    for m in msgs:
        producer.produce(out_topic, key=m.key(), value=b"out-" + m.value(), partition=m.partition())
    # Widens the window in which a kill lands inside an open transaction.
    time.sleep(0.02)
    positions = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
consumer.close()
print("done", flush=True)
