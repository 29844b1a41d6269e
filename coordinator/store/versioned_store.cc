#include "coordinator/store/versioned_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coordinator/errors.h"
#include "coordinator/store/keys.h"

namespace runnel::coordinator::store {

absl::StatusOr<std::unique_ptr<VersionedStore>> VersionedStore::Open(MetadataStore* store) {
  std::unique_ptr<VersionedStore> vs(new VersionedStore(store, 0));
  absl::StatusOr<int64_t> version = vs->GetInt(kVersionKey, 0);
  if (!version.ok()) return version.status();
  vs->version_ = *version;
  return vs;
}

absl::StatusOr<int64_t> VersionedStore::GetInt(absl::string_view key, int64_t if_missing) {
  absl::StatusOr<std::string> value = store_->Get(key);
  if (absl::IsNotFound(value.status())) return if_missing;
  if (!value.ok()) return value.status();
  int64_t n = 0;
  if (!absl::SimpleAtoi(*value, &n)) {
    return CorruptMetadataError(key, absl::StrCat("'", *value, "' is not an integer"));
  }
  return n;
}

absl::Status VersionedStore::Commit(WriteBatch batch) {
  batch.Put(kVersionKey, absl::StrCat(version_ + 1));
  absl::Status s = store_->Write(batch);
  if (s.ok()) ++version_;
  return s;
}

}  // namespace runnel::coordinator::store
