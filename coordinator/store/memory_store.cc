#include "coordinator/store/memory_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace runnel::coordinator::store {

absl::StatusOr<std::string> MemoryStore::Get(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return absl::NotFoundError(absl::StrCat("key '", key, "' not found"));
  return it->second;
}

absl::StatusOr<std::vector<KeyValue>> MemoryStore::Scan(absl::string_view prefix) {
  absl::MutexLock lock(&mu_);
  std::vector<KeyValue> out;
  for (auto it = data_.lower_bound(prefix);
       it != data_.end() && absl::StartsWith(it->first, prefix); ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

absl::Status MemoryStore::Write(const WriteBatch& batch) {
  // Nothing here can fail half-way, so applying in order is atomic under the lock.
  absl::MutexLock lock(&mu_);
  for (const WriteBatch::Op& op : batch.ops()) {
    if (op.kind == WriteBatch::Op::Kind::kPut) {
      data_[op.key] = op.value;
    } else {
      data_.erase(op.key);
    }
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::store
