#include "broker/storage/offset_map.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace runnel::storage {
namespace {
// Arbitrary distinct salts: the two halves of the hash must be independent.
constexpr uint64_t kSaltHi = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSaltLo = 0xc2b2ae3d27d4eb4fULL;
constexpr double kMaxLoad = 0.9;
}  // namespace

KeyOffsetMap::KeyOffsetMap(size_t memory_bytes)
    : slots_(std::max<size_t>(memory_bytes / sizeof(Slot), 1)),
      capacity_(
          std::max<size_t>(static_cast<size_t>(static_cast<double>(slots_.size()) * kMaxLoad), 1)) {
  // Linear probing needs at least one empty slot to end a search.
  if (capacity_ >= slots_.size()) slots_.resize(capacity_ + 1);
}

void KeyOffsetMap::HashKey(absl::string_view key, uint64_t* hi, uint64_t* lo) {
  *hi = absl::HashOf(kSaltHi, key);
  *lo = absl::HashOf(kSaltLo, key);
}

size_t KeyOffsetMap::Find(uint64_t hi, uint64_t lo) const {
  size_t i = static_cast<size_t>(hi % slots_.size());
  while (slots_[i].offset >= 0 && (slots_[i].hash_hi != hi || slots_[i].hash_lo != lo)) {
    i = i + 1 == slots_.size() ? 0 : i + 1;
  }
  return i;
}

bool KeyOffsetMap::Put(absl::string_view key, int64_t offset) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  HashKey(key, &hi, &lo);
  Slot& slot = slots_[Find(hi, lo)];
  if (slot.offset < 0) {
    if (size_ >= capacity_) return false;
    slot.hash_hi = hi;
    slot.hash_lo = lo;
    ++size_;
  }
  slot.offset = offset;
  return true;
}

int64_t KeyOffsetMap::Get(absl::string_view key) const {
  uint64_t hi = 0;
  uint64_t lo = 0;
  HashKey(key, &hi, &lo);
  return slots_[Find(hi, lo)].offset;
}

void KeyOffsetMap::Clear() {
  std::fill(slots_.begin(), slots_.end(), Slot());
  size_ = 0;
}

}  // namespace runnel::storage
