// The RocksDB key layout of the broker's log store, and the encodings of the
// small values stored beside the batches. Everything the storage module writes
// to RocksDB goes through these functions, so this file is the on-disk format.
//
// All integers in keys are big-endian so that bytewise key order (RocksDB's
// default comparator) is numeric order. Partition numbers and offsets are
// never negative, so they sort correctly as unsigned.
//
// Two column families (kMetaColumnFamily), written together by one atomic
// WriteBatch (one DurableWriter write, flushed together: atomic_flush):
//
//   default column family: the batches only
//   'L' topic_id(8) partition(4) last_offset(8)  -> one whole record batch
//   "meta" column family: the small per-partition values
//   'M' topic_id(8) partition(4)                 -> PartitionMeta (EncodeMeta)
//   'E' topic_id(8) partition(4) epoch(4)        -> start offset(8) of that epoch
//   'W'                                          -> WalState (EncodeWalState)
//
// The meta key is rewritten by every append. Were it beside the batches, every
// flushed file would span from the new batches to the meta key, overlap the
// files below it, and compaction would have to rewrite every batch once more;
// alone, the batches of sequential appends flush into files that do not
// overlap, and compaction moves them down without rewriting them.
//
// Why this shape:
//  - Append is a sequential insert: offsets only grow, so each partition's new
//    keys land at the end of its key range (cheap memtable inserts, and flushed
//    files of one partition rarely overlap older ones).
//  - Fetch from an offset is one forward Seek: keying a batch by its LAST
//    offset means Seek(LogKey(p, offset)) lands on the first batch whose last
//    offset >= offset, i.e. the batch that contains `offset`. Iterating on from
//    there yields the following batches in order.
//  - Retention, truncation and deletion are DeleteRange calls over contiguous
//    key ranges: a partition's batches, or those below / above some offset.
//  - The tag byte comes first so each kind of key forms one range: recovery can
//    list all partitions from the small 'M' range without touching batches.
//    (The tags also tell an old single-column-family store, with 'M' and 'E'
//    keys among the batches, from this layout: opening one fails.)
//
// The 'E' entries are the leader-epoch history (KIP-101): one per epoch in
// which this replica appended, mapping epoch -> first offset written in it.
// Replication will use them to find where a follower diverged from a leader.
//
// The 'W' key is the write-ahead ring's resume point (durable_writer.h): every
// write rewrites it in the same WriteBatch, so the state RocksDB flushed says
// which ring record follows it.
//
// Thread-safety: stateless functions, thread-safe.
#ifndef RUNNEL_BROKER_STORAGE_LAYOUT_H_
#define RUNNEL_BROKER_STORAGE_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/storage/log.h"

namespace runnel::storage::layout {

inline constexpr char kLogTag = 'L';
inline constexpr char kMetaTag = 'M';
inline constexpr char kEpochTag = 'E';
inline constexpr char kWalTag = 'W';

// The column family of the 'M' and 'E' keys.
inline constexpr char kMetaColumnFamily[] = "meta";

// tag + topic_id + partition: the common prefix of one partition's keys.
inline constexpr size_t kPartitionPrefixSize = 1 + 8 + 4;
inline constexpr size_t kLogKeySize = kPartitionPrefixSize + 8;
inline constexpr size_t kEpochKeySize = kPartitionPrefixSize + 4;

// The prefix shared by all keys of `tag` for partition `id`.
std::string PartitionPrefix(char tag, const PartitionId& id);

// Key of the batch whose last offset is `last_offset` (>= 0). Also the Seek
// target for reading from `last_offset`, and an exclusive range bound: the
// range [LogKey(p, a), LogKey(p, b)) holds exactly the batches whose last
// offset is in [a, b).
std::string LogKey(const PartitionId& id, int64_t last_offset);
std::string MetaKey(const PartitionId& id);
// `epoch` must be >= 0.
std::string EpochKey(const PartitionId& id, int32_t epoch);

// The smallest key greater than every key that starts with `prefix`: the
// exclusive upper bound of a prefix range. `prefix` must not be all 0xff bytes
// (ours never are: they start with a tag letter).
std::string PrefixEnd(absl::string_view prefix);

// Decoders return false if `key` is not a well-formed key of that kind.
bool DecodePartitionPrefix(absl::string_view key, char tag, PartitionId* id);
bool DecodeLogKey(absl::string_view key, PartitionId* id, int64_t* last_offset);
bool DecodeEpochKey(absl::string_view key, PartitionId* id, int32_t* epoch);

// Per-partition metadata kept under MetaKey. Encoded as a version byte and
// fixed fields; decoders ignore trailing bytes so later versions can append
// fields (e.g. a recovery point) without breaking older readers.
//   version 1: log_start_offset(8)
//   version 2: log_start_offset(8) size_bytes(8)
// Every write that changes the partition's batches rewrites it in the same
// atomic RocksDB write, so it always matches the batches, even after a crash.
struct PartitionMeta {
  int64_t log_start_offset = 0;
  // Total bytes of the partition's stored batches (PartitionLog::size_bytes),
  // or -1 when unknown (version 1 metadata): recovery then sums the batches.
  int64_t size_bytes = -1;
};
std::string EncodeMeta(const PartitionMeta& meta);
absl::StatusOr<PartitionMeta> DecodeMeta(absl::string_view value);

// The write-ahead ring's state as of a write, under kWalStateKey in the meta
// column family. Encoded as version(1) ring_id(8) ordinal(8) end(8).
inline constexpr char kWalStateKey[] = {kWalTag, '\0'};
struct WalState {
  uint64_t ring_id = 0;  // the ring this store writes to (WalRing::id)
  uint64_t ordinal = 0;  // ordinal of the write's ring record; 0: none yet
  uint64_t end = 0;      // ring position just after that record
};
std::string EncodeWalState(const WalState& state);
absl::StatusOr<WalState> DecodeWalState(absl::string_view value);

// The value of an epoch entry: the epoch's start offset.
std::string EncodeEpochStart(int64_t start_offset);
absl::StatusOr<int64_t> DecodeEpochStart(absl::string_view value);

// Big-endian fixed-width integer helpers, exposed for tests.
void AppendBigEndian64(uint64_t v, std::string* out);
void AppendBigEndian32(uint32_t v, std::string* out);
uint64_t ReadBigEndian64(const char* p);
uint32_t ReadBigEndian32(const char* p);

}  // namespace runnel::storage::layout

#endif  // RUNNEL_BROKER_STORAGE_LAYOUT_H_
