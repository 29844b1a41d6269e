// DurableWriter: the one way the log store writes to RocksDB. Each write
// (a rocksdb::WriteBatch) is appended to the broker's WalRing (wal_ring.h)
// and then applied to RocksDB with RocksDB's own write-ahead log off; once
// RocksDB has flushed a write into table files its ring space is released.
// Opening replays into RocksDB whatever the ring holds beyond what RocksDB
// had flushed, so after a crash (kill -9, or with sync on a machine crash)
// the store holds exactly the writes that were acknowledged, in order.
//
// How it knows where to resume: every write carries, in the same WriteBatch,
// the ring position after itself and its ordinal (layout::kWalStateKey), so
// the state RocksDB persisted says which ring record comes next. Writes are
// serialised here (ring append and RocksDB apply under one mutex), so RocksDB
// applies them in ring order and every flushed state is a prefix of the ring.
// Which ring bytes a flush made durable comes from RocksDB's flush events
// (WalFlushListener): the flush's largest sequence number maps back to the
// last write it contains. (The ring and RocksDB's flushes are why writes are
// serialised: with one RocksDB write at a time a sequence number names one
// write.) With atomic_flush, which the log store uses, a flush covers every
// column family up to one point.
//
// Ownership: the DB and the meta column family handle are borrowed and must
// outlive the writer; the writer owns its ring. Close the DB before
// destroying the writer (closing flushes, and the listener reports to it).
// Thread-safety: Write may be called from any thread; the listener calls in
// from RocksDB's flush thread.
#ifndef RUNNEL_BROKER_STORAGE_DURABLE_WRITER_H_
#define RUNNEL_BROKER_STORAGE_DURABLE_WRITER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/storage/wal_ring.h"
#include "rocksdb/listener.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace runnel::storage {

class DurableWriter;

// Forwards RocksDB's flush completions to the DurableWriter attached to it.
// Register it in the DB's options (listeners) before opening the DB: flushes
// before a writer is attached, or after it detaches, are ignored.
class WalFlushListener : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "RunnelWalFlushListener"; }
  void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;

 private:
  friend class DurableWriter;
  void Attach(DurableWriter* writer);
  void Detach();

  absl::Mutex mu_;
  DurableWriter* writer_ ABSL_GUARDED_BY(mu_) = nullptr;
};

class DurableWriter {
 public:
  // Opens (or, for a store that has none yet, creates) the ring at
  // `ring_path`, attaches to `listener` and replays the ring into `db`.
  // FailedPrecondition if the store has a ring that is missing or is another
  // store's (its unflushed writes would be lost: the message says so).
  static absl::StatusOr<std::unique_ptr<DurableWriter>> Open(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
      std::shared_ptr<WalFlushListener> listener, const std::string& ring_path,
      const WalRingOptions& options);
  ~DurableWriter();

  DurableWriter(const DurableWriter&) = delete;
  DurableWriter& operator=(const DurableWriter&) = delete;

  // Logs `batch` in the ring (adding the ring state to it) and applies it to
  // RocksDB; returns once both are done, i.e. the write survives a crash of
  // the process (and, with WalRingOptions::sync, of the machine). The error
  // names what failed but not the caller's context. After a failed RocksDB
  // apply (the DB refuses writes: disk full, I/O error) every later write
  // fails with that error until the store is reopened, which replays it.
  absl::Status Write(rocksdb::WriteBatch* batch);

  // How many ring records Open replayed (for tests and the startup log).
  uint64_t replayed_records() const { return replayed_records_; }
  // Bytes of the ring not yet released (written, not yet flushed by RocksDB).
  uint64_t unreleased_bytes() const { return ring_->unreleased_bytes(); }

 private:
  friend class WalFlushListener;
  DurableWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                std::shared_ptr<WalFlushListener> listener, std::unique_ptr<WalRing> ring);

  // RocksDB flushed every write with sequence number <= largest_seqno.
  void OnFlushed(uint64_t largest_seqno);
  // Asks RocksDB to flush both column families now, without waiting.
  void RequestFlush();
  // Applies `batch` (already in the ring, ending at `ring_end`) to RocksDB.
  absl::Status Apply(rocksdb::WriteBatch* batch, uint64_t ring_end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  const std::shared_ptr<WalFlushListener> listener_;
  const std::unique_ptr<WalRing> ring_;
  uint64_t replayed_records_ = 0;

  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(release_mu_);
  absl::Status failed_ ABSL_GUARDED_BY(write_mu_);
  // Set when a flush was asked for because the ring passed half full;
  // cleared when a flush completes.
  std::atomic<bool> flush_requested_{false};

  absl::Mutex release_mu_;
  // (RocksDB sequence number after a write, ring position after it), oldest
  // first: the writes not yet known to be flushed.
  std::deque<std::pair<uint64_t, uint64_t>> unflushed_ ABSL_GUARDED_BY(release_mu_);
};

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_DURABLE_WRITER_H_
