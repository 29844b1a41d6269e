"""Admin: topics, cluster description, consumer groups and offset lookups.

Admin and Groups calls go to a bootstrap broker, which forwards them to the
coordinator. gRPC failures are raised as RpcError (e.g. status
ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT with the server's message).

Thread-safety: like Cluster, safe to share between threads.
"""

import time

import grpc

from runnel._proto import admin_pb2, broker_pb2, groups_pb2
from runnel.cluster import Cluster, ClientConfig
from runnel.errors import BrokerError, RetriesExhaustedError, RpcError, TopicNotFoundError

EARLIEST = broker_pb2.OFFSET_SPEC_EARLIEST
LATEST = broker_pb2.OFFSET_SPEC_LATEST
TIMESTAMP = broker_pb2.OFFSET_SPEC_TIMESTAMP


def list_offsets(cluster, partitions, spec, timestamp_ms=0):
    """{(topic, partition): offset} for each (topic, partition) with
    ListOffsets at its leader, retrying retriable errors after a metadata
    refresh. `spec` is EARLIEST, LATEST or TIMESTAMP."""
    todo = set(partitions)
    result = {}
    last_error = None
    for attempt in range(cluster.config.retries + 1):
        if not todo:
            return result
        if attempt:
            cluster.sleep_backoff(attempt - 1)
        by_leader, leaderless = cluster.by_leader(sorted(todo))
        if leaderless:
            last_error = "partition %s-%d has no leader" % leaderless[0]
        requests = [
            (
                address,
                broker_pb2.ListOffsetsRequest(
                    partitions=[
                        broker_pb2.ListOffsetsPartition(
                            topic=t, partition=p, spec=spec, timestamp_ms=timestamp_ms
                        )
                        for t, p in tps
                    ]
                ),
                None,
            )
            for address, tps in by_leader.items()
        ]
        timeout = cluster.config.request_timeout_s
        for _, _, response, err in cluster.call_brokers("ListOffsets", requests, timeout):
            if err is not None:
                if not err.retriable:
                    raise err
                cluster.invalidate()
                last_error = str(err)
                continue
            for p in response.partitions:
                if p.error_code == 0:
                    result[(p.topic, p.partition)] = p.offset
                    todo.discard((p.topic, p.partition))
                    continue
                err = BrokerError(p.error_code, p.error_message, p.topic, p.partition)
                if not err.retriable:
                    raise err
                cluster.invalidate(p.topic)
                last_error = str(err)
    if todo:
        raise RetriesExhaustedError("ListOffsets kept failing: %s" % last_error)
    return result


class Admin:
    """Cluster administration through one bootstrap broker."""

    def __init__(self, bootstrap="127.0.0.1:9092", cluster=None, **config):
        self._owns_cluster = cluster is None
        self.cluster = cluster or Cluster(ClientConfig(bootstrap, **config))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._owns_cluster:
            self.cluster.close()

    # ---- topics ----

    def create_topic(
        self, name, partitions=1, replication_factor=1, configs=None, exist_ok=False, wait_s=10.0
    ):
        """Creates a topic and waits (up to wait_s) until the bootstrap
        broker's metadata shows a leader for every partition, so that a
        produce right after it finds the topic. Returns its TopicInfo. With
        exist_ok, an existing topic is returned instead of ALREADY_EXISTS."""
        request = admin_pb2.CreateTopicRequest(
            name=name,
            partitions=partitions,
            replication_factor=replication_factor,
            configs=configs or {},
        )
        try:
            self.cluster.admin("CreateTopic '%s'" % name, "CreateTopic", request)
        except RpcError as e:
            if not (exist_ok and e.status == grpc.StatusCode.ALREADY_EXISTS):
                raise
        return self.wait_for_topic(name, wait_s)

    def wait_for_topic(self, name, wait_s=10.0):
        deadline = time.monotonic() + wait_s
        attempt = 0
        while True:
            try:
                info = self.cluster.topic(name, refresh=True)
                if info.partitions and all(p.leader >= 0 for p in info.partitions):
                    return info
            except TopicNotFoundError:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                return info
            self.cluster.sleep_backoff(attempt, deadline)
            attempt += 1

    def delete_topic(self, name):
        self.cluster.admin("DeleteTopic '%s'" % name, "DeleteTopic", admin_pb2.DeleteTopicRequest(name=name))
        self.cluster.invalidate(name)

    def list_topics(self):
        return list(self.cluster.admin("ListTopics", "ListTopics", admin_pb2.ListTopicsRequest()).names)

    def describe_topic(self, name):
        """TopicInfo: partitions with leader, replicas, ISR; configs."""
        return self.cluster.admin(
            "DescribeTopic '%s'" % name, "DescribeTopic", admin_pb2.DescribeTopicRequest(name=name)
        ).topic

    def describe_cluster(self):
        return self.cluster.admin(
            "DescribeCluster", "DescribeCluster", admin_pb2.DescribeClusterRequest()
        )

    def create_partitions(self, name, total_count):
        topic = self.cluster.admin(
            "CreatePartitions '%s'" % name,
            "CreatePartitions",
            admin_pb2.CreatePartitionsRequest(name=name, total_count=total_count),
        ).topic
        self.cluster.invalidate(name)
        return topic

    # ---- offsets ----

    def end_offsets(self, topic):
        """{partition: next offset to be written} for every partition."""
        n = self.cluster.partition_count(topic)
        found = list_offsets(self.cluster, [(topic, p) for p in range(n)], LATEST)
        return {p: found[(topic, p)] for p in range(n)}

    def beginning_offsets(self, topic):
        n = self.cluster.partition_count(topic)
        found = list_offsets(self.cluster, [(topic, p) for p in range(n)], EARLIEST)
        return {p: found[(topic, p)] for p in range(n)}

    # ---- consumer groups ----

    def list_groups(self):
        return list(self.cluster.groups("ListGroups", "ListGroups", groups_pb2.ListGroupsRequest()).groups)

    def describe_group(self, group_id):
        """DescribeGroupResponse: state, generation, members, offsets."""
        return self.cluster.groups(
            "DescribeGroup '%s'" % group_id,
            "DescribeGroup",
            groups_pb2.DescribeGroupRequest(group_id=group_id),
        )

    def committed_offsets(self, group_id, topic=None):
        """{(topic, partition): committed offset} (-1: none committed); every
        partition of `topic` when given, else every committed one."""
        parts = []
        if topic is not None:
            n = self.cluster.partition_count(topic)
            parts = [groups_pb2.TopicPartitions(topic=topic, partitions=range(n))]
        response = self.cluster.groups(
            "FetchOffsets '%s'" % group_id,
            "FetchOffsets",
            groups_pb2.FetchOffsetsRequest(group_id=group_id, partitions=parts),
        )
        return {(o.topic, o.partition): o.offset for o in response.offsets}

    def delete_group(self, group_id):
        self.cluster.groups(
            "DeleteGroup '%s'" % group_id, "DeleteGroup", groups_pb2.DeleteGroupRequest(group_id=group_id)
        )
