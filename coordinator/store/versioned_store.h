// VersionedStore: the coordinator's only way to change its MetadataStore. It
// adds the metadata version bump (meta/version) to every committed batch, in
// the same atomic write, so a change and its version can never be persisted
// one without the other: brokers compare versions to decide whether to
// refresh, and a change hidden behind an unchanged version would be missed.
//
// Ownership: does not own the MetadataStore, which must outlive it.
// Thread-safety: not thread-safe; the Coordinator serialises all calls.
#ifndef RUNNEL_COORDINATOR_STORE_VERSIONED_STORE_H_
#define RUNNEL_COORDINATOR_STORE_VERSIONED_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/store/metadata_store.h"

namespace runnel::coordinator::store {

class VersionedStore {
 public:
  // Reads the persisted version (0 for an empty store).
  static absl::StatusOr<std::unique_ptr<VersionedStore>> Open(MetadataStore* store);

  // The version of the last committed change.
  int64_t version() const { return version_; }

  // Reads pass straight through.
  absl::StatusOr<std::string> Get(absl::string_view key) { return store_->Get(key); }
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix) {
    return store_->Scan(prefix);
  }
  // A decimal integer value, `if_missing` when the key is absent, DataLoss
  // when the value is not a number.
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t if_missing);

  // Writes `batch` plus version() + 1, atomically; version() advances only
  // if the write succeeded.
  absl::Status Commit(WriteBatch batch);

 private:
  VersionedStore(MetadataStore* store, int64_t version) : store_(store), version_(version) {}

  MetadataStore* store_;
  int64_t version_;
};

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_VERSIONED_STORE_H_
