#include "broker/storage/log.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/storage/errors.h"
#include "broker/storage/layout.h"
#include "proto/batch/record_batch.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace runnel::storage {
namespace {

constexpr int64_t kMaxOffset = std::numeric_limits<int64_t>::max();

// The header bytes the broker stamps: base offset, batch length and leader
// epoch, all before the magic byte (and outside the CRC). Append writes a
// stamped copy of just these bytes plus the untouched rest of the caller's
// batch, so a batch is copied once (into the WriteBatch), not twice.
constexpr size_t kStampedPrefixSize = batch::kMagicOffset;
static_assert(batch::kBaseOffsetOffset + 8 <= kStampedPrefixSize, "base offset must be stamped");
static_assert(batch::kPartitionLeaderEpochOffset + 4 <= kStampedPrefixSize,
              "leader epoch must be stamped");
static_assert(kStampedPrefixSize <= batch::kHeaderSize, "stamped bytes are in the header");

// Generous bytes per WriteBatch entry beyond the value (tag, column family,
// varint lengths, key) and for the batch header and the meta and epoch entries.
constexpr size_t kWriteBatchOverhead = 64;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// The header of batch `index` of an append, if it is fit to store: it parses,
// its length matches `data`, and its offset range is not negative.
absl::StatusOr<batch::BatchHeader> CheckBatch(const PartitionId& id, size_t index,
                                              absl::string_view data) {
  absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(data);
  if (!header.ok()) return InvalidBatch(id, index, header.status().message());
  if (header->size() != data.size()) {
    return InvalidBatch(id, index,
                        absl::StrCat("header says ", header->size(), " bytes, got ", data.size()));
  }
  if (header->last_offset_delta < 0) {
    return InvalidBatch(id, index,
                        absl::StrCat("negative last offset delta ", header->last_offset_delta));
  }
  return header;
}

std::string LogPrefix(const PartitionId& id) {
  return layout::PartitionPrefix(layout::kLogTag, id);
}

// The most Read reserves up front for its answer; larger answers grow.
constexpr size_t kMaxReadReserve = 8 << 20;

// RocksDB tuning for this workload: large values (record batches of KiB to
// MiB) written once in offset order per partition, read back mostly near the
// tail with forward scans, and deleted in whole ranges.
rocksdb::Options MakeDbOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;

  // Level compaction (the default) with dynamic level sizing keeps space
  // amplification near 1.1x; universal compaction would write less but can
  // need 2x space, which a disk-bound log broker cannot afford.
  options.compaction_style = rocksdb::kCompactionStyleLevel;
  options.level_compaction_dynamic_level_bytes = true;

  // 64 MiB memtables (RocksDB's default size), up to 4 of them: bursts are
  // absorbed while one flushes, and memtables stay a bounded part of the
  // broker's memory (256 MiB at most). 128 MiB ones were no faster in our
  // runs, made each flush a longer burst of CPU that delayed produce calls,
  // and took the broker's peak RSS close to 1 GiB in bench/compare_redis.sh.
  options.write_buffer_size = 64 << 20;
  options.max_write_buffer_number = 4;
  options.max_bytes_for_level_base = 512 << 20;
  // Sequential appends flush into files that compaction moves down whole
  // (see layout.h); what it still rewrites (after deletions) it writes as
  // files of the flushed files' size, read ahead in 2 MiB steps.
  options.target_file_size_base = 64 << 20;
  options.compaction_readahead_size = 2 << 20;
  // Flush both column families together: the files on disk always hold
  // matching batches and metadata, and every flush is a prefix of the
  // write-ahead ring (durable_writer.h relies on it: with the WAL off,
  // RocksDB itself asks for atomic flush to keep families consistent).
  options.atomic_flush = true;
  // RocksDB's own write-ahead log is not used (writes go through
  // DurableWriter's ring with WriteOptions::disableWAL), so closing the store
  // must flush the memtables; that is RocksDB's default, stated here because
  // the ring's replay relies only on it after a crash, not after a close.
  options.avoid_flush_during_shutdown = false;

  // No compression: producers compress batches themselves (lz4/zstd inside
  // the batch, as in Kafka), which works far better on a whole batch than on
  // RocksDB blocks, and compressing here again cost the broker CPU on every
  // flush and compaction (LZ4 was a fifth of the broker's CPU time when
  // producing 1 KiB records; see docs/BENCHMARKS.md).
  options.compression = rocksdb::kNoCompression;

  // Two cores: one flush and one compaction at a time.
  options.max_background_jobs = 2;
  // Start writing flushed and compacted files back to disk every MiB rather
  // than leaving hundreds of MiB dirty for the kernel to write in one burst
  // that ring writes may queue behind (RocksDB's tuning guide recommends it;
  // no p99 change was measurable here, where compaction's CPU dominates).
  options.bytes_per_sync = 1 << 20;
  // Compactions run at the lowest CPU priority (nice 19; the Env and so this
  // setting is process-wide), so that they take idle CPU and delay produce
  // and fetch calls less; they are not urgent: L0 files only slow writes
  // down at 20 of them (1.25 GiB here). Flushes keep normal priority: a late
  // flush stalls writes.
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW,
                                          rocksdb::CpuPriority::kLow);

  rocksdb::BlockBasedTableOptions table;
  // Most values are larger than a block anyway; bigger blocks keep the index
  // small when batches are small.
  table.block_size = 64 << 10;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  // XXH3 block checksums: Debian's RocksDB computes CRC32C in software, which
  // made checksumming flushed and compacted blocks a visible cost.
  table.checksum = rocksdb::kXXH3;
  // No bloom or prefix filter: filters only help point lookups, and every read
  // here is a Seek over a range.
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  return options;
}

// The meta column family: a few small keys per partition, rewritten often.
// The same memtable size as the batches', so that it never fills first and
// forces an early (atomic) flush of both; memtables only take the memory
// they use.
rocksdb::ColumnFamilyOptions MakeMetaOptions(const rocksdb::Options& log_options) {
  rocksdb::ColumnFamilyOptions options;
  options.write_buffer_size = log_options.write_buffer_size;
  options.max_write_buffer_number = log_options.max_write_buffer_number;
  options.compression = rocksdb::kNoCompression;
  options.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  table.checksum = rocksdb::kXXH3;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// A store written before the meta column family existed keeps 'M' and 'E'
// keys among the batches ('E' < 'L' < 'M'). We do not migrate it (nothing was
// deployed with it); refuse it rather than misread it.
absl::Status CheckNoOldLayout(rocksdb::DB* db, const std::string& dir) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (int end = 0; end < 2; ++end) {
    if (end == 0) {
      it->SeekToFirst();
    } else {
      it->SeekToLast();
    }
    if (it->Valid() && it->key()[0] != layout::kLogTag) {
      return absl::FailedPreconditionError(absl::StrCat(
          "log store at ", dir, " has the old layout (partition metadata among the batches, "
          "no '", layout::kMetaColumnFamily, "' column family); it cannot be migrated: remove "
          "the directory to start empty"));
    }
  }
  return FromRocksDb(it->status(), absl::StrCat("checking the layout of ", dir));
}

}  // namespace

// ---------------------------------------------------------------------------
// PartitionLog

PartitionLog::PartitionLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                           DurableWriter* writer, PartitionId id)
    : db_(db), meta_cf_(meta_cf), writer_(writer), id_(id) {}

absl::Status PartitionLog::Write(rocksdb::WriteBatch* batch, absl::string_view what) {
  absl::Status written = writer_->Write(batch);
  if (written.ok()) return written;
  return absl::Status(written.code(),
                      absl::StrCat(what, " ", DescribePartition(id_), ": ", written.message()));
}

absl::Status PartitionLog::Recover() {
  std::optional<int64_t> stored_start;
  int64_t size = -1;
  std::string meta_value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, layout::MetaKey(id_), &meta_value);
  if (s.ok()) {
    absl::StatusOr<layout::PartitionMeta> meta = layout::DecodeMeta(meta_value);
    if (!meta.ok()) return StoredDataCorrupt(id_, meta.status().message());
    stored_start = meta->log_start_offset;
    size = meta->size_bytes;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, absl::StrCat("reading metadata of ", DescribePartition(id_)));
  }

  const std::string lower = layout::LogKey(id_, 0);
  const std::string upper = layout::PrefixEnd(LogPrefix(id_));
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower_slice;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));

  int64_t start = stored_start.value_or(0);
  int64_t end = start;
  // The last batch gives the end offset: one SeekForPrev, however long the log.
  it->SeekForPrev(layout::LogKey(id_, kMaxOffset));
  if (it->Valid()) {
    PartitionId key_id;
    int64_t last_offset = 0;
    if (!layout::DecodeLogKey(ToView(it->key()), &key_id, &last_offset) || !(key_id == id_)) {
      return StoredDataCorrupt(id_, "malformed log key");
    }
    end = last_offset + 1;
    if (!stored_start.has_value()) {
      // No metadata (written by GetOrCreate, so unexpected): the first batch
      // is the start.
      it->SeekToFirst();
      if (!it->Valid()) return StoredDataCorrupt(id_, "last batch found but no first batch");
      absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(ToView(it->value()));
      if (!header.ok()) return StoredDataCorrupt(id_, header.status().message());
      start = header->base_offset;
    }
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("recovering ", DescribePartition(id_)));
  }
  end = std::max(end, start);
  if (size < 0) {
    // Metadata from before sizes were tracked: sum the batches once; the next
    // write persists the total.
    absl::StatusOr<int64_t> summed = BytesInRange(start, kMaxOffset);
    if (!summed.ok()) return summed.status();
    size = *summed;
  }

  std::vector<std::pair<int32_t, int64_t>> epochs;
  const std::string epoch_prefix = layout::PartitionPrefix(layout::kEpochTag, id_);
  const std::string epoch_upper = layout::PrefixEnd(epoch_prefix);
  rocksdb::Slice epoch_upper_slice(epoch_upper);
  rocksdb::ReadOptions epoch_options;
  epoch_options.iterate_upper_bound = &epoch_upper_slice;
  it.reset(db_->NewIterator(epoch_options, meta_cf_));
  for (it->Seek(epoch_prefix); it->Valid(); it->Next()) {
    PartitionId key_id;
    int32_t epoch = 0;
    if (!layout::DecodeEpochKey(ToView(it->key()), &key_id, &epoch)) {
      return StoredDataCorrupt(id_, "malformed leader epoch key");
    }
    absl::StatusOr<int64_t> epoch_start = layout::DecodeEpochStart(ToView(it->value()));
    if (!epoch_start.ok()) return StoredDataCorrupt(id_, epoch_start.status().message());
    epochs.emplace_back(epoch, *epoch_start);
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("reading epochs of ", DescribePartition(id_)));
  }

  absl::MutexLock lock(&mu_);
  log_start_offset_ = start;
  log_end_offset_ = end;
  size_bytes_ = size;
  epochs_ = std::move(epochs);
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> PartitionLog::Append(const std::vector<absl::string_view>& batches,
                                                  int32_t leader_epoch) {
  if (batches.empty()) return EmptyAppend(id_);
  absl::MutexLock write_lock(&write_mu_);
  int64_t next_offset = 0;
  int64_t start = 0;
  int64_t size = 0;
  bool new_epoch = false;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    next_offset = log_end_offset_;
    start = log_start_offset_;
    size = size_bytes_;
    new_epoch = leader_epoch >= 0 && (epochs_.empty() || leader_epoch > epochs_.back().first);
  }

  AppendResult result;
  result.base_offset = next_offset;
  // Reserved up front: growing the WriteBatch's buffer batch by batch (copying
  // it each time) was a visible share of the produce path.
  size_t reserve = kWriteBatchOverhead;
  for (absl::string_view data : batches) reserve += data.size() + kWriteBatchOverhead;
  rocksdb::WriteBatch write_batch(reserve);
  if (new_epoch) {
    write_batch.Put(meta_cf_, layout::EpochKey(id_, leader_epoch),
                    layout::EncodeEpochStart(next_offset));
  }
  for (size_t i = 0; i < batches.size(); ++i) {
    const absl::string_view data = batches[i];
    absl::StatusOr<batch::BatchHeader> header = CheckBatch(id_, i, data);
    if (!header.ok()) return header.status();
    // The next offset follows last_offset_delta rather than record_count: they
    // agree for producer batches, and a compacted batch may have gaps.
    const int64_t last_offset = next_offset + header->last_offset_delta;

    char stamped[kStampedPrefixSize];
    std::memcpy(stamped, data.data(), kStampedPrefixSize);
    batch::SetBaseOffset(stamped, next_offset);
    batch::SetPartitionLeaderEpoch(stamped, leader_epoch);
    const std::string key = layout::LogKey(id_, last_offset);
    const rocksdb::Slice key_slice(key);
    const rocksdb::Slice value_parts[2] = {rocksdb::Slice(stamped, kStampedPrefixSize),
                                           ToSlice(data.substr(kStampedPrefixSize))};
    rocksdb::Status s =
        write_batch.Put(rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(value_parts, 2));
    if (!s.ok()) return FromRocksDb(s, absl::StrCat("buffering batch ", i));
    next_offset = last_offset + 1;
    size += static_cast<int64_t>(data.size());
  }
  std::vector<std::pair<int32_t, int64_t>> new_epochs;
  if (new_epoch) new_epochs.emplace_back(leader_epoch, result.base_offset);
  return CommitAppend(&write_batch, start, size, next_offset, std::move(new_epochs),
                      "appending to", result);
}

absl::StatusOr<AppendResult> PartitionLog::CommitAppend(
    rocksdb::WriteBatch* write_batch, int64_t start, int64_t size, int64_t next_offset,
    std::vector<std::pair<int32_t, int64_t>> new_epochs, absl::string_view what,
    AppendResult result) {
  // A few bytes per append keep the size exact across crashes without a scan.
  write_batch->Put(meta_cf_, layout::MetaKey(id_), layout::EncodeMeta({start, size}));
  absl::Status written = Write(write_batch, what);
  if (!written.ok()) return written;

  result.last_offset = next_offset - 1;
  result.log_end_offset = next_offset;
  absl::MutexLock lock(&mu_);
  log_end_offset_ = next_offset;  // waking WaitForAppend: absl::Mutex re-checks conditions
  size_bytes_ = size;
  epochs_.insert(epochs_.end(), new_epochs.begin(), new_epochs.end());
  return result;
}

absl::StatusOr<std::string> PartitionLog::Read(int64_t offset, size_t max_bytes,
                                               int64_t max_offset) const {
  // Batches with last offset < max_offset are exactly the keys below
  // LogKey(max_offset), so the bound makes RocksDB stop at max_offset and also
  // keeps the scan inside this partition (max_offset > offset >= 0 below).
  const std::string upper = layout::LogKey(id_, std::max<int64_t>(max_offset, 0));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  // No block checksums on the fetch path: every batch carries its own CRC32C,
  // which consumers (check_crcs) and followers (ValidateFrame) verify
  // end to end, as Kafka relies on; checking the blocks again cost about a
  // tenth of the broker's CPU per fetched byte. Compaction and the log
  // cleaner still verify block checksums. (Mapping the table files
  // (allow_mmap_reads) saved as much again, but every page a read touches
  // then counts in the broker's RSS until RocksDB closes the file, and its
  // table cache keeps at least 10 files of 64 MiB open: 640 MiB more RSS.)
  read_options.verify_checksums = false;
  // Nor through the block cache: fetched blocks are read once per consumer
  // and the OS page cache already holds the table files (as it holds
  // Kafka's segments), so inserting each block into RocksDB's cache copied
  // it a second time and evicted others. Measured: broker CPU per 1 KiB
  // record fetched -16%, 1 KiB consume +13% (docs/BENCHMARKS.md).
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    if (offset < log_start_offset_ || offset > log_end_offset_) {
      return OffsetOutOfRange(id_, offset, log_start_offset_, log_end_offset_);
    }
    if (offset >= max_offset || offset == log_end_offset_) return std::string();
    // Created under mu_ so the iterator's implicit snapshot matches the
    // offsets just checked (truncations change both under mu_).
    it.reset(db_->NewIterator(read_options));
  }

  // Reserved up to the limit (capped; reserving touches no memory): growing
  // it batch by batch copied the answer over and over, measured at about a
  // tenth of the broker's CPU per fetched byte.
  std::string out;
  out.reserve(std::min<size_t>(max_bytes, kMaxReadReserve));
  for (it->Seek(layout::LogKey(id_, offset)); it->Valid(); it->Next()) {
    const rocksdb::Slice value = it->value();
    if (!out.empty() && out.size() + value.size() > max_bytes) break;
    out.append(value.data(), value.size());
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("reading ", DescribePartition(id_)));
  }
  return out;
}

absl::StatusOr<int64_t> PartitionLog::OffsetForTimestamp(int64_t timestamp_ms) const {
  // A linear scan of batch headers. Fine for now (ListOffsets by time is rare);
  // a sparse time index ('T' keys: max timestamp -> offset) is future work.
  const std::string upper = layout::PrefixEnd(LogPrefix(id_));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  // Scanning every batch should not evict the tail that consumers read.
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it;
  int64_t start = 0;
  int64_t end = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    start = log_start_offset_;
    end = log_end_offset_;
    it.reset(db_->NewIterator(read_options));
  }
  for (it->Seek(layout::LogKey(id_, start)); it->Valid(); it->Next()) {
    absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(ToView(it->value()));
    if (!header.ok()) return StoredDataCorrupt(id_, header.status().message());
    if (header->base_offset >= end) break;  // appended after we looked
    if (header->max_timestamp >= timestamp_ms) return std::max(header->base_offset, start);
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("searching ", DescribePartition(id_)));
  }
  return end;
}

int64_t PartitionLog::log_start_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return log_start_offset_;
}

int64_t PartitionLog::log_end_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return log_end_offset_;
}

int64_t PartitionLog::size_bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return size_bytes_;
}

absl::Status PartitionLog::ScanBatches(int64_t from, int64_t to,
                                       const std::function<bool(absl::string_view)>& fn) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    from = std::max(from, log_start_offset_);
  }
  return ScanRange(from, to, fn);
}

absl::Status PartitionLog::ScanRange(int64_t from, int64_t to,
                                     const std::function<bool(absl::string_view)>& fn) const {
  from = std::max<int64_t>(from, 0);
  if (to <= from) return absl::OkStatus();
  // Batches with last offset < to are exactly the keys below LogKey(to).
  const std::string upper = layout::LogKey(id_, to);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  for (it->Seek(layout::LogKey(id_, from)); it->Valid(); it->Next()) {
    if (!fn(ToView(it->value()))) break;
  }
  return FromRocksDb(it->status(), absl::StrCat("scanning ", DescribePartition(id_)));
}

absl::StatusOr<int64_t> PartitionLog::BytesInRange(int64_t from, int64_t to) const {
  int64_t bytes = 0;
  absl::Status s = ScanRange(from, to, [&bytes](absl::string_view batch) {
    bytes += static_cast<int64_t>(batch.size());
    return true;
  });
  if (!s.ok()) return s;
  return bytes;
}

absl::StatusOr<int> PartitionLog::RewriteBatches(const std::vector<BatchRewrite>& rewrites) {
  absl::MutexLock write_lock(&write_mu_);
  int64_t start = 0;
  int64_t end = 0;
  int64_t size = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    start = log_start_offset_;
    end = log_end_offset_;
    size = size_bytes_;
  }

  rocksdb::WriteBatch write_batch;
  int applied = 0;
  for (const BatchRewrite& rewrite : rewrites) {
    const batch::BatchHeader& original = rewrite.original;
    const int64_t last_offset = original.last_offset();
    if (rewrite.replacement.has_value()) {
      absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(*rewrite.replacement);
      if (!header.ok() || header->size() != rewrite.replacement->size() ||
          header->base_offset != original.base_offset || header->last_offset() != last_offset) {
        return absl::InvalidArgumentError(
            absl::StrCat("rewrite of batch ", original.base_offset, "..", last_offset, " of ",
                         DescribePartition(id_), " is not a batch with the same offsets",
                         header.ok() ? "" : absl::StrCat(": ", header.status().message())));
      }
    } else if (last_offset == end - 1) {
      continue;  // recovery needs this batch to find the log end
    }
    if (last_offset < start || last_offset >= end) continue;  // truncated meanwhile

    // Is the stored batch still the one the caller read? A truncation plus a
    // new append could have put another batch under the same key.
    const std::string key = layout::LogKey(id_, last_offset);
    rocksdb::PinnableSlice stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), key, &stored);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return FromRocksDb(s, absl::StrCat("compacting ", DescribePartition(id_)));
    absl::StatusOr<batch::BatchHeader> current = batch::ParseHeader(ToView(stored));
    if (!current.ok()) return StoredDataCorrupt(id_, current.status().message());
    if (current->base_offset != original.base_offset || current->crc != original.crc ||
        current->batch_length != original.batch_length ||
        current->partition_leader_epoch != original.partition_leader_epoch) {
      continue;
    }

    size -= static_cast<int64_t>(stored.size());
    if (rewrite.replacement.has_value()) {
      write_batch.Put(key, *rewrite.replacement);
      size += static_cast<int64_t>(rewrite.replacement->size());
    } else {
      write_batch.Delete(key);
    }
    ++applied;
  }
  if (applied == 0) return 0;
  write_batch.Put(meta_cf_, layout::MetaKey(id_), layout::EncodeMeta({start, size}));

  // A rewrite keeps offsets, so readers need not see it together with any
  // offset change: no need to block them under mu_ while writing.
  absl::Status written = Write(&write_batch, "compacting");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mu_);
  size_bytes_ = size;
  ++generation_;
  return applied;
}

bool PartitionLog::WaitForAppend(int64_t offset, absl::Time deadline) const {
  auto ready = [this, offset]()
                   ABSL_SHARED_LOCKS_REQUIRED(mu_) { return log_end_offset_ > offset || deleted_; };
  mu_.ReaderLockWhenWithDeadline(absl::Condition(&ready), deadline);
  const bool available = !deleted_ && log_end_offset_ > offset;
  mu_.ReaderUnlock();
  return available;
}

std::vector<std::pair<int32_t, int64_t>> PartitionLog::EpochHistory() const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_;
}

absl::Status PartitionLog::TruncatePrefix(int64_t new_start) {
  // The removed batches' sizes come off size_bytes(), which means reading
  // them. That must not block appends, so sum them first without write_mu_;
  // appends only add batches above the end, and if nothing else changed the
  // batches meanwhile (same generation) the sum still holds.
  uint64_t summed_generation = 0;
  std::optional<int64_t> summed_bytes;
  {
    int64_t start = 0;
    {
      absl::ReaderMutexLock lock(&mu_);
      if (deleted_) return PartitionDeleted(id_);
      if (new_start <= log_start_offset_) return absl::OkStatus();
      if (new_start > log_end_offset_) {
        return OffsetOutOfRange(id_, new_start, log_start_offset_, log_end_offset_);
      }
      start = log_start_offset_;
      summed_generation = generation_;
    }
    absl::StatusOr<int64_t> bytes = BytesInRange(start, new_start);
    if (!bytes.ok()) return bytes.status();
    summed_bytes = *bytes;
  }

  absl::MutexLock write_lock(&write_mu_);
  int64_t start = 0;
  int64_t end = 0;
  int64_t size = 0;
  std::vector<std::pair<int32_t, int64_t>> epochs;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    start = log_start_offset_;
    end = log_end_offset_;
    size = size_bytes_;
    epochs = epochs_;
    if (generation_ != summed_generation) summed_bytes.reset();
  }
  if (new_start <= start) return absl::OkStatus();
  if (new_start > end) return OffsetOutOfRange(id_, new_start, start, end);
  if (!summed_bytes.has_value()) {
    absl::StatusOr<int64_t> bytes = BytesInRange(start, new_start);  // rare: under the lock
    if (!bytes.ok()) return bytes.status();
    summed_bytes = *bytes;
  }
  size -= *summed_bytes;

  rocksdb::WriteBatch write_batch;
  // Exactly the batches whose last offset is below new_start.
  write_batch.DeleteRange(layout::LogKey(id_, 0), layout::LogKey(id_, new_start));
  write_batch.Put(meta_cf_, layout::MetaKey(id_), layout::EncodeMeta({new_start, size}));
  // As Kafka's truncateFromStart: drop epochs that ended before new_start; the
  // epoch covering new_start now starts there.
  size_t first_kept = 0;
  while (first_kept + 1 < epochs.size() && epochs[first_kept + 1].second <= new_start) {
    write_batch.Delete(meta_cf_, layout::EpochKey(id_, epochs[first_kept].first));
    ++first_kept;
  }
  epochs.erase(epochs.begin(), epochs.begin() + first_kept);
  if (!epochs.empty() && epochs.front().second < new_start) {
    epochs.front().second = new_start;
    write_batch.Put(meta_cf_, layout::EpochKey(id_, epochs.front().first),
                    layout::EncodeEpochStart(new_start));
  }

  // Written under mu_ so readers see the data and offsets change together;
  // truncations are rare, so briefly blocking reads is fine.
  absl::MutexLock lock(&mu_);
  absl::Status written = Write(&write_batch, "truncating the start of");
  if (!written.ok()) return written;
  log_start_offset_ = new_start;
  size_bytes_ = size;
  ++generation_;
  epochs_ = std::move(epochs);
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateSuffix(int64_t new_end) {
  absl::MutexLock write_lock(&write_mu_);
  int64_t start = 0;
  int64_t end = 0;
  int64_t size = 0;
  std::vector<std::pair<int32_t, int64_t>> epochs;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    start = log_start_offset_;
    end = log_end_offset_;
    size = size_bytes_;
    epochs = epochs_;
  }
  if (new_end < start || new_end > end) return OffsetOutOfRange(id_, new_end, start, end);
  if (new_end == end) return absl::OkStatus();

  const std::string upper = layout::PrefixEnd(LogPrefix(id_));
  {
    // The batch containing new_end must start exactly there.
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions read_options;
    read_options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
    it->Seek(layout::LogKey(id_, new_end));
    if (it->Valid()) {
      absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(ToView(it->value()));
      if (!header.ok()) return StoredDataCorrupt(id_, header.status().message());
      if (header->base_offset < new_end) {
        return BatchStraddlesTruncation(id_, new_end, header->base_offset, header->last_offset());
      }
    }
    if (!it->status().ok()) {
      return FromRocksDb(it->status(), absl::StrCat("truncating ", DescribePartition(id_)));
    }
  }

  // Suffixes are short (a follower's unreplicated tail): summing them under
  // the lock is fine.
  absl::StatusOr<int64_t> removed = BytesInRange(new_end, kMaxOffset);
  if (!removed.ok()) return removed.status();
  size -= *removed;

  rocksdb::WriteBatch write_batch;
  write_batch.DeleteRange(layout::LogKey(id_, new_end), upper);
  write_batch.Put(meta_cf_, layout::MetaKey(id_), layout::EncodeMeta({start, size}));
  // As Kafka's truncateFromEnd: epochs that started at or after new_end go.
  while (!epochs.empty() && epochs.back().second >= new_end) {
    write_batch.Delete(meta_cf_, layout::EpochKey(id_, epochs.back().first));
    epochs.pop_back();
  }

  absl::MutexLock lock(&mu_);
  absl::Status written = Write(&write_batch, "truncating the end of");
  if (!written.ok()) return written;
  log_end_offset_ = new_end;
  size_bytes_ = size;
  ++generation_;
  epochs_ = std::move(epochs);
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> PartitionLog::AppendReplicated(
    const std::vector<absl::string_view>& batches) {
  if (batches.empty()) return EmptyAppend(id_);
  absl::MutexLock write_lock(&write_mu_);
  int64_t start = 0;
  int64_t end = 0;
  int64_t size = 0;
  int32_t latest = -1;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    start = log_start_offset_;
    end = log_end_offset_;
    size = size_bytes_;
    latest = epochs_.empty() ? -1 : epochs_.back().first;
  }

  AppendResult result;
  std::vector<std::pair<int32_t, int64_t>> new_epochs;
  rocksdb::WriteBatch write_batch;
  int64_t next_offset = end;  // every batch must start at or after this
  for (size_t i = 0; i < batches.size(); ++i) {
    const absl::string_view data = batches[i];
    absl::StatusOr<batch::BatchHeader> header = CheckBatch(id_, i, data);
    if (!header.ok()) return header.status();
    const int64_t base = header->base_offset;
    const int64_t last = header->last_offset();
    // An empty log (after ResetTo or TruncatePrefix to its end) may receive
    // the leader's batch that straddles its start: the leader's Read returns
    // whole batches, and retention keeps a batch straddling the log start.
    const bool straddles_empty_start = i == 0 && start == end && base < end && last >= end;
    if (base < 0 || (base < next_offset && !straddles_empty_start)) {
      return InvalidBatch(id_, i,
                          absl::StrCat("offsets ", base, "..", last,
                                       i == 0 ? " start below the log end offset "
                                              : " overlap or precede the previous batch, ending ",
                                       i == 0 ? next_offset : next_offset - 1));
    }
    const int32_t epoch = header->partition_leader_epoch;
    if (epoch >= 0 && epoch > latest) {
      latest = epoch;
      const int64_t epoch_start = std::max(base, next_offset);
      new_epochs.emplace_back(epoch, epoch_start);
      write_batch.Put(meta_cf_, layout::EpochKey(id_, epoch),
                      layout::EncodeEpochStart(epoch_start));
    }
    if (i == 0) result.base_offset = std::max(base, next_offset);
    rocksdb::Status s = write_batch.Put(layout::LogKey(id_, last), ToSlice(data));
    if (!s.ok()) return FromRocksDb(s, absl::StrCat("buffering batch ", i));
    next_offset = last + 1;
    size += static_cast<int64_t>(data.size());
  }
  return CommitAppend(&write_batch, start, size, next_offset, std::move(new_epochs),
                      "appending replicated batches to", result);
}

absl::Status PartitionLog::ResetTo(int64_t offset) {
  if (offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot reset ", DescribePartition(id_), " to negative offset ", offset));
  }
  absl::MutexLock write_lock(&write_mu_);
  std::vector<std::pair<int32_t, int64_t>> epochs;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (deleted_) return PartitionDeleted(id_);
    epochs = epochs_;
  }
  const std::string log_begin = LogPrefix(id_);
  rocksdb::WriteBatch write_batch;
  write_batch.DeleteRange(log_begin, layout::PrefixEnd(log_begin));
  for (const auto& entry : epochs) write_batch.Delete(meta_cf_, layout::EpochKey(id_, entry.first));
  write_batch.Put(meta_cf_, layout::MetaKey(id_), layout::EncodeMeta({offset, 0}));

  absl::MutexLock lock(&mu_);  // readers see data and offsets change together
  absl::Status written = Write(&write_batch, "resetting");
  if (!written.ok()) return written;
  log_start_offset_ = offset;
  log_end_offset_ = offset;
  size_bytes_ = 0;
  ++generation_;
  epochs_.clear();
  return absl::OkStatus();
}

std::optional<std::pair<int32_t, int64_t>> PartitionLog::EndOffsetForEpoch(int32_t epoch) const {
  absl::ReaderMutexLock lock(&mu_);
  // The first entry with a larger epoch; the one before it is the answer.
  auto after = std::upper_bound(
      epochs_.begin(), epochs_.end(), epoch,
      [](int32_t e, const std::pair<int32_t, int64_t>& entry) { return e < entry.first; });
  if (after == epochs_.begin()) return std::nullopt;
  const int32_t found = std::prev(after)->first;
  return std::make_pair(found, after == epochs_.end() ? log_end_offset_ : after->second);
}

int32_t PartitionLog::latest_epoch() const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.empty() ? -1 : epochs_.back().first;
}

void PartitionLog::MarkDeleted() {
  absl::MutexLock lock(&mu_);
  deleted_ = true;
  log_start_offset_ = 0;
  log_end_offset_ = 0;
  size_bytes_ = 0;
  epochs_.clear();
}

// ---------------------------------------------------------------------------
// LogManager

LogManager::LogManager(std::shared_ptr<WalFlushListener> listener, std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> handles, StorageOptions options)
    : listener_(std::move(listener)),
      db_(std::move(db)),
      handles_(std::move(handles)),
      options_(std::move(options)) {
  meta_cf_ = handles_[1];  // Open's order: default, meta
}

LogManager::~LogManager() {
  {
    absl::MutexLock lock(&mu_);
    // Logs are supposed to be released by now; if one is not, make it fail
    // with NotFound instead of touching the closed DB.
    for (auto& [id, log] : logs_) {
      absl::MutexLock write_lock(&log->write_mu_);
      log->MarkDeleted();
    }
    logs_.clear();
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(const StorageOptions& options) {
  if (options.data_dir.empty()) return absl::InvalidArgumentError("storage data_dir is empty");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("creating log store directory ", options.data_dir, ": ", ec.message()));
  }
  rocksdb::Options db_options = MakeDbOptions();
  auto listener = std::make_shared<WalFlushListener>();
  db_options.listeners.push_back(listener);
  // Creates the meta column family in a new store and in an old one, which
  // CheckNoOldLayout then refuses.
  db_options.create_missing_column_families = true;
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)},
      {layout::kMetaColumnFamily, MakeMetaOptions(db_options)}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.data_dir, families, &handles, &raw_db);
  if (!s.ok()) return FromRocksDb(s, absl::StrCat("opening log store at ", options.data_dir));
  std::unique_ptr<LogManager> manager(new LogManager(
      std::move(listener), std::unique_ptr<rocksdb::DB>(raw_db), std::move(handles), options));
  absl::Status layout_ok = CheckNoOldLayout(manager->db_.get(), options.data_dir);
  if (!layout_ok.ok()) return layout_ok;

  // Replays what a crash left in the write-ahead ring, before anything reads.
  WalRingOptions ring_options;
  ring_options.capacity_bytes = options.wal_bytes;
  ring_options.sync = options.sync_writes;
  absl::StatusOr<std::unique_ptr<DurableWriter>> writer = DurableWriter::Open(
      manager->db_.get(), manager->meta_cf_, manager->listener_,
      (std::filesystem::path(options.data_dir) / kWalRingFileName).string(), ring_options);
  if (!writer.ok()) return writer.status();
  manager->writer_ = std::move(*writer);

  // Find every partition: all of them have a meta key, and for robustness we
  // also skip-scan the batches (one Seek per partition, not per batch).
  std::set<PartitionId> ids;
  std::unique_ptr<rocksdb::Iterator> it(
      manager->db_->NewIterator(rocksdb::ReadOptions(), manager->meta_cf_));
  for (it->Seek(std::string(1, layout::kMetaTag)); it->Valid(); it->Next()) {
    PartitionId id;
    if (!layout::DecodePartitionPrefix(ToView(it->key()), layout::kMetaTag, &id)) break;
    ids.insert(id);
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("listing partitions in ", options.data_dir));
  }
  it.reset(manager->db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(1, layout::kLogTag)); it->Valid();) {
    PartitionId id;
    if (!layout::DecodePartitionPrefix(ToView(it->key()), layout::kLogTag, &id)) break;
    ids.insert(id);
    it->Seek(layout::PrefixEnd(LogPrefix(id)));
  }
  if (!it->status().ok()) {
    return FromRocksDb(it->status(), absl::StrCat("listing partitions in ", options.data_dir));
  }
  it.reset();

  for (const PartitionId& id : ids) {
    std::shared_ptr<PartitionLog> log(
        new PartitionLog(manager->db_.get(), manager->meta_cf_, manager->writer_.get(), id));
    absl::Status recovered = log->Recover();
    if (!recovered.ok()) return recovered;
    absl::MutexLock lock(&manager->mu_);
    manager->logs_.emplace(id, std::move(log));
  }
  return manager;
}

absl::StatusOr<std::shared_ptr<PartitionLog>> LogManager::GetOrCreate(const PartitionId& id) {
  if (id.partition < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative partition number ", id.partition));
  }
  absl::MutexLock lock(&mu_);
  auto found = logs_.find(id);
  if (found != logs_.end()) return found->second;
  std::shared_ptr<PartitionLog> log(new PartitionLog(db_.get(), meta_cf_, writer_.get(), id));
  // The meta key makes an empty partition survive a restart.
  rocksdb::WriteBatch write_batch;
  write_batch.Put(meta_cf_, layout::MetaKey(id),
                  layout::EncodeMeta({/*log_start_offset=*/0, /*size_bytes=*/0}));
  absl::Status written = log->Write(&write_batch, "creating");
  if (!written.ok()) return written;
  logs_.emplace(id, log);
  return log;
}

std::shared_ptr<PartitionLog> LogManager::Get(const PartitionId& id) const {
  absl::MutexLock lock(&mu_);
  auto found = logs_.find(id);
  return found == logs_.end() ? nullptr : found->second;
}

std::vector<PartitionId> LogManager::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<PartitionId> ids;
  ids.reserve(logs_.size());
  for (const auto& entry : logs_) ids.push_back(entry.first);
  return ids;
}

absl::Status LogManager::Delete(const PartitionId& id) {
  const std::string log_begin = LogPrefix(id);
  const std::string log_end = layout::PrefixEnd(log_begin);
  {
    // Held across the write so a GetOrCreate of the same id cannot interleave.
    absl::MutexLock lock(&mu_);
    auto found = logs_.find(id);
    if (found == logs_.end()) return PartitionNotFound(id);
    PartitionLog& log = *found->second;
    absl::MutexLock write_lock(&log.write_mu_);
    const std::string epoch_begin = layout::PartitionPrefix(layout::kEpochTag, id);
    rocksdb::WriteBatch write_batch;
    write_batch.DeleteRange(log_begin, log_end);
    write_batch.DeleteRange(meta_cf_, epoch_begin, layout::PrefixEnd(epoch_begin));
    write_batch.Delete(meta_cf_, layout::MetaKey(id));
    absl::Status written = log.Write(&write_batch, "deleting");
    if (!written.ok()) return written;
    log.MarkDeleted();
    logs_.erase(found);
  }

  // The range tombstone hides the data at once; compacting the range frees the
  // space: it flushes the memtable and pushes the tombstone down through every
  // level holding the partition's keys, and each compaction drops the keys it
  // covers (a Read still iterating keeps its files alive until it finishes).
  // Outside mu_: this can take a while. Only the batch range is worth
  // compacting; the meta and epoch keys are a few bytes.
  rocksdb::CompactRangeOptions compact_options;
  compact_options.exclusive_manual_compaction = false;  // don't stall other compactions
  const rocksdb::Slice begin_slice(log_begin), end_slice(log_end);
  rocksdb::Status s = db_->CompactRange(compact_options, &begin_slice, &end_slice);
  return FromRocksDb(
      s, absl::StrCat(DescribePartition(id), " deleted, but compacting its key range failed"));
}

uint64_t LogManager::ApproximateSizeBytes(const PartitionId& id) const {
  const std::string begin = LogPrefix(id);
  const std::string end = layout::PrefixEnd(begin);
  const rocksdb::Range range(begin, end);
  rocksdb::SizeApproximationOptions size_options;
  size_options.include_memtables = true;
  size_options.include_files = true;
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(size_options, db_->DefaultColumnFamily(), &range, 1, &size).ok()) {
    return 0;
  }
  return size;
}

std::optional<std::string> LogManager::LogProperty(const std::string& name) const {
  std::string value;
  if (!db_->GetProperty(db_->DefaultColumnFamily(), name, &value)) return std::nullopt;
  return value;
}

std::map<std::string, std::string> LogManager::LogMapProperty(const std::string& name) const {
  std::map<std::string, std::string> values;
  if (!db_->GetMapProperty(db_->DefaultColumnFamily(), name, &values)) values.clear();
  return values;
}

}  // namespace runnel::storage
