// MetadataStore: the small key-value interface behind which the coordinator
// keeps all of its durable state (brokers, topics, counters). It is this small
// on purpose: coordinator HA will move the state to etcd, whose model (get,
// put, delete, range by prefix, atomic multi-op transaction) this mirrors.
//
// Contract for every implementation:
//  - A write (Put, Delete, Write) that returns OK is durable: it survives a
//    process crash and a power loss.
//  - Write applies all of a batch's operations or none of them, in order.
//  - Scan returns keys in byte-wise ascending order.
//  - Missing keys: Get returns NotFound; Delete of a missing key is OK.
// Thread-safety: implementations are thread-safe.
#ifndef RUNNEL_COORDINATOR_STORE_METADATA_STORE_H_
#define RUNNEL_COORDINATOR_STORE_METADATA_STORE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel::coordinator::store {

// Puts and deletes to apply together with MetadataStore::Write.
class WriteBatch {
 public:
  struct Op {
    enum class Kind { kPut, kDelete };
    Kind kind;
    std::string key;
    std::string value;  // empty for kDelete
  };

  void Put(absl::string_view key, absl::string_view value) {
    ops_.push_back({Op::Kind::kPut, std::string(key), std::string(value)});
  }
  void Delete(absl::string_view key) {
    ops_.push_back({Op::Kind::kDelete, std::string(key), std::string()});
  }

  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

using KeyValue = std::pair<std::string, std::string>;

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // The value of `key`, or NotFound.
  virtual absl::StatusOr<std::string> Get(absl::string_view key) = 0;
  // Single-key writes are one-operation batches, so every implementation
  // has exactly one write path to get right.
  absl::Status Put(absl::string_view key, absl::string_view value) {
    WriteBatch batch;
    batch.Put(key, value);
    return Write(batch);
  }
  absl::Status Delete(absl::string_view key) {
    WriteBatch batch;
    batch.Delete(key);
    return Write(batch);
  }
  // Every key starting with `prefix` (all keys for ""), ascending.
  virtual absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix) = 0;
  // Applies the batch atomically.
  virtual absl::Status Write(const WriteBatch& batch) = 0;
};

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_METADATA_STORE_H_
