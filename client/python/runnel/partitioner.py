"""Choosing a partition, compatible with Runnel's C++ client and Kafka's Java
client (client/partitioner.cc), so that a key lands on the same partition
whichever client wrote it:

  - keyed records: to_positive(murmur2(key)) % num_partitions;
  - records without a key: StickyPartitioner keeps a topic on one partition
    until that partition's batch is sent, then moves to the next one.

Thread-safety: the functions are pure; a StickyPartitioner is not thread-safe.
"""

import random

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data):
    """Kafka's Utils.murmur2 of `data` (bytes), as Java's signed 32-bit int."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    length4 = length // 4
    for i in range(length4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n):
    """Kafka's Utils.toPositive: clears the sign bit (not abs)."""
    return n & 0x7FFFFFFF


def partition_for_key(key, num_partitions):
    """The partition Kafka's default partitioner picks for `key` (bytes)."""
    if num_partitions < 1:
        raise ValueError("num_partitions must be >= 1, got %d" % num_partitions)
    return to_positive(murmur2(key)) % num_partitions


class StickyPartitioner:
    """Partitions for records without a key: one partition per topic until
    its batch is sent, then the next, so keyless records fill whole batches
    yet spread evenly. Each topic starts at a random partition, so that many
    short-lived producers do not all pile onto partition 0."""

    def __init__(self, seed=None):
        self._random = random.Random(seed)
        self._current = {}  # topic -> partition

    def partition(self, topic, num_partitions):
        p = self._current.get(topic)
        if p is None:
            p = self._random.randrange(num_partitions)
        p %= num_partitions  # the partition count may have changed
        self._current[topic] = p
        return p

    def on_batch_sent(self, topic, partition, num_partitions):
        if self._current.get(topic) == partition:
            self._current[topic] = (partition + 1) % num_partitions
