"""Consumer-group membership: the heartbeat side of groups.proto.

A background thread sends Groups.GroupHeartbeat every heartbeat_interval_ms
(as the coordinator says) carrying the partitions this member owns, and
keeps the coordinator's latest answer: member id, generation and the target
assignment. The consumer's own thread reconciles: it stops consuming and
commits partitions missing from the target (revoke), then stops reporting
them, and only then does the coordinator hand them to another member; it
starts consuming partitions newly in the target (assign). So ownership only
changes on the consumer's thread, except when the coordinator says the
member is gone (UNKNOWN_MEMBER_ID): its partitions are lost, and it joins
again with an empty member id and nothing owned.

Thread-safety: every field is guarded by the lock; the consumer calls
state()/release()/acquire() from its thread, the heartbeat thread does the rest.
"""

import logging
import threading

from runnel._proto import groups_pb2
from runnel.errors import UNKNOWN_MEMBER_ID, BrokerError, RpcError

log = logging.getLogger("runnel.group")


def to_topic_partitions(tps):
    """[(topic, partition)] -> [TopicPartitions], topics and partitions sorted."""
    by_topic = {}
    for topic, partition in tps:
        by_topic.setdefault(topic, []).append(partition)
    return [
        groups_pb2.TopicPartitions(topic=t, partitions=sorted(ps)) for t, ps in sorted(by_topic.items())
    ]


def from_topic_partitions(tps):
    return {(t.topic, p) for t in tps for p in t.partitions}


class GroupMembership:
    def __init__(
        self,
        cluster,
        group_id,
        topics,
        client_id,
        assignor,
        session_timeout_ms,
        rebalance_timeout_ms,
    ):
        self._cluster = cluster
        self.group_id = group_id
        self._topics = list(topics)
        self._client_id = client_id
        self._assignor = assignor
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._lock = threading.Lock()
        self._wake = threading.Event()  # heartbeat now (ownership changed)
        self._changed = threading.Condition(self._lock)  # a new answer arrived
        self._stop = False
        self._member_id = ""
        self._generation = -1
        self._target = set()
        self._owned = set()
        self._lost = set()  # partitions dropped by UNKNOWN_MEMBER_ID, for the consumer
        self._fatal = None
        self._answers = 0
        self._thread = threading.Thread(
            target=self._run, name="runnel-heartbeat-" + group_id, daemon=True
        )
        self._thread.start()

    # ---- the consumer's side ----

    def state(self):
        """(member_id, generation, target assignment, owned, lost since the
        last call); raises the error that stopped the membership."""
        with self._lock:
            if self._fatal is not None:
                raise self._fatal
            lost, self._lost = self._lost, set()
            return self._member_id, self._generation, set(self._target), set(self._owned), lost

    def release(self, tps):
        """Stops reporting `tps` as owned (after the consumer stopped
        consuming and committed them); sent at once in a heartbeat."""
        with self._lock:
            self._owned -= set(tps)
        self._wake.set()

    def acquire(self, tps, member_id):
        """Starts reporting `tps` as owned, if still assigned to the same
        member incarnation; returns the partitions actually acquired."""
        with self._lock:
            if member_id != self._member_id:
                return set()
            got = set(tps) & self._target
            self._owned |= got
        self._wake.set()
        return got

    def wait_for_answer(self, timeout_s):
        """Waits up to timeout_s for the next heartbeat answer."""
        with self._lock:
            seen = self._answers
            self._changed.wait_for(lambda: self._answers != seen or self._fatal is not None, timeout_s)

    def generation(self):
        with self._lock:
            return self._member_id, self._generation

    def leave(self):
        """Stops heartbeating and leaves the group (partitions move at once)."""
        with self._lock:
            self._stop = True
            member_id = self._member_id
        self._wake.set()
        self._thread.join()
        if member_id:
            try:
                self._cluster.groups(
                    "LeaveGroup '%s'" % self.group_id,
                    "LeaveGroup",
                    groups_pb2.LeaveGroupRequest(group_id=self.group_id, member_id=member_id),
                    timeout=5,
                )
            except RpcError as e:
                log.warning("leaving group %s: %s", self.group_id, e)

    # ---- the heartbeat thread ----

    def _run(self):
        attempt = 0
        interval_s = 0.0
        while True:
            self._wake.wait(interval_s)
            self._wake.clear()
            with self._lock:
                if self._stop:
                    return
                request = groups_pb2.GroupHeartbeatRequest(
                    group_id=self.group_id,
                    member_id=self._member_id,
                    client_id=self._client_id,
                    subscribed_topics=self._topics,
                    assignor=self._assignor,
                    session_timeout_ms=self._session_timeout_ms,
                    rebalance_timeout_ms=self._rebalance_timeout_ms,
                    owned_partitions=to_topic_partitions(self._owned),
                )
            try:
                response = self._cluster.groups(
                    "GroupHeartbeat '%s'" % self.group_id,
                    "GroupHeartbeat",
                    request,
                    timeout=max(1.0, self._session_timeout_ms / 1000.0 / 2),
                )
            except RpcError as e:
                if not e.retriable:
                    with self._lock:
                        self._fatal = e
                        self._changed.notify_all()
                    return
                log.info("heartbeat of group %s failed, retrying: %s", self.group_id, e)
                interval_s = self._cluster.config.backoff(attempt)
                attempt += 1
                continue
            attempt = 0
            with self._lock:
                if response.error_code == UNKNOWN_MEMBER_ID:
                    # Removed (session expired, or fenced after a stall): what
                    # we own now belongs to others. Join again with nothing.
                    log.warning(
                        "member %s left group %s: %s; joining again",
                        self._member_id,
                        self.group_id,
                        response.error_message,
                    )
                    self._lost |= self._owned
                    self._owned = set()
                    self._target = set()
                    self._member_id = ""
                    self._generation = -1
                    interval_s = 0.0
                elif response.error_code != 0:
                    self._fatal = BrokerError(response.error_code, response.error_message)
                    self._changed.notify_all()
                    return
                else:
                    self._member_id = response.member_id
                    self._generation = response.generation
                    self._target = from_topic_partitions(response.assignment)
                    interval_s = max(response.heartbeat_interval_ms, 50) / 1000.0
                self._answers += 1
                self._changed.notify_all()
