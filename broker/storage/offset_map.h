// KeyOffsetMap: log compaction's map from a record key to the offset of that
// key's latest record, in a fixed memory budget (Kafka's SkimpyOffsetMap).
//
// Keys are not stored, only a 128-bit hash of each (two differently salted
// 64-bit absl hashes), so an entry is 24 bytes however long the key. Two keys
// with the same hash would make compaction drop the older record of the other
// key; at 128 bits the chance is about n^2 / 2^129 (1e-25 for ten million
// keys), the same bet Kafka makes with MD5. The hash is seeded per process,
// which is fine: a map lives for one compaction pass.
//
// Open addressing with linear probing in one array allocated up front; the
// map counts as full at 90% of its slots so probe runs stay short. Callers
// check room() before adding a batch's keys and compact in chunks when a
// partition has more distinct keys than fit.
// Thread-safety: not thread-safe.
#ifndef RUNNEL_BROKER_STORAGE_OFFSET_MAP_H_
#define RUNNEL_BROKER_STORAGE_OFFSET_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace runnel::storage {

class KeyOffsetMap {
 public:
  // Uses about `memory_bytes` (at least one slot).
  explicit KeyOffsetMap(size_t memory_bytes);

  // Distinct keys held / that fit.
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t room() const { return capacity_ - size_; }

  // Makes `offset` the latest offset of `key`. Returns false (and changes
  // nothing) when the key is new and the map is full.
  bool Put(absl::string_view key, int64_t offset);
  // The latest offset put for `key`, or -1.
  int64_t Get(absl::string_view key) const;

  void Clear();

 private:
  struct Slot {
    uint64_t hash_hi = 0;
    uint64_t hash_lo = 0;
    int64_t offset = -1;  // -1: empty (offsets are never negative)
  };
  // The slot holding `key`'s hash, or the empty slot where it would go.
  size_t Find(uint64_t hi, uint64_t lo) const;
  static void HashKey(absl::string_view key, uint64_t* hi, uint64_t* lo);

  std::vector<Slot> slots_;
  size_t capacity_;
  size_t size_ = 0;
};

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_OFFSET_MAP_H_
