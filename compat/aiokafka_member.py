"""An aiokafka group member for compat/test_aiokafka.py, run as a subprocess so the
rebalance scenario of client_processes.py drives it like the other clients' members.

It is aiokafka's documented manual-commit consumer: autocommit off, and a
ConsumerRebalanceListener that commits the consumed positions in
on_partitions_revoked, so the next owner starts where this one stopped. It prints one
JSON event a line and commits and leaves when stdin closes.

usage: aiokafka_member.py BOOTSTRAP GROUP TOPIC"""
import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener


def emit(event):
    print(json.dumps(event), flush=True)


class CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, consumer):
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked):
        error = None
        try:
            if revoked:  # the first call, before any assignment, has nothing to commit
                await self.consumer.commit()
        except Exception as e:  # reported, and judged by the test
            error = f"{type(e).__name__}: {e}"
        emit({"event": "revoked", "partitions": sorted(tp.partition for tp in revoked), "commit_error": error})

    async def on_partitions_assigned(self, assigned):
        emit({"event": "assigned", "partitions": sorted(tp.partition for tp in assigned)})


async def main(bootstrap, group, topic):
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=500,
                                request_timeout_ms=10000)
    consumer.subscribe([topic], listener=CommitOnRevoke(consumer))
    await consumer.start()
    stdin_closed = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    try:
        while not stdin_closed.done():
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for r in records:
                    emit({"event": "record", "record": {"partition": r.partition, "offset": r.offset,
                                                        "key": r.key and r.key.decode(), "value": r.value.decode(),
                                                        "timestamp": r.timestamp}})
        try:
            await consumer.commit()
        except Exception as e:
            emit({"event": "error", "error": f"last commit: {type(e).__name__}: {e}"})
    finally:
        await consumer.stop()
    emit({"event": "closed"})


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
