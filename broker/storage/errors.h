// Error helpers of the broker's storage module: the module builds its errors
// here, so messages are uniform and name the partition, e.g.
//   "offset 500 out of range for partition 3 (topic id 42): valid offsets are 0 to 120".
// Codes: OutOfRange for offsets outside the log, NotFound for deleted or
// unknown partitions, InvalidArgument for bad input, FailedPrecondition for a
// truncation the log cannot do, DataLoss for undecodable stored data, and
// RocksDB errors mapped by FromRocksDb.
// Thread-safety: stateless functions, thread-safe.
#ifndef RUNNEL_BROKER_STORAGE_ERRORS_H_
#define RUNNEL_BROKER_STORAGE_ERRORS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/storage/log.h"
#include "rocksdb/status.h"

namespace runnel::storage {

// "partition 3 (topic id 42)": how messages name a partition. The topic name is
// unknown here; the service edge may add it.
std::string DescribePartition(const PartitionId& id);

// OutOfRange: `offset` is outside [start, end] (end itself is valid to read
// from: it yields nothing until an append).
absl::Status OffsetOutOfRange(const PartitionId& id, int64_t offset, int64_t start, int64_t end);

// NotFound: the partition was deleted while the caller held its log.
absl::Status PartitionDeleted(const PartitionId& id);

// NotFound: no such partition in this store.
absl::Status PartitionNotFound(const PartitionId& id);

// InvalidArgument: batch `index` of an append cannot be stored; `why` says why.
absl::Status InvalidBatch(const PartitionId& id, size_t index, absl::string_view why);

// InvalidArgument: an append with no batches.
absl::Status EmptyAppend(const PartitionId& id);

// FailedPrecondition: TruncateSuffix(new_end) would have to split a batch.
absl::Status BatchStraddlesTruncation(const PartitionId& id, int64_t new_end, int64_t base_offset,
                                      int64_t last_offset);

// DataLoss: something read back from RocksDB does not decode; `what` says what.
absl::Status StoredDataCorrupt(const PartitionId& id, absl::string_view what);

// Maps a RocksDB error to a Status whose message starts with `context` (what
// we were doing): Corruption -> DataLoss, out of disk space ->
// ResourceExhausted, Busy/TryAgain/TimedOut -> Unavailable (worth a retry),
// other IO errors and the rest -> Internal. OK stays OK.
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context);

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_ERRORS_H_
