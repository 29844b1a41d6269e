"""Connections to a Runnel cluster and a cache of its metadata: which broker
leads each partition. Shared by Admin, Producer and Consumer.

Every broker serves the Broker service (produce, fetch, offsets, metadata)
and forwards Admin and Groups calls to the coordinator, so a client only
needs bootstrap broker addresses.

Thread-safety: a Cluster may be shared by threads; its caches are guarded
by one lock and gRPC channels are thread-safe.
"""

import threading
import time

import grpc

from runnel._proto import admin_grpc, broker_grpc, broker_pb2, groups_grpc
from runnel.errors import RpcError, TopicNotFoundError

# Reconnect fast (a restarted broker is found again within a second instead
# of gRPC's default backoff of up to two minutes), and allow large fetches.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.dns_min_time_between_resolutions_ms", 100),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


class ClientConfig:
    """Settings every client shares. Defaults follow the C++ client
    (client/options.h) and Kafka's."""

    def __init__(
        self,
        bootstrap="127.0.0.1:9092",
        request_timeout_s=30.0,
        connect_timeout_s=5.0,
        retries=20,
        retry_backoff_s=0.1,
        retry_backoff_max_s=1.0,
    ):
        if isinstance(bootstrap, str):
            bootstrap = [a.strip() for a in bootstrap.split(",") if a.strip()]
        if not bootstrap:
            raise ValueError("bootstrap needs at least one host:port")
        self.bootstrap = list(bootstrap)
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.retry_backoff_max_s = retry_backoff_max_s

    def backoff(self, attempt):
        """Seconds to sleep before retry `attempt` (0-based): exponential, capped."""
        return min(self.retry_backoff_s * (2**attempt), self.retry_backoff_max_s)


class Cluster:
    def __init__(self, config):
        self.config = config
        self._lock = threading.Lock()
        self._channels = {}  # address -> grpc.Channel
        self._brokers = {}  # broker id -> address
        self._topics = {}  # name -> TopicInfo
        self._closed = False

    # ---- channels and stubs ----

    def channel(self, address):
        with self._lock:
            ch = self._channels.get(address)
            if ch is None:
                ch = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
                self._channels[address] = ch
            return ch

    def broker(self, address):
        return broker_grpc.BrokerStub(self.channel(address))

    def call_brokers(self, method, requests, timeout_s):
        """Calls Broker.`method` on several brokers at once. `requests` is a
        list of (address, request, context); returns (address, context,
        response, error) for each, error an RpcError when the call failed
        (and response None)."""
        calls = [
            (address, context, getattr(self.broker(address), method).future(request, timeout=timeout_s))
            for address, request, context in requests
        ]
        results = []
        for address, context, future in calls:
            try:
                results.append((address, context, future.result(), None))
            except grpc.RpcError as e:
                results.append((address, context, None, RpcError("%s at %s" % (method, address), e)))
        return results

    def call_bootstrap(self, what, call):
        """Runs call(channel) against the bootstrap brokers in turn until one
        answers; a failure other than UNAVAILABLE is raised at once."""
        last = None
        for address in self.config.bootstrap:
            try:
                return call(self.channel(address))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise RpcError(what, e) from None
                last = e
        raise RpcError(
            "%s (cannot reach bootstrap broker %s)" % (what, ",".join(self.config.bootstrap)), last
        ) from None

    def admin(self, what, method, request):
        """Calls Admin.`method` on a bootstrap broker."""
        timeout = self.config.request_timeout_s
        return self.call_bootstrap(
            what, lambda ch: getattr(admin_grpc.AdminStub(ch), method)(request, timeout=timeout)
        )

    def groups(self, what, method, request, timeout=None):
        """Calls Groups.`method` on a bootstrap broker (which forwards it to
        the coordinator)."""
        timeout = timeout or self.config.request_timeout_s
        return self.call_bootstrap(
            what, lambda ch: getattr(groups_grpc.GroupsStub(ch), method)(request, timeout=timeout)
        )

    # ---- metadata ----

    def refresh(self, topics=()):
        """Fetches metadata for `topics` (all topics when empty) and caches
        it. Raises TopicNotFoundError for an unknown topic."""
        request = broker_pb2.MetadataRequest(topics=list(topics))
        timeout = self.config.request_timeout_s

        def call(ch):
            return broker_grpc.BrokerStub(ch).Metadata(request, timeout=timeout)

        try:
            response = self.call_bootstrap("Metadata", call)
        except RpcError as e:
            if e.status == grpc.StatusCode.NOT_FOUND:
                missing = [t for t in topics if ("'%s'" % t) in e.details] or list(topics)
                raise TopicNotFoundError(missing[0]) from None
            raise
        with self._lock:
            for b in response.brokers:
                self._brokers[b.id] = b.address
            if not topics:
                self._topics = {}
            for t in response.topics:
                self._topics[t.name] = t
        return response

    def topic(self, name, refresh=False):
        """The topic's TopicInfo, from the cache unless `refresh`."""
        if not refresh:
            with self._lock:
                t = self._topics.get(name)
            if t is not None:
                return t
        self.refresh([name])
        with self._lock:
            t = self._topics.get(name)
        if t is None:
            raise TopicNotFoundError(name)
        return t

    def invalidate(self, name=None):
        """Forgets cached metadata (one topic, or all) so the next lookup
        asks a broker again."""
        with self._lock:
            if name is None:
                self._topics.clear()
            else:
                self._topics.pop(name, None)

    def partition_count(self, topic):
        return len(self.topic(topic).partitions)

    def leader(self, topic, partition):
        """The leader's address from cached metadata, or None when the
        partition has no leader or the leader's address is unknown."""
        info = self.topic(topic)
        if partition < 0 or partition >= len(info.partitions):
            raise ValueError(
                "partition %d out of range for topic '%s' (%d partitions)"
                % (partition, topic, len(info.partitions))
            )
        leader = info.partitions[partition].leader
        with self._lock:
            return self._brokers.get(leader) if leader >= 0 else None

    def by_leader(self, partitions):
        """Groups (topic, partition) pairs by their leader's address:
        returns ({address: [(topic, partition)]}, [pairs without a known
        leader]). Topics of the latter are invalidated, so that the next
        lookup asks a broker again."""
        groups = {}
        leaderless = []
        for topic, partition in partitions:
            address = self.leader(topic, partition)
            if address is None:
                self.invalidate(topic)
                leaderless.append((topic, partition))
            else:
                groups.setdefault(address, []).append((topic, partition))
        return groups, leaderless

    def set_leader_for_test(self, topic, partition, address):
        """Points a cached partition at `address` (tests make a stale cache)."""
        with self._lock:
            for broker_id, a in self._brokers.items():
                if a == address:
                    self._topics[topic].partitions[partition].leader = broker_id
                    return
        raise ValueError("no broker at " + address)

    def sleep_backoff(self, attempt, deadline=None):
        delay = self.config.backoff(attempt)
        if deadline is not None:
            delay = max(0.0, min(delay, deadline - time.monotonic()))
        time.sleep(delay)

    def close(self):
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
        for ch in channels:
            ch.close()
