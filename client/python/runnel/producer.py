"""Producer: appends records to topics.

send() picks the partition (Kafka's murmur2 of the key, as the C++ and Java
clients do; records without a key stick to one partition per batch) and
buffers the record; flush() encodes each partition's records as RecordBatch
v2 batches and sends them with Broker.Produce to the partition's leader,
one request per leader. A retriable error (NOT_LEADER, leader election,
broker unreachable...) refreshes the metadata and resends, with backoff,
until delivery_timeout_s. Records of one partition keep their order: a
partition never has two requests in flight.

This producer is synchronous: nothing is sent in the background. Records go
out when flush() is called, when a partition's buffer reaches batch_bytes,
or on send() once the oldest buffered record has waited linger_ms.

Thread-safety: not thread-safe; use one Producer per thread.
"""

import time

from runnel import batch, compression
from runnel._proto import broker_pb2, types_pb2
from runnel.cluster import Cluster, ClientConfig
from runnel.errors import BrokerError, DeliveryTimeoutError, RunnelError
from runnel.partitioner import StickyPartitioner, partition_for_key

ACKS = {
    "all": types_pb2.ACKS_ALL,
    -1: types_pb2.ACKS_ALL,
    "1": types_pb2.ACKS_LEADER,
    1: types_pb2.ACKS_LEADER,
    "0": types_pb2.ACKS_NONE,
    0: types_pb2.ACKS_NONE,
}


class RecordMetadata:
    """Where a sent record went. offset is -1 until flush() acknowledged it
    (and stays -1 with acks=0); error is set if it could not be delivered."""

    __slots__ = ("topic", "partition", "offset", "timestamp_ms", "error")

    def __init__(self, topic, partition, timestamp_ms):
        self.topic = topic
        self.partition = partition
        self.timestamp_ms = timestamp_ms
        self.offset = -1
        self.error = None

    def __repr__(self):
        return "RecordMetadata(%s-%d@%d%s)" % (
            self.topic,
            self.partition,
            self.offset,
            "" if self.error is None else " error=%s" % self.error,
        )


class _Pending:
    """A partition's buffered records and their RecordMetadata."""

    __slots__ = ("records", "metas", "bytes", "since")

    def __init__(self):
        self.records = []  # (timestamp_ms, key, value, headers)
        self.metas = []
        self.bytes = 0
        self.since = time.monotonic()


class Producer:
    """Options (defaults as Kafka's producer where it has one):
      acks                "all" (every in-sync replica), 1 (the leader) or 0 (none)
      compression_type    "none", "lz4" or "zstd"
      batch_bytes         a partition's buffer is sent when it reaches this size
      linger_ms           send() flushes once the oldest buffered record is this old
      max_request_bytes   most record bytes in one Produce request
      delivery_timeout_s  how long flush() retries retriable errors
      partitioner_seed    seed of the keyless-record partitioner (tests)
    and ClientConfig's (bootstrap, request_timeout_s, retries, ...).
    """

    def __init__(
        self,
        bootstrap="127.0.0.1:9092",
        acks="all",
        compression_type="none",
        batch_bytes=16 * 1024,
        linger_ms=5,
        max_request_bytes=1024 * 1024,
        delivery_timeout_s=120.0,
        partitioner_seed=None,
        cluster=None,
        **config
    ):
        if acks not in ACKS:
            raise ValueError("acks must be 'all', 1 or 0, not %r" % (acks,))
        if compression_type not in compression.BY_NAME:
            raise ValueError(
                "compression_type must be none, lz4 or zstd, not %r" % (compression_type,)
            )
        self._owns_cluster = cluster is None
        self.cluster = cluster or Cluster(ClientConfig(bootstrap, **config))
        self.acks = ACKS[acks]
        self.codec = compression.BY_NAME[compression_type]
        self.batch_bytes = batch_bytes
        self.linger_s = linger_ms / 1000.0
        self.max_request_bytes = max_request_bytes
        self.delivery_timeout_s = delivery_timeout_s
        self._sticky = StickyPartitioner(partitioner_seed)
        self._pending = {}  # (topic, partition) -> _Pending

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.close(flush=False)

    def partition_for(self, topic, key=None):
        """The partition send() would pick for `key` (bytes, str or None)."""
        n = self.cluster.partition_count(topic)
        if key is None:
            return self._sticky.partition(topic, n)
        return partition_for_key(key.encode() if isinstance(key, str) else bytes(key), n)

    def send(self, topic, value=None, key=None, headers=None, timestamp_ms=None, partition=None):
        """Buffers one record and returns its RecordMetadata (filled in by
        flush). key and value: bytes, str (UTF-8) or None; headers: a list of
        (str, bytes|str|None) pairs or a dict; timestamp_ms defaults to now."""
        if isinstance(headers, dict):
            headers = list(headers.items())
        headers = list(headers or ())
        if timestamp_ms is None:
            timestamp_ms = int(time.time() * 1000)
        if partition is None:
            partition = self.partition_for(topic, key)
        else:
            n = self.cluster.partition_count(topic)
            if not 0 <= partition < n:
                raise ValueError(
                    "partition %d out of range for topic '%s' (%d partitions)" % (partition, topic, n)
                )
        size = batch.encoded_record_size(key, value, headers)
        if size + batch.HEADER_SIZE > self.max_request_bytes:
            raise ValueError(
                "record of %d bytes exceeds max_request_bytes (%d)" % (size, self.max_request_bytes)
            )
        tp = (topic, partition)
        pending = self._pending.get(tp)
        if pending is None:
            pending = self._pending[tp] = _Pending()
        meta = RecordMetadata(topic, partition, timestamp_ms)
        pending.records.append((timestamp_ms, key, value, headers))
        pending.metas.append(meta)
        pending.bytes += size
        oldest = min(p.since for p in self._pending.values())
        if pending.bytes >= self.batch_bytes or time.monotonic() - oldest >= self.linger_s:
            self.flush()
        return meta

    def produce(self, topic, value=None, key=None, headers=None, timestamp_ms=None, partition=None):
        """send() and flush(): returns the record's RecordMetadata with its offset."""
        meta = self.send(topic, value, key, headers, timestamp_ms, partition)
        self.flush()
        return meta

    def flush(self):
        """Sends every buffered record and waits for the acknowledgements.
        Returns the RecordMetadata of the records sent; raises the first
        delivery error (every record's metadata still carries its own)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return []
        for (topic, partition) in pending:
            self._sticky.on_batch_sent(topic, partition, self.cluster.partition_count(topic))
        # (topic, partition) -> list of (encoded batch, metas), in order.
        queues = {tp: self._encode(p) for tp, p in pending.items()}
        deadline = time.monotonic() + self.delivery_timeout_s
        first_error = None
        attempt = 0
        while queues:
            retry, error = self._send_round(queues)
            first_error = first_error or error
            if not retry:
                break
            if time.monotonic() >= deadline:
                timeout = DeliveryTimeoutError(
                    "records not delivered within %.0f s; last error: %s"
                    % (self.delivery_timeout_s, retry)
                )
                for q in queues.values():
                    for _, metas in q:
                        for m in metas:
                            m.error = timeout
                first_error = first_error or timeout
                break
            self.cluster.sleep_backoff(attempt, deadline)
            attempt += 1
        if first_error is not None:
            raise first_error
        return [m for p in pending.values() for m in p.metas]

    def close(self, flush=True):
        try:
            if flush:
                self.flush()
        finally:
            if self._owns_cluster:
                self.cluster.close()

    # ---- internals ----

    def _encode(self, pending):
        """Splits a partition's records into batches of about batch_bytes."""
        out = []
        start = 0
        size = 0
        records = pending.records
        for i, r in enumerate(records):
            rsize = batch.encoded_record_size(r[1], r[2], r[3])
            if i > start and size + rsize > max(self.batch_bytes, 1) - batch.HEADER_SIZE:
                out.append((batch.encode_batch(records[start:i], self.codec), pending.metas[start:i]))
                start, size = i, 0
            size += rsize
        out.append((batch.encode_batch(records[start:], self.codec), pending.metas[start:]))
        return out

    def _send_round(self, queues):
        """Sends the head batches of every partition, grouped by leader, and
        pops what was acknowledged. Returns (description of the last
        retriable failure or None, first fatal error or None)."""
        retry = None
        try:
            by_leader, leaderless = self.cluster.by_leader(queues)
        except RunnelError as e:
            if not e.retriable:
                raise
            return str(e), None
        if leaderless:
            retry = "partition %s-%d has no leader" % leaderless[0]
        requests = []
        for address, tps in by_leader.items():
            parts = []  # (topic, partition, records, number of batches)
            for topic, partition in tps:
                # Head batches up to max_request_bytes (at least one).
                data = bytearray()
                count = 0
                for encoded, _ in queues[(topic, partition)]:
                    if count and len(data) + len(encoded) > self.max_request_bytes:
                        break
                    data += encoded
                    count += 1
                parts.append((topic, partition, bytes(data), count))
            request = broker_pb2.ProduceRequest(
                partitions=[
                    broker_pb2.ProducePartitionData(topic=t, partition=p, records=d)
                    for t, p, d, _ in parts
                ],
                acks=self.acks,
                timeout_ms=int(self.cluster.config.request_timeout_s * 1000),
            )
            requests.append((address, request, parts))
        fatal = None
        timeout = self.cluster.config.request_timeout_s + 5  # the broker's own wait, then some
        for _, parts, response, err in self.cluster.call_brokers("Produce", requests, timeout):
            if err is not None:
                if err.retriable:
                    self.cluster.invalidate()
                    retry = str(err)
                    continue
                for t, p, _, count in parts:
                    fatal = fatal or err
                    self._fail(queues, (t, p), err)
                continue
            counts = {(t, p): c for t, p, _, c in parts}
            for r in response.partitions:
                tp = (r.topic, r.partition)
                if r.error_code == 0:
                    self._acknowledge(queues, tp, counts[tp], r.base_offset)
                    continue
                err = BrokerError(r.error_code, r.error_message, r.topic, r.partition)
                if err.retriable:
                    self.cluster.invalidate(r.topic)
                    retry = str(err)
                else:
                    fatal = fatal or err
                    self._fail(queues, tp, err)
        return retry, fatal

    def _acknowledge(self, queues, tp, count, base_offset):
        q = queues[tp]
        offset = base_offset
        for _, metas in q[:count]:
            for m in metas:
                m.offset = offset if self.acks != types_pb2.ACKS_NONE and base_offset >= 0 else -1
                offset += 1
        del q[:count]
        if not q:
            del queues[tp]

    def _fail(self, queues, tp, err):
        for _, metas in queues.pop(tp, ()):
            for m in metas:
                m.error = err
