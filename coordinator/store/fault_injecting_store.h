// FaultInjectingStore: wraps another MetadataStore and, while armed, fails
// every write with Unavailable without applying it. Tests use it to check that
// a failed persist leaves in-memory state untouched. Test-only.
// Ownership: does not own the wrapped store.
// Thread-safety: as the wrapped store; arm/disarm from the test thread only.
#ifndef RUNNEL_COORDINATOR_STORE_FAULT_INJECTING_STORE_H_
#define RUNNEL_COORDINATOR_STORE_FAULT_INJECTING_STORE_H_

#include <string>
#include <vector>

#include "coordinator/store/metadata_store.h"

namespace runnel::coordinator::store {

class FaultInjectingStore : public MetadataStore {
 public:
  explicit FaultInjectingStore(MetadataStore* inner) : inner_(inner) {}

  void set_fail_writes(bool fail) { fail_writes_ = fail; }

  absl::StatusOr<std::string> Get(absl::string_view key) override { return inner_->Get(key); }
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix) override {
    return inner_->Scan(prefix);
  }
  absl::Status Write(const WriteBatch& batch) override {
    return fail_writes_ ? Injected() : inner_->Write(batch);
  }

 private:
  static absl::Status Injected() { return absl::UnavailableError("injected write failure"); }

  MetadataStore* inner_;
  bool fail_writes_ = false;
};

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_FAULT_INJECTING_STORE_H_
