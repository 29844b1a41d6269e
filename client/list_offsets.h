// ListOffsets for many partitions at once: one request per leader, retrying
// retriable failures (leader moved, broker restarting, a topic the broker
// has not learnt of yet) with a metadata refresh and backoff, as RetryLoop
// does. Used by the Consumer (start positions, seeks, offset reset) and by
// Admin (log end offsets for lag, `runnel group reset-offsets`).
//
// Thread-safety: thread-safe (MetadataCache is).
#ifndef RUNNEL_CLIENT_LIST_OFFSETS_H_
#define RUNNEL_CLIENT_LIST_OFFSETS_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "client/metadata_cache.h"
#include "client/types.h"
#include "proto/runnel/v1/broker.pb.h"

namespace runnel::client {

struct OffsetQuery {
  TopicPartition tp;
  // EARLIEST (log start), LATEST (log end: the high watermark) or TIMESTAMP.
  runnel::v1::OffsetSpec spec = runnel::v1::OFFSET_SPEC_LATEST;
  // With OFFSET_SPEC_TIMESTAMP: the first offset whose record timestamp is
  // at least this (ms since the Unix epoch); the log end if none is.
  int64_t timestamp_ms = 0;
};

// The offset each query finds, by partition (a partition asked twice gets
// its last query's answer). Errors: TopicNotFound, PartitionOutOfRange, a
// broker's non-retriable error, or the last retriable one once
// max_retries are spent.
absl::StatusOr<std::map<TopicPartition, int64_t>> ListOffsets(
    MetadataCache& metadata, const std::vector<OffsetQuery>& queries);

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_LIST_OFFSETS_H_
