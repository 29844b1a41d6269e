// Choosing a partition for a produced record, compatible with Kafka's Java
// client so that a key lands on the same partition whichever client wrote it:
//   - keyed records: toPositive(murmur2(key)) % numPartitions (Kafka's
//     default partitioner, byte for byte);
//   - records without a key: StickyPartitioner keeps a topic's records on one
//     partition until that partition's batch is sealed, then moves to the next
//     partition, so null-keyed records form full batches yet spread evenly.
//
// Thread-safety: the free functions are pure; a StickyPartitioner is not
// thread-safe (the producer guards it with its own lock).
#ifndef RUNNEL_CLIENT_PARTITIONER_H_
#define RUNNEL_CLIENT_PARTITIONER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace runnel::client {

// Kafka's Utils.murmur2: 32-bit MurmurHash2 with seed 0x9747b28c, returned as
// Java's signed int.
int32_t Murmur2(absl::string_view data);

// Kafka's Utils.toPositive: clears the sign bit (not abs, which overflows).
inline int32_t ToPositive(int32_t n) { return n & 0x7fffffff; }

// The partition Kafka's default partitioner picks for `key`.
// num_partitions must be >= 1.
int32_t PartitionForKey(absl::string_view key, int32_t num_partitions);

class StickyPartitioner {
 public:
  // Each topic starts at a partition derived from `seed`, so that many
  // short-lived producers (e.g. one CLI call per line) do not all pile onto
  // partition 0. Tests pass a fixed seed.
  explicit StickyPartitioner(uint64_t seed);

  // The partition for the next null-keyed record of `topic`.
  int32_t Partition(const std::string& topic, int32_t num_partitions);

  // Called when the batch of topic-partition `partition` is sealed: if it was
  // the sticky one, the topic moves to the next partition (round robin).
  void OnBatchSealed(const std::string& topic, int32_t partition, int32_t num_partitions);

 private:
  uint64_t seed_;
  std::map<std::string, int32_t> current_;  // topic -> sticky partition
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_PARTITIONER_H_
