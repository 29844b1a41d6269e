// PartitionLog: the ordered, offset-addressed log of one partition replica on
// this broker, and LogManager, which owns the broker's single RocksDB instance
// and every PartitionLog in it.
//
// The log stores whole record batches (proto/batch) keyed by partition and by
// the batch's LAST offset, so that one forward Seek(offset) lands on the batch
// containing `offset`; layout.h explains the key layout. The log knows nothing
// of the network, leaders or replication: callers pass leader epochs in and
// decide the high watermark. Retention and compaction (log_cleaner.h) work
// through TruncatePrefix, ScanBatches and RewriteBatches.
//
// Every write goes through the LogManager's DurableWriter (durable_writer.h):
// into the write-ahead ring first, then into RocksDB with its own WAL off.
//
// Ownership: LogManager owns the RocksDB handle and the DurableWriter; PartitionLogs are shared
// (std::shared_ptr) so a fetch in flight keeps its log alive across a delete.
// Every PartitionLog must be released before the LogManager is destroyed.
// Thread-safety: all methods of both classes are thread-safe. Appends to one
// partition are serialised by the partition's mutex; reads do not take it
// beyond copying offsets. (Two mutexes in fact: write_mu_ serialises writers
// and is held across the durable write, mu_ guards the in-memory offsets and is
// only held briefly, so a fetch never waits behind a slow, synced append.)
// Writes of all partitions are serialised once more inside the DurableWriter.
#ifndef RUNNEL_BROKER_STORAGE_LOG_H_
#define RUNNEL_BROKER_STORAGE_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/storage/durable_writer.h"
#include "proto/batch/record_batch.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace runnel::storage {

// Identifies a partition replica on disk. topic_id is the coordinator-assigned
// id that is never reused, so a re-created topic never sees old data.
struct PartitionId {
  uint64_t topic_id = 0;
  int32_t partition = 0;

  friend bool operator<(const PartitionId& a, const PartitionId& b) {
    return a.topic_id != b.topic_id ? a.topic_id < b.topic_id : a.partition < b.partition;
  }
  friend bool operator==(const PartitionId& a, const PartitionId& b) {
    return a.topic_id == b.topic_id && a.partition == b.partition;
  }
};

struct StorageOptions {
  // Directory of the RocksDB instance and of the write-ahead ring
  // (kWalRingFileName in it); created if missing.
  std::string data_dir;
  // fsync the write-ahead ring before an append returns. Off by default: an
  // appended batch is in the ring (the OS page cache) before Append returns,
  // which survives a process crash (kill -9); replication covers machine
  // loss, as in Kafka.
  bool sync_writes = false;
  // Size of the write-ahead ring (durable_writer.h), written whole (zeros)
  // and fixed when the store is created. It must hold every write RocksDB
  // has not flushed yet: about two memtables' worth normally, four (256 MiB)
  // at most before RocksDB stalls writes; at half full the store asks
  // RocksDB to flush early. Tests use small ones.
  uint64_t wal_bytes = uint64_t{512} << 20;
};

// The write-ahead ring's file name in StorageOptions::data_dir.
inline constexpr char kWalRingFileName[] = "wal.ring";

struct AppendResult {
  int64_t base_offset = 0;  // offset of the first record appended
  int64_t last_offset = 0;  // offset of the last record appended
  int64_t log_end_offset = 0;
};

// One change log compaction makes to a stored batch (PartitionLog::RewriteBatches).
struct BatchRewrite {
  // The stored batch's header as the cleaner read it: the rewrite applies only
  // if the batch stored under original.last_offset() is still that batch.
  batch::BatchHeader original;
  // The batch that replaces it, with the same base offset and last offset, or
  // nullopt to delete the batch.
  std::optional<std::string> replacement;
};

class PartitionLog {
 public:
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  const PartitionId& id() const { return id_; }

  // Appends already-validated batches atomically (all or none, one RocksDB
  // write), assigning consecutive offsets from log_end_offset() and stamping
  // `leader_epoch` into each batch. Returns once the write is in the
  // write-ahead ring and RocksDB.
  // InvalidArgument (naming the batch) if a header does not parse or its
  // length disagrees with the batch's size; NotFound once deleted.
  absl::StatusOr<AppendResult> Append(const std::vector<absl::string_view>& batches,
                                      int32_t leader_epoch);

  // Returns whole batches, back to back, starting with the batch that contains
  // `offset`, stopping before the first batch whose last offset is >=
  // `max_offset` (exclusive bound, e.g. the high watermark) and once more than
  // `max_bytes` would be returned, except that at least one batch is returned
  // when one is available. Empty when offset >= max_offset.
  // OutOfRange, naming the valid range, when offset < log_start_offset() or
  // offset > log_end_offset().
  absl::StatusOr<std::string> Read(int64_t offset, size_t max_bytes, int64_t max_offset) const;

  // The first offset whose batch's max timestamp is >= timestamp_ms (the first
  // record of that batch), or log_end_offset() if none. Batch granularity:
  // records of that batch may be older than timestamp_ms.
  absl::StatusOr<int64_t> OffsetForTimestamp(int64_t timestamp_ms) const;

  // First offset still in the log.
  int64_t log_start_offset() const;
  // The offset the next appended record will get.
  int64_t log_end_offset() const;
  // Total bytes of the stored batches (whole batches, headers included; not
  // RocksDB's on-disk size). Exact: kept in memory and persisted in the
  // partition's metadata by the same atomic write that changes the batches,
  // so opening a log needs no scan. What retention.bytes limits.
  int64_t size_bytes() const;

  // Calls fn(batch) for each stored batch whose last offset is in
  // [max(from, log_start_offset()), to), in offset order, until fn returns
  // false. The batches come from one consistent RocksDB snapshot; each view
  // is valid during its call only. Reads bypass the block cache, so that a
  // background scan does not evict the tail consumers read. Memory stays at
  // one batch whatever the range. NotFound once deleted.
  absl::Status ScanBatches(int64_t from, int64_t to,
                           const std::function<bool(absl::string_view batch)>& fn) const;

  // Log compaction: replaces or deletes whole batches in one atomic write,
  // adjusting size_bytes(); offsets never change. Returns how many rewrites
  // applied. A rewrite is skipped (not an error) when its batch is gone or
  // no longer the one the caller read (a truncation or another rewrite got
  // there first), and a deletion is skipped for the batch that holds the
  // log's last offset: recovery finds log_end_offset() from that batch, so
  // the caller keeps an empty batch there instead (see batch::BatchBuilder).
  // InvalidArgument if a replacement does not parse or its offset range
  // differs from the original's; NotFound once deleted.
  absl::StatusOr<int> RewriteBatches(const std::vector<BatchRewrite>& rewrites);

  // Blocks until log_end_offset() > offset or `deadline` passes; returns
  // whether data is available. Used for long-poll fetches. Returns false at
  // once if the log is (or gets) deleted.
  bool WaitForAppend(int64_t offset, absl::Time deadline) const;

  // Leader-epoch history (KIP-101), oldest first: (epoch, start offset) for
  // each epoch in which this replica appended, i.e. the first offset written
  // with that epoch. Append records an entry whenever it is called with an
  // epoch newer than the latest entry (and >= 0); it stores batches with an
  // older epoch as asked but does not record that epoch (rejecting stale
  // leaders is the caller's job). Persisted; survives reopen.
  std::vector<std::pair<int32_t, int64_t>> EpochHistory() const;

  // Advances log_start_offset() to `new_start` (retention, DeleteRecords):
  // deletes the batches wholly below it and persists the new start. A batch
  // straddling new_start is kept (reads from new_start return it whole, as in
  // Kafka). Epoch entries that end before new_start are dropped and the one
  // covering it now starts at new_start. A no-op if new_start <=
  // log_start_offset(); OutOfRange if new_start > log_end_offset().
  absl::Status TruncatePrefix(int64_t new_start);

  // Removes every record at offset >= new_end, so log_end_offset() becomes
  // new_end (a follower discarding a suffix that diverged from its leader).
  // Deletes the batches with base offset >= new_end and the epoch entries
  // starting at or after new_end. FailedPrecondition if a batch straddles
  // new_end (base < new_end <= last): splitting a batch would mean re-encoding
  // it, and replication truncates at batch boundaries, so we refuse rather than
  // lose or keep records silently. A no-op if new_end == log_end_offset();
  // OutOfRange if new_end is outside [log_start_offset(), log_end_offset()].
  absl::Status TruncateSuffix(int64_t new_end);

  // --- Replication (followers) ---

  // Appends batches fetched from the leader, keeping their base offsets and
  // leader epochs as stamped by the leader (compacted batches may leave
  // offset gaps, so offsets come from the headers, not from counting).
  // Each batch must start at or after the previous one's end (the first at or
  // after log_end_offset()); gaps are allowed, since compaction on the leader
  // deletes whole batches. One exception: when this log is empty (start ==
  // end, e.g. after ResetTo) the first batch may straddle the end (base <
  // end <= last), because the leader returns whole batches and retention
  // keeps a batch straddling its log start; log_start_offset() stays. Records
  // an epoch-history entry for each epoch newer than latest_epoch(), starting
  // at the batch's base offset (or the log end, if it straddles it). One
  // atomic write; wakes WaitForAppend. InvalidArgument naming the offending
  // batch otherwise (nothing written); NotFound once deleted.
  // AppendResult::base_offset is where the appended records start (the first
  // batch's base offset, or the old end if it straddles it).
  absl::StatusOr<AppendResult> AppendReplicated(const std::vector<absl::string_view>& batches);

  // Discards everything and makes the log empty at `offset`
  // (log_start_offset() == log_end_offset() == offset): a follower whose log
  // lies wholly below the leader's log start (or diverged below its own
  // start) starts over there. Clears the epoch history. One atomic write.
  // InvalidArgument if offset < 0; NotFound once deleted.
  absl::Status ResetTo(int64_t offset);

  // KIP-101: for a follower that last fetched in `epoch`, the end of that
  // epoch in this log: the largest epoch <= `epoch` in the history and the
  // start offset of the next epoch after it (or log_end_offset() if it is the
  // latest). nullopt when the history has no epoch <= `epoch`.
  std::optional<std::pair<int32_t, int64_t>> EndOffsetForEpoch(int32_t epoch) const;

  // The epoch of the last entry in the history, or -1 when empty.
  int32_t latest_epoch() const;

 private:
  friend class LogManager;
  PartitionLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf, DurableWriter* writer,
               PartitionId id);
  absl::Status Recover();  // loads start/end offsets, size and epoch history from disk
  // ScanBatches without the deleted check or clamping to the start.
  absl::Status ScanRange(int64_t from, int64_t to,
                         const std::function<bool(absl::string_view batch)>& fn) const;
  // Sum of the sizes of the batches whose last offset is in [from, to).
  absl::StatusOr<int64_t> BytesInRange(int64_t from, int64_t to) const;
  // Makes every later call fail with NotFound (or return false/empty) and
  // wakes WaitForAppend callers. Used by LogManager::Delete and on close.
  void MarkDeleted() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The end of both appends: adds the partition's meta (start, new size) to
  // `write_batch`, writes it, and publishes the new end, size and epochs.
  absl::StatusOr<AppendResult> CommitAppend(rocksdb::WriteBatch* write_batch, int64_t start,
                                            int64_t size, int64_t next_offset,
                                            std::vector<std::pair<int32_t, int64_t>> new_epochs,
                                            absl::string_view what, AppendResult result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Writes `batch` durably (DurableWriter), naming `what` and the partition
  // in an error.
  absl::Status Write(rocksdb::WriteBatch* batch, absl::string_view what);

  rocksdb::DB* const db_;
  // The column family of the meta and epoch keys (layout.h); batches are in
  // the default one. Owned by the LogManager.
  rocksdb::ColumnFamilyHandle* const meta_cf_;
  // Every write goes through it. Owned by the LogManager.
  DurableWriter* const writer_;
  const PartitionId id_;
  // Serialises everything that writes this partition's keys. Lock order:
  // LogManager::mu_, then write_mu_, then mu_.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  int64_t log_start_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t log_end_offset_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t size_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped (under write_mu_ and mu_) by every write that removes or replaces
  // existing batches, i.e. everything but Append: lets TruncatePrefix sum the
  // batches it removes before taking write_mu_, then check nothing changed.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool deleted_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<int32_t, int64_t>> epochs_ ABSL_GUARDED_BY(mu_);
};

class LogManager {
 public:
  // Opens (or creates) the broker's log store and recovers every partition in it.
  static absl::StatusOr<std::unique_ptr<LogManager>> Open(const StorageOptions& options);
  ~LogManager();

  // Returns the partition's log, creating an empty one if it does not exist
  // (persisted at once, so it survives a restart). InvalidArgument if
  // id.partition < 0.
  absl::StatusOr<std::shared_ptr<PartitionLog>> GetOrCreate(const PartitionId& id);
  // Returns the partition's log or nullptr.
  std::shared_ptr<PartitionLog> Get(const PartitionId& id) const;
  // Every partition stored here.
  std::vector<PartitionId> List() const;
  // Deletes a partition and all its data (range delete + compaction of its
  // key range, so the space is freed). Outstanding shared_ptrs see an empty,
  // unusable log: their reads fail with NotFound. NotFound if the partition
  // does not exist (callers reconciling state may treat that as done).
  // GetOrCreate(id) afterwards starts a new, empty log at offset 0.
  absl::Status Delete(const PartitionId& id);

  // RocksDB's estimate of the bytes the partition's batches take, on disk and
  // in memtables (for metrics and tests; not exact, and 0 for unknown ids).
  uint64_t ApproximateSizeBytes(const PartitionId& id) const;

  // RocksDB diagnostics of the column family holding the batches, for
  // benchmarks and metrics: a property's value (e.g.
  // "rocksdb.num-running-compactions"), or nullopt if RocksDB does not know it.
  std::optional<std::string> LogProperty(const std::string& name) const;
  // A map property, e.g. "rocksdb.cfstats" (per-level compaction statistics,
  // keys like "compaction.Sum.WriteGB"); empty if unknown.
  std::map<std::string, std::string> LogMapProperty(const std::string& name) const;

  // How many write-ahead ring records Open replayed into RocksDB: the writes
  // a crash had left unflushed (0 after a clean shutdown).
  uint64_t replayed_wal_records() const { return writer_->replayed_records(); }
  // Bytes written to the write-ahead ring and not yet flushed by RocksDB.
  uint64_t unflushed_wal_bytes() const { return writer_->unreleased_bytes(); }

 private:
  LogManager(std::shared_ptr<WalFlushListener> listener, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles, StorageOptions options);

  // Declared before db_ so they outlive it: closing the DB flushes, and the
  // flush is reported to the writer through the listener.
  std::shared_ptr<WalFlushListener> listener_;
  std::unique_ptr<DurableWriter> writer_;
  std::unique_ptr<rocksdb::DB> db_;
  // Handles of every column family, released before db_ closes; meta_cf_ is
  // one of them (layout::kMetaColumnFamily).
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  const StorageOptions options_;
  mutable absl::Mutex mu_;
  std::map<PartitionId, std::shared_ptr<PartitionLog>> logs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_LOG_H_
