// RocksDBStore: the MetadataStore of a single-node coordinator, one RocksDB
// instance in the coordinator's data dir. Every write is synced (WAL fsync)
// before it returns, so an acknowledged metadata change survives power loss;
// metadata changes are rare, so the cost does not matter.
//
// Ownership: owns the RocksDB handle; RocksDB's LOCK file keeps a second
// process from opening the same dir.
// Thread-safety: thread-safe (RocksDB is).
#ifndef RUNNEL_COORDINATOR_STORE_ROCKSDB_STORE_H_
#define RUNNEL_COORDINATOR_STORE_ROCKSDB_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "coordinator/store/metadata_store.h"

namespace rocksdb {
class DB;
}

namespace runnel::coordinator::store {

class RocksDBStore : public MetadataStore {
 public:
  // Opens (creating it and its parents if missing) the store in `dir`.
  static absl::StatusOr<std::unique_ptr<RocksDBStore>> Open(const std::string& dir);
  ~RocksDBStore() override;

  absl::StatusOr<std::string> Get(absl::string_view key) override;
  absl::StatusOr<std::vector<KeyValue>> Scan(absl::string_view prefix) override;
  absl::Status Write(const WriteBatch& batch) override;

 private:
  RocksDBStore(std::string dir, std::unique_ptr<rocksdb::DB> db);

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_ROCKSDB_STORE_H_
