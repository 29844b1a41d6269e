"""The errors the runnel package raises, and which broker error codes are
worth retrying (the same lists as the C++ client's client/errors.cc).

A broker reports per-partition problems as an ErrorCode (types.proto) inside
a successful gRPC answer; request-wide problems come back as the gRPC status.
"""

import grpc

from runnel._proto import types_pb2

NONE = types_pb2.ERROR_CODE_NONE
UNKNOWN_TOPIC_OR_PARTITION = types_pb2.ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION
NOT_LEADER = types_pb2.ERROR_CODE_NOT_LEADER
OFFSET_OUT_OF_RANGE = types_pb2.ERROR_CODE_OFFSET_OUT_OF_RANGE
CORRUPT_BATCH = types_pb2.ERROR_CODE_CORRUPT_BATCH
NOT_ENOUGH_REPLICAS = types_pb2.ERROR_CODE_NOT_ENOUGH_REPLICAS
FENCED_LEADER_EPOCH = types_pb2.ERROR_CODE_FENCED_LEADER_EPOCH
UNKNOWN_LEADER_EPOCH = types_pb2.ERROR_CODE_UNKNOWN_LEADER_EPOCH
LEADER_NOT_AVAILABLE = types_pb2.ERROR_CODE_LEADER_NOT_AVAILABLE
REQUEST_TIMED_OUT = types_pb2.ERROR_CODE_REQUEST_TIMED_OUT
UNKNOWN_MEMBER_ID = types_pb2.ERROR_CODE_UNKNOWN_MEMBER_ID
STALE_GENERATION = types_pb2.ERROR_CODE_STALE_GENERATION

# A retry may succeed: the leader moved or is being elected, the broker has
# not learnt of a new topic yet, too few in-sync replicas, a timeout.
RETRIABLE_CODES = frozenset(
    {
        UNKNOWN_TOPIC_OR_PARTITION,
        NOT_LEADER,
        NOT_ENOUGH_REPLICAS,
        FENCED_LEADER_EPOCH,
        UNKNOWN_LEADER_EPOCH,
        LEADER_NOT_AVAILABLE,
        REQUEST_TIMED_OUT,
    }
)

# The client's metadata (who leads what) is probably stale.
REFRESH_METADATA_CODES = frozenset(
    {
        UNKNOWN_TOPIC_OR_PARTITION,
        NOT_LEADER,
        FENCED_LEADER_EPOCH,
        UNKNOWN_LEADER_EPOCH,
        LEADER_NOT_AVAILABLE,
    }
)

# gRPC statuses of a whole call that are transport trouble, worth a retry.
RETRIABLE_GRPC = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def code_name(code):
    try:
        return types_pb2.ErrorCode.Name(code)
    except ValueError:
        return "ERROR_CODE_%d" % code


class RunnelError(Exception):
    """Base of every error this package raises."""

    retriable = False


class BrokerError(RunnelError):
    """A per-partition ErrorCode from a broker (or the coordinator)."""

    def __init__(self, code, message, topic=None, partition=None):
        self.code = code
        self.topic = topic
        self.partition = partition
        where = "" if topic is None else " (%s-%s)" % (topic, partition)
        super().__init__("%s: %s%s" % (code_name(code), message or "no detail", where))

    @property
    def retriable(self):
        return self.code in RETRIABLE_CODES


class OffsetOutOfRangeError(BrokerError):
    """A fetch offset outside [log start, high watermark]; the message names
    the valid range."""


class CommitFailedError(BrokerError):
    """A group commit was fenced: the member was removed (UNKNOWN_MEMBER_ID)
    or no longer owns the partition (STALE_GENERATION)."""


class RpcError(RunnelError):
    """A gRPC call failed as a whole."""

    def __init__(self, what, error):
        self.status = error.code() if hasattr(error, "code") else None
        self.details = error.details() if hasattr(error, "details") else str(error)
        name = self.status.name if self.status is not None else "ERROR"
        super().__init__("%s: %s: %s" % (what, name, self.details))

    @property
    def retriable(self):
        return self.status in RETRIABLE_GRPC


class TopicNotFoundError(RunnelError):
    def __init__(self, topic):
        self.topic = topic
        super().__init__("topic '%s' not found" % topic)


class CorruptBatchError(RunnelError):
    """A fetched record batch failed its checks (CRC, lengths, structure)."""


class UnsupportedCompressionError(CorruptBatchError):
    """A batch uses a codec this client cannot decode (gzip, snappy), or the
    system library for lz4/zstd is missing."""


class RetriesExhaustedError(RunnelError):
    """A request kept failing with retriable errors (leader moving, broker
    down) for all its retries; the message carries the last error."""

    retriable = True


class DeliveryTimeoutError(RetriesExhaustedError):
    """A produce kept failing with retriable errors until its delivery
    timeout."""
