"""runnel: a Python client for Runnel, built on gRPC (Debian's python3-grpcio
and python3-protobuf) and the protos in proto/runnel/v1.

    from runnel import Admin, Producer, Consumer

    Admin("127.0.0.1:9092").create_topic("demo", partitions=3, exist_ok=True)
    with Producer("127.0.0.1:9092") as p:
        p.send("demo", b"hello", key="user-1", headers=[("source", b"py")])
    c = Consumer("127.0.0.1:9092", group_id="readers", auto_offset_reset="earliest")
    c.subscribe(["demo"])
    for record in c.poll(timeout_s=2):
        print(record.partition, record.offset, record.key, record.value)
    c.close()

docs/clients.md explains the protocol this package implements.
"""

from runnel.admin import Admin
from runnel.batch import Record
from runnel.consumer import Consumer
from runnel.errors import (
    BrokerError,
    CommitFailedError,
    CorruptBatchError,
    DeliveryTimeoutError,
    OffsetOutOfRangeError,
    RetriesExhaustedError,
    RpcError,
    RunnelError,
    TopicNotFoundError,
    UnsupportedCompressionError,
)
from runnel.partitioner import murmur2, partition_for_key
from runnel.producer import Producer, RecordMetadata

__all__ = [
    "Admin",
    "BrokerError",
    "CommitFailedError",
    "Consumer",
    "CorruptBatchError",
    "DeliveryTimeoutError",
    "OffsetOutOfRangeError",
    "Producer",
    "Record",
    "RecordMetadata",
    "RetriesExhaustedError",
    "RpcError",
    "RunnelError",
    "TopicNotFoundError",
    "UnsupportedCompressionError",
    "murmur2",
    "partition_for_key",
]
