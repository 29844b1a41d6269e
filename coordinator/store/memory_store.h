// MemoryStore: a MetadataStore held in a std::map, for unit tests. It is a
// real implementation of the contract (atomic batches, ordered scans), only
// not durable: "restarting" a component means building a new one on the same
// MemoryStore.
// Thread-safety: thread-safe (one mutex).
#ifndef RUNNEL_COORDINATOR_STORE_MEMORY_STORE_H_
#define RUNNEL_COORDINATOR_STORE_MEMORY_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "coordinator/store/metadata_store.h"

namespace runnel::coordinator::store {

class MemoryStore : public MetadataStore {
 public:
  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix) override;
  absl::Status Write(const WriteBatch& batch) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> data_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_MEMORY_STORE_H_
