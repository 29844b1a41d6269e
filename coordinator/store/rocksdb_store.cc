#include "coordinator/store/rocksdb_store.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace runnel::coordinator::store {
namespace {

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// Every error names the operation and the directory, so a failing disk is
// recognisable in the coordinator's log without more context.
absl::Status StoreError(absl::string_view op, absl::string_view dir, const rocksdb::Status& s) {
  return absl::InternalError(
      absl::StrCat("metadata store ", dir, ": ", op, " failed: ", s.ToString()));
}

rocksdb::WriteOptions SyncWrites() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

}  // namespace

RocksDBStore::RocksDBStore(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

RocksDBStore::~RocksDBStore() = default;

absl::StatusOr<std::unique_ptr<RocksDBStore>> RocksDBStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create metadata store directory ", dir, ": ", ec.message()));
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  // The metadata is small; keep RocksDB's footprint small too.
  options.max_open_files = 64;
  options.keep_log_file_num = 4;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open metadata store in ", dir, ": ", s.ToString()));
  }
  return std::unique_ptr<RocksDBStore>(new RocksDBStore(dir, std::unique_ptr<rocksdb::DB>(raw)));
}

absl::StatusOr<std::string> RocksDBStore::Get(absl::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("key '", key, "' not found"));
  if (!s.ok()) return StoreError(absl::StrCat("get '", key, "'"), dir_, s);
  return value;
}

absl::StatusOr<std::vector<KeyValue>> RocksDBStore::Scan(absl::string_view prefix) {
  std::vector<KeyValue> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(ToSlice(prefix)); it->Valid() && it->key().starts_with(ToSlice(prefix));
       it->Next()) {
    out.emplace_back(std::string(ToView(it->key())), std::string(ToView(it->value())));
  }
  if (!it->status().ok()) {
    return StoreError(absl::StrCat("scan '", prefix, "'"), dir_, it->status());
  }
  return out;
}

absl::Status RocksDBStore::Write(const WriteBatch& batch) {
  rocksdb::WriteBatch rb;
  for (const WriteBatch::Op& op : batch.ops()) {
    rocksdb::Status s = op.kind == WriteBatch::Op::Kind::kPut
                            ? rb.Put(ToSlice(op.key), ToSlice(op.value))
                            : rb.Delete(ToSlice(op.key));
    if (!s.ok()) return StoreError("batch", dir_, s);
  }
  rocksdb::Status s = db_->Write(SyncWrites(), &rb);
  if (!s.ok()) return StoreError("write", dir_, s);
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::store
