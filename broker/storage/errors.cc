#include "broker/storage/errors.h"

#include "absl/strings/str_cat.h"

namespace runnel::storage {

std::string DescribePartition(const PartitionId& id) {
  return absl::StrCat("partition ", id.partition, " (topic id ", id.topic_id, ")");
}

absl::Status OffsetOutOfRange(const PartitionId& id, int64_t offset, int64_t start, int64_t end) {
  return absl::OutOfRangeError(absl::StrCat("offset ", offset, " out of range for ",
                                            DescribePartition(id), ": valid offsets are ", start,
                                            " to ", end));
}

absl::Status PartitionDeleted(const PartitionId& id) {
  return absl::NotFoundError(absl::StrCat(DescribePartition(id), " was deleted"));
}

absl::Status PartitionNotFound(const PartitionId& id) {
  return absl::NotFoundError(absl::StrCat(DescribePartition(id), " not found on this broker"));
}

absl::Status InvalidBatch(const PartitionId& id, size_t index, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("batch ", index, " for ", DescribePartition(id), " cannot be stored: ", why));
}

absl::Status EmptyAppend(const PartitionId& id) {
  return absl::InvalidArgumentError(
      absl::StrCat("append to ", DescribePartition(id), " has no batches"));
}

absl::Status BatchStraddlesTruncation(const PartitionId& id, int64_t new_end, int64_t base_offset,
                                      int64_t last_offset) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot truncate ", DescribePartition(id), " to end offset ", new_end,
                   ": batch with offsets ", base_offset, " to ", last_offset, " straddles it"));
}

absl::Status StoredDataCorrupt(const PartitionId& id, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("stored data of ", DescribePartition(id), " is corrupt: ", what));
}

absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": rocksdb: ", status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
      return absl::UnavailableError(message);
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(message);
    case rocksdb::Status::kIOError:
      if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
      return absl::InternalError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace runnel::storage
