#include "client/partitioner.h"

namespace runnel::client {

int32_t Murmur2(absl::string_view data) {
  // Unsigned arithmetic gives Java's wrapping int multiplication and >>>.
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const uint32_t length = static_cast<uint32_t>(data.size());
  const auto byte = [&data](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data[i])); };
  uint32_t h = 0x9747b28c ^ length;
  const size_t length4 = data.size() / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = byte(i4) | (byte(i4 + 1) << 8) | (byte(i4 + 2) << 16) | (byte(i4 + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = data.size() & ~size_t{3};
  switch (data.size() % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionForKey(absl::string_view key, int32_t num_partitions) {
  return ToPositive(Murmur2(key)) % num_partitions;
}

StickyPartitioner::StickyPartitioner(uint64_t seed) : seed_(seed) {}

int32_t StickyPartitioner::Partition(const std::string& topic, int32_t num_partitions) {
  auto it = current_.find(topic);
  if (it == current_.end()) {
    uint64_t start = seed_ ^ static_cast<uint64_t>(ToPositive(Murmur2(topic)));
    it = current_.emplace(topic, static_cast<int32_t>(start % num_partitions)).first;
  }
  // The partition count may have grown or shrunk since we chose.
  it->second %= num_partitions;
  return it->second;
}

void StickyPartitioner::OnBatchSealed(const std::string& topic, int32_t partition,
                                      int32_t num_partitions) {
  auto it = current_.find(topic);
  if (it == current_.end() || it->second != partition) return;
  it->second = (partition + 1) % num_partitions;
}

}  // namespace runnel::client
