"""Consumer: reads records from partitions, assigned by hand (assign) or by
a consumer group (subscribe).

poll() sends Broker.Fetch to every assigned partition's leader (one long-poll
request per leader, in parallel), checks each batch's CRC32C, decodes the
records (lz4/zstd through the system libraries), skips records before the
position, and returns them in offset order per partition, advancing each
partition's position past what it returns. Retriable errors refresh the
metadata and back off; a partition failing more than `retries` times in a
row raises.

In a group (group_id and subscribe()), a background thread heartbeats the
coordinator (runnel.group), and poll() reconciles the assignment: partitions
taken away are first given to on_revoke and committed (with auto commit),
then released; new partitions start at the group's committed offset
(Groups.FetchOffsets) or, without one, at auto_offset_reset. Commits carry
the member id and generation and are fenced by the coordinator.

Thread-safety: not thread-safe (like Kafka's consumer): use one thread.
"""

import collections
import time

from runnel import batch
from runnel._proto import broker_pb2, groups_pb2
from runnel.admin import EARLIEST, LATEST, list_offsets
from runnel.cluster import Cluster, ClientConfig
from runnel.errors import (
    OFFSET_OUT_OF_RANGE,
    UNKNOWN_MEMBER_ID,
    STALE_GENERATION,
    BrokerError,
    CommitFailedError,
    OffsetOutOfRangeError,
    RetriesExhaustedError,
    RunnelError,
)
from runnel.group import GroupMembership, to_topic_partitions

_RESETS = {"earliest": EARLIEST, "latest": LATEST}


class _Partition:
    __slots__ = ("position", "reset", "high_watermark", "failures", "buffer")

    def __init__(self, position, reset):
        self.position = position
        self.reset = reset  # "earliest"/"latest" on OFFSET_OUT_OF_RANGE, or None: raise
        self.high_watermark = -1
        self.failures = 0
        self.buffer = collections.deque()  # (Record, position after it)


class Consumer:
    """Options (defaults as Kafka's consumer):
      group_id            the consumer group, for subscribe() and commit()
      auto_offset_reset   where a partition starts without a committed offset,
                          or when its position fell out of the log: "earliest",
                          "latest" or "none" (raise)
      enable_auto_commit  commit positions every auto_commit_interval_ms, before
                          partitions are revoked, and on close
      session_timeout_ms, rebalance_timeout_ms, assignor   sent on join (groups.proto)
      fetch_max_wait_ms   longest long poll of one Fetch
      max_poll_records    most records one poll() returns
      on_assign(partitions)   after partitions were assigned
      on_revoke(partitions)   before partitions are taken away: they are still
                          owned, so a commit here is accepted
      on_lost(partitions)     after the coordinator removed this member (its
                          partitions belong to others already; commits would be
                          fenced); defaults to on_revoke
      check_crcs          verify each fetched batch's CRC32C
    and ClientConfig's (bootstrap, request_timeout_s, retries, ...).
    """

    def __init__(
        self,
        bootstrap="127.0.0.1:9092",
        group_id=None,
        client_id="runnel-python",
        auto_offset_reset="latest",
        enable_auto_commit=True,
        auto_commit_interval_ms=5000,
        session_timeout_ms=10000,
        rebalance_timeout_ms=30000,
        assignor="",
        fetch_max_wait_ms=500,
        max_partition_fetch_bytes=1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
        max_poll_records=500,
        check_crcs=True,
        on_assign=None,
        on_revoke=None,
        on_lost=None,
        cluster=None,
        **config
    ):
        if auto_offset_reset not in _RESETS and auto_offset_reset != "none":
            raise ValueError(
                "auto_offset_reset must be earliest, latest or none, not %r" % (auto_offset_reset,)
            )
        self._owns_cluster = cluster is None
        self.cluster = cluster or Cluster(ClientConfig(bootstrap, **config))
        self.group_id = group_id
        self.client_id = client_id
        self.auto_offset_reset = auto_offset_reset
        self.enable_auto_commit = enable_auto_commit
        self.auto_commit_interval_s = auto_commit_interval_ms / 1000.0
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.assignor = assignor
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.max_partition_fetch_bytes = max_partition_fetch_bytes
        self.fetch_max_bytes = fetch_max_bytes
        self.max_poll_records = max_poll_records
        self.check_crcs = check_crcs
        self.on_assign = on_assign
        self.on_revoke = on_revoke
        self.on_lost = on_lost or on_revoke
        self._partitions = {}  # (topic, partition) -> _Partition
        self._membership = None
        self._member = ("", -1)  # (member id, generation) the partitions were taken under
        self._committed = {}  # (topic, partition) -> last offset committed by us
        self._next_auto_commit = time.monotonic() + self.auto_commit_interval_s
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- manual assignment ----

    def assign(self, partitions):
        """Replaces the assignment with `partitions`: (topic, partition) pairs
        starting at auto_offset_reset, or (topic, partition, start) with start
        an offset, "earliest" or "latest". Not with subscribe()."""
        if self._membership is not None:
            raise RunnelError("assign() cannot be used with subscribe()")
        wanted = {}
        for p in partitions:
            topic, partition = p[0], p[1]
            start = p[2] if len(p) > 2 else self.auto_offset_reset
            n = self.cluster.partition_count(topic)
            if not 0 <= partition < n:
                raise ValueError(
                    "partition %d out of range for topic '%s' (%d partitions)" % (partition, topic, n)
                )
            if (topic, partition) in wanted:
                raise ValueError("partition %s-%d assigned twice" % (topic, partition))
            wanted[(topic, partition)] = start
        resolve = {tp: s for tp, s in wanted.items() if not isinstance(s, int)}
        for s in resolve.values():
            if s not in _RESETS:
                raise ValueError("start must be an offset, 'earliest' or 'latest', not %r" % (s,))
        positions = self._resolve(resolve)
        self._partitions = {}
        for tp, start in wanted.items():
            if isinstance(start, int):
                self._partitions[tp] = _Partition(start, None)
            else:
                self._partitions[tp] = _Partition(positions[tp], start)

    def assign_topic(self, topic, start=None):
        """Assigns every partition of `topic` (start as in assign)."""
        start = start or self.auto_offset_reset
        n = self.cluster.partition_count(topic)
        self.assign([(topic, p, start) for p in range(n)])

    # ---- groups ----

    def subscribe(self, topics):
        """Joins group `group_id` consuming `topics` (a name or a list)."""
        if self.group_id is None:
            raise RunnelError("subscribe() needs a group_id")
        if self._membership is not None:
            raise RunnelError("already subscribed (a member changes topics by leaving)")
        if isinstance(topics, str):
            topics = [topics]
        self._partitions = {}
        self._membership = GroupMembership(
            self.cluster,
            self.group_id,
            topics,
            self.client_id,
            self.assignor,
            self.session_timeout_ms,
            self.rebalance_timeout_ms,
        )

    def member(self):
        """(member id, generation) of this consumer in its group."""
        return self._membership.generation() if self._membership else ("", -1)

    def commit(self, offsets=None):
        """Commits `offsets` ({(topic, partition): next offset to consume};
        default: the position of every owned partition) for the group.
        Raises CommitFailedError when the coordinator fenced the commit
        (this member was removed, or no longer owns a partition)."""
        if self._membership is None:
            raise RunnelError("commit() needs a group: use group_id and subscribe()")
        if offsets is None:
            offsets = {tp: p.position for tp, p in self._partitions.items()}
        if not offsets:
            return
        member_id, generation = self._member
        request = groups_pb2.CommitOffsetsRequest(
            group_id=self.group_id,
            member_id=member_id,
            generation=generation,
            offsets=[
                groups_pb2.PartitionOffset(topic=t, partition=p, offset=o)
                for (t, p), o in sorted(offsets.items())
            ],
        )
        response = self.cluster.groups("CommitOffsets '%s'" % self.group_id, "CommitOffsets", request)
        first = None
        for r in response.results:
            if r.error_code == 0:
                self._committed[(r.topic, r.partition)] = offsets[(r.topic, r.partition)]
            elif first is None:
                fenced = r.error_code in (UNKNOWN_MEMBER_ID, STALE_GENERATION)
                cls = CommitFailedError if fenced else BrokerError
                first = cls(r.error_code, r.error_message, r.topic, r.partition)
        if first is not None:
            raise first

    def committed(self, partitions):
        """{(topic, partition): committed offset or -1} for the group."""
        response = self.cluster.groups(
            "FetchOffsets '%s'" % self.group_id,
            "FetchOffsets",
            groups_pb2.FetchOffsetsRequest(
                group_id=self.group_id, partitions=to_topic_partitions(partitions)
            ),
        )
        return {(o.topic, o.partition): o.offset for o in response.offsets}

    # ---- reading ----

    def assignment(self):
        """The partitions this consumer reads now."""
        return set(self._partitions)

    def position(self, topic, partition):
        return self._partitions[(topic, partition)].position

    def high_watermark(self, topic, partition):
        return self._partitions[(topic, partition)].high_watermark

    def seek(self, topic, partition, offset):
        p = self._partitions[(topic, partition)]
        p.position = offset
        p.buffer.clear()

    def poll(self, timeout_s=1.0):
        """The next records (a list of Record), waiting up to timeout_s for
        at least one; empty if none came."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._membership is not None:
                self._reconcile()
                self._maybe_auto_commit()
            records = self._drain()
            if records:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            if not self._partitions:
                if self._membership is not None:
                    self._membership.wait_for_answer(min(remaining, 0.1))
                else:
                    time.sleep(min(remaining, 0.1))
                continue
            self._fetch_round(min(remaining, self.fetch_max_wait_ms / 1000.0))

    def close(self):
        """Commits (with auto commit) and leaves the group; closes channels."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._membership is not None:
                if self.enable_auto_commit and self._partitions:
                    try:
                        self.commit()
                    except RunnelError:
                        pass  # fenced: another member owns it now
                self._membership.leave()
        finally:
            if self._owns_cluster:
                self.cluster.close()

    # ---- internals ----

    def _resolve(self, starts):
        """{tp: "earliest"|"latest"} -> {tp: offset} with ListOffsets."""
        out = {}
        for name, spec in _RESETS.items():
            tps = [tp for tp, s in starts.items() if s == name]
            if tps:
                out.update(list_offsets(self.cluster, tps, spec))
        return out

    def _reconcile(self):
        member_id, generation, target, owned, lost = self._membership.state()
        for tp in lost:
            self._partitions.pop(tp, None)
        if lost and self.on_lost:
            self.on_lost(sorted(lost))
        revoked = set(self._partitions) - target
        if member_id != self._member[0]:
            revoked = set(self._partitions)  # a new incarnation owns nothing yet
        if revoked:
            if self.on_revoke:
                self.on_revoke(sorted(revoked))
            if self.enable_auto_commit:
                offsets = {tp: self._partitions[tp].position for tp in revoked}
                try:
                    self.commit(offsets)
                except RunnelError:
                    pass  # fenced: the coordinator already moved them
            for tp in revoked:
                self._partitions.pop(tp, None)
            self._membership.release(revoked)
        self._member = (member_id, generation)
        added = target - set(self._partitions)
        if not added or not member_id:
            return
        added = self._membership.acquire(added, member_id)
        if not added:
            return
        committed = self.committed(added)
        starts = {}
        for tp in added:
            offset = committed.get(tp, -1)
            if offset >= 0:
                reset = None if self.auto_offset_reset == "none" else self.auto_offset_reset
                self._partitions[tp] = _Partition(offset, reset)
            elif self.auto_offset_reset == "none":
                raise RunnelError("no committed offset for %s-%d and auto_offset_reset is none" % tp)
            else:
                starts[tp] = self.auto_offset_reset
        for tp, offset in self._resolve(starts).items():
            self._partitions[tp] = _Partition(offset, self.auto_offset_reset)
            self._committed.pop(tp, None)
        if self.on_assign:
            self.on_assign(sorted(added))

    def _maybe_auto_commit(self):
        if not self.enable_auto_commit or time.monotonic() < self._next_auto_commit:
            return
        self._next_auto_commit = time.monotonic() + self.auto_commit_interval_s
        changed = {
            tp: p.position for tp, p in self._partitions.items() if self._committed.get(tp) != p.position
        }
        if changed:
            try:
                self.commit(changed)
            except RunnelError:
                pass  # the next heartbeat tells us what we own

    def _drain(self):
        out = []
        drained = []
        for tp, p in self._partitions.items():
            if len(out) >= self.max_poll_records:
                break
            if p.buffer:
                drained.append(tp)
            while p.buffer and len(out) < self.max_poll_records:
                record, after = p.buffer.popleft()
                out.append(record)
                p.position = after
        # Partitions just drained go last, so that with max_poll_records a
        # busy partition cannot starve the others.
        for tp in drained:
            self._partitions[tp] = self._partitions.pop(tp)
        return out

    def _fetch_round(self, max_wait_s):
        empty = [tp for tp, p in self._partitions.items() if not p.buffer]
        by_leader, leaderless = self.cluster.by_leader(empty)
        for tp in leaderless:
            self._failure(tp, "partition %s-%d has no leader" % tp)
        if not by_leader:
            time.sleep(min(max_wait_s, self.cluster.config.retry_backoff_s))
            return
        requests = [
            (
                address,
                broker_pb2.FetchRequest(
                    partitions=[
                        broker_pb2.FetchPartition(
                            topic=t,
                            partition=p,
                            fetch_offset=self._partitions[(t, p)].position,
                            max_bytes=self.max_partition_fetch_bytes,
                        )
                        for t, p in tps
                    ],
                    max_wait_ms=int(max_wait_s * 1000),
                    min_bytes=1,
                    max_bytes=self.fetch_max_bytes,
                    replica_id=-1,
                ),
                tps,
            )
            for address, tps in by_leader.items()
        ]
        backoff = False
        timeout = max_wait_s + self.cluster.config.request_timeout_s
        for _, tps, response, err in self.cluster.call_brokers("Fetch", requests, timeout):
            if err is not None:
                if not err.retriable:
                    raise err
                self.cluster.invalidate()
                for tp in tps:
                    self._failure(tp, str(err))
                backoff = True
                continue
            for r in response.partitions:
                tp = (r.topic, r.partition)
                p = self._partitions.get(tp)
                if p is None:
                    continue
                if r.error_code == 0:
                    p.failures = 0
                    p.high_watermark = r.high_watermark
                    self._append(tp, p, r.records)
                elif r.error_code == OFFSET_OUT_OF_RANGE and p.reset is not None:
                    p.position = self._resolve({tp: p.reset})[tp]
                elif r.error_code == OFFSET_OUT_OF_RANGE:
                    raise OffsetOutOfRangeError(r.error_code, r.error_message, r.topic, r.partition)
                else:
                    err = BrokerError(r.error_code, r.error_message, r.topic, r.partition)
                    if not err.retriable:
                        raise err
                    self.cluster.invalidate(r.topic)
                    self._failure(tp, str(err))
                    backoff = True
        if backoff:
            time.sleep(self.cluster.config.retry_backoff_s)

    def _failure(self, tp, message):
        p = self._partitions[tp]
        p.failures += 1
        if p.failures > self.cluster.config.retries:
            raise RetriesExhaustedError(
                "fetching %s-%d failed %d times in a row: %s" % (tp[0], tp[1], p.failures, message)
            )

    def _append(self, tp, p, data):
        topic, partition = tp
        for b in batch.decode_batches(data, topic, partition, self.check_crcs):
            end = b.last_offset + 1
            added = False
            if not b.is_control:
                for record in b.records:
                    if record.offset >= p.position:
                        p.buffer.append((record, record.offset + 1))
                        added = True
            if added:
                # Past the batch's end, not just its last record: compaction
                # may have removed the records after it.
                p.buffer[-1] = (p.buffer[-1][0], end)
            elif p.buffer:
                last, after = p.buffer[-1]
                p.buffer[-1] = (last, max(after, end))
            else:
                p.position = max(p.position, end)
