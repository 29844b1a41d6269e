#include "broker/storage/log_cleaner.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/storage/errors.h"
#include "broker/storage/offset_map.h"
#include "common/log.h"
#include "proto/batch/record_batch.h"

namespace runnel::storage {
namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();

// now_ms - age_ms without overflow: the time before which something is older
// than age_ms (configs go up to int64 max).
int64_t Horizon(int64_t now_ms, int64_t age_ms) {
  int64_t horizon = 0;
  return __builtin_sub_overflow(now_ms, age_ms, &horizon) ? kMinTime : horizon;
}

bool IsControl(const batch::BatchHeader& h) { return (h.attributes & batch::kAttrControl) != 0; }

// The header of a stored batch, or DataLoss naming the partition.
absl::StatusOr<batch::BatchHeader> StoredHeader(const PartitionLog& log, absl::string_view data) {
  absl::StatusOr<batch::BatchHeader> h = batch::ParseHeader(data);
  if (!h.ok()) return StoredDataCorrupt(log.id(), h.status().message());
  return h;
}

absl::Status StoredRecords(const PartitionLog& log, absl::string_view data,
                           std::vector<batch::Record>* records) {
  records->clear();
  absl::Status s = batch::DecodeRecords(data, records);
  if (!s.ok()) return StoredDataCorrupt(log.id(), s.message());
  return absl::OkStatus();
}

absl::Status Cancelled(const CompactionOptions& options) {
  if (options.cancel != nullptr && options.cancel->load()) {
    return absl::CancelledError("log cleaner stopping");
  }
  return absl::OkStatus();
}

// Phase 1 of a compaction pass: maps key -> latest offset over the dirty
// batches that are cleanable, as many as the map holds.
struct DirtyRange {
  int64_t end = 0;    // one past the last mapped batch
  int64_t bytes = 0;  // bytes of the mapped batches
};

absl::StatusOr<DirtyRange> MapDirtyKeys(const PartitionLog& log, int64_t first_dirty,
                                        int64_t cleanable_end, int64_t lag_horizon,
                                        const CompactionOptions& options, KeyOffsetMap* map) {
  DirtyRange range{first_dirty, 0};
  absl::Status status;
  std::vector<batch::Record> records;
  absl::Status scanned = log.ScanBatches(first_dirty, cleanable_end, [&](absl::string_view data) {
    if (status = Cancelled(options); !status.ok()) return false;
    absl::StatusOr<batch::BatchHeader> h = StoredHeader(log, data);
    if (!h.ok()) {
      status = h.status();
      return false;
    }
    // min.compaction.lag.ms: this batch and everything after it stay dirty.
    if (h->max_timestamp > lag_horizon) return false;
    if (!IsControl(*h)) {
      if (static_cast<size_t>(std::max(h->record_count, 0)) > map->room()) {
        if (map->size() == 0) {
          status = absl::ResourceExhaustedError(
              absl::StrCat("compaction map of ", options.map_memory_bytes,
                           " bytes cannot hold the ", h->record_count, " keys of batch ",
                           h->base_offset, " of ", DescribePartition(log.id())));
        }
        return false;  // full: the next pass goes on from here
      }
      if (status = StoredRecords(log, data, &records); !status.ok()) return false;
      for (const batch::Record& r : records) {
        if (r.key.has_value()) map->Put(*r.key, r.offset);
      }
    }
    range.end = h->last_offset() + 1;
    range.bytes += static_cast<int64_t>(data.size());
    return true;
  });
  if (!status.ok()) return status;
  if (!scanned.ok()) return scanned;
  return range;
}

}  // namespace

absl::StatusOr<RetentionResult> ApplyRetention(PartitionLog& log, const TopicConfig& config,
                                               int64_t high_watermark, int64_t now_ms) {
  RetentionResult result;
  const int64_t start = log.log_start_offset();
  result.log_start_offset = start;
  const bool by_time = config.retention_ms >= 0;
  const bool by_size = config.retention_bytes >= 0;
  int64_t size = log.size_bytes();
  if (!config.cleanup_delete || (!by_time && !by_size)) return result;
  if (!by_time && size <= config.retention_bytes) return result;  // nothing to read

  const int64_t horizon = by_time ? Horizon(now_ms, config.retention_ms) : kMinTime;
  const int64_t limit = std::min(high_watermark, log.log_end_offset());
  bool expired_so_far = by_time;
  int64_t new_start = start;
  absl::Status status;
  absl::Status scanned = log.ScanBatches(start, limit, [&](absl::string_view data) {
    absl::StatusOr<batch::BatchHeader> h = StoredHeader(log, data);
    if (!h.ok()) {
      status = h.status();
      return false;
    }
    expired_so_far = expired_so_far && h->max_timestamp < horizon;
    const bool over_size = by_size && size > config.retention_bytes;
    if (!expired_so_far && !over_size) return false;
    const auto bytes = static_cast<int64_t>(data.size());
    size -= bytes;
    new_start = h->last_offset() + 1;
    ++result.batches_deleted;
    result.bytes_deleted += bytes;
    return true;
  });
  if (!status.ok()) return status;
  if (!scanned.ok()) return scanned;
  if (new_start > start) {
    if (absl::Status s = log.TruncatePrefix(new_start); !s.ok()) return s;
  }
  result.log_start_offset = log.log_start_offset();
  return result;
}

absl::StatusOr<CompactionResult> Compact(PartitionLog& log, const TopicConfig& config,
                                         int64_t high_watermark, int64_t now_ms,
                                         const CompactionOptions& options) {
  CompactionResult result;
  const int64_t start = log.log_start_offset();
  const int64_t cleanable_end = std::min(high_watermark, log.log_end_offset());
  const int64_t first_dirty =
      std::clamp(options.first_dirty_offset, start, std::max(start, cleanable_end));
  result.cleaned_end = first_dirty;
  result.clean_bytes = options.clean_bytes;
  if (!config.cleanup_compact || first_dirty >= cleanable_end) return result;

  KeyOffsetMap map(options.map_memory_bytes);
  absl::StatusOr<DirtyRange> dirty =
      MapDirtyKeys(log, first_dirty, cleanable_end, Horizon(now_ms, config.min_compaction_lag_ms),
                   options, &map);
  if (!dirty.ok()) return dirty.status();
  if (dirty->end <= first_dirty) return result;  // nothing cleanable yet
  if (static_cast<double>(dirty->bytes) <
      options.min_cleanable_ratio * static_cast<double>(options.clean_bytes + dirty->bytes)) {
    return result;
  }

  // Phase 2: rewrite every batch from the log start to the end of the mapped
  // range that loses records.
  const int64_t tombstone_horizon = Horizon(now_ms, config.delete_retention_ms);
  auto keep = [&](const batch::Record& r) {
    if (!r.key.has_value()) return true;
    if (map.Get(*r.key) > r.offset) return false;  // a later record has the key
    return r.value.has_value() || r.timestamp >= tombstone_horizon;
  };
  std::vector<BatchRewrite> pending;
  size_t pending_bytes = 0;
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    absl::StatusOr<int> applied = log.RewriteBatches(pending);
    if (!applied.ok()) return applied.status();
    pending.clear();
    pending_bytes = 0;
    return absl::OkStatus();
  };

  result.clean_bytes = 0;
  absl::Status status;
  std::vector<batch::Record> records;
  absl::Status scanned = log.ScanBatches(start, dirty->end, [&](absl::string_view data) {
    if (status = Cancelled(options); !status.ok()) return false;
    absl::StatusOr<batch::BatchHeader> h = StoredHeader(log, data);
    if (!h.ok()) {
      status = h.status();
      return false;
    }
    if (IsControl(*h)) {
      result.clean_bytes += static_cast<int64_t>(data.size());
      return true;
    }
    if (status = StoredRecords(log, data, &records); !status.ok()) return false;
    std::vector<const batch::Record*> kept;
    for (const batch::Record& r : records) {
      if (keep(r)) kept.push_back(&r);
    }
    // Recovery finds the log end from the last batch, so that one stays,
    // empty if need be; any other batch left empty goes.
    const bool is_last = h->last_offset() == log.log_end_offset() - 1;
    const bool unchanged = kept.size() == records.size() && (!kept.empty() || is_last);
    if (unchanged) {
      result.clean_bytes += static_cast<int64_t>(data.size());
      return true;
    }
    BatchRewrite rewrite{*h, std::nullopt};
    if (!kept.empty() || is_last) {
      batch::BatchBuilder builder(h->compression());
      builder.RebuildFrom(*h);
      for (const batch::Record* r : kept) {
        status = builder.AppendAt(static_cast<int32_t>(r->offset - h->base_offset), r->timestamp,
                                  r->key, r->value, r->headers);
        if (!status.ok()) return false;
      }
      absl::StatusOr<std::string> rebuilt = builder.Build();
      if (!rebuilt.ok()) {
        status = rebuilt.status();
        return false;
      }
      result.clean_bytes += static_cast<int64_t>(rebuilt->size());
      rewrite.replacement = std::move(*rebuilt);
      ++result.batches_rewritten;
    } else {
      ++result.batches_deleted;
    }
    result.records_removed += static_cast<int64_t>(records.size() - kept.size());
    pending.push_back(std::move(rewrite));
    pending_bytes += data.size();
    if (pending_bytes >= options.max_write_bytes) status = flush();
    return status.ok();
  });
  if (!status.ok()) return status;
  if (!scanned.ok()) return scanned;
  if (absl::Status s = flush(); !s.ok()) return s;

  result.compacted = true;
  result.cleaned_end = dirty->end;
  return result;
}

// ---------------------------------------------------------------------------
// LogCleaner

LogCleaner::LogCleaner(LogManager* logs, CleanerPolicyFn policy, LogCleanerOptions options)
    : logs_(logs), policy_(std::move(policy)), options_(options) {}

LogCleaner::~LogCleaner() { Stop(); }

void LogCleaner::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void LogCleaner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  cancel_.store(true);
  if (thread_.joinable()) thread_.join();
}

void LogCleaner::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) return;
    }
    RunOnce(absl::ToUnixMillis(absl::Now()));
  }
}

void LogCleaner::RunOnce(int64_t now_ms) {
  absl::MutexLock run_lock(&run_mu_);
  std::map<PartitionId, DirtyState> seen;
  for (const PartitionId& id : logs_->List()) {
    if (cancel_.load()) return;
    std::shared_ptr<PartitionLog> log = logs_->Get(id);
    if (log == nullptr) continue;
    std::optional<CleanerPolicy> policy = policy_(id);
    if (!policy.has_value()) continue;
    DirtyState& state = seen[id];
    auto found = dirty_.find(id);
    if (found != dirty_.end()) state = found->second;
    CleanPartition(*log, *policy, now_ms, &state);
  }
  // Forget partitions that are gone or no longer cleaned.
  dirty_ = std::move(seen);
}

void LogCleaner::CleanPartition(PartitionLog& log, const CleanerPolicy& policy, int64_t now_ms,
                                DirtyState* state) {
  const TopicConfig& config = policy.config;
  auto report = [&log](const char* what, const absl::Status& s) {
    // A partition deleted mid-pass, or a stop, is not worth a warning.
    if (absl::IsNotFound(s) || absl::IsCancelled(s)) return;
    RLOG(WARN) << what << " failed" << Kv("topic_id", log.id().topic_id)
               << Kv("partition", log.id().partition) << Kv("error", s.message());
  };

  if (config.cleanup_delete) {
    absl::StatusOr<RetentionResult> r = ApplyRetention(log, config, policy.high_watermark, now_ms);
    if (!r.ok()) {
      report("retention", r.status());
    } else if (r->batches_deleted > 0) {
      RLOG(INFO) << "retention deleted old batches" << Kv("topic_id", log.id().topic_id)
                 << Kv("partition", log.id().partition) << Kv("batches", r->batches_deleted)
                 << Kv("bytes", r->bytes_deleted) << Kv("log_start_offset", r->log_start_offset);
      state->clean_bytes = std::max<int64_t>(0, state->clean_bytes - r->bytes_deleted);
    }
  }
  if (!config.cleanup_compact) return;

  // Cheap check before reading anything: enough new bytes since the last pass?
  const int64_t size = log.size_bytes();
  const int64_t dirty = size - std::min(state->clean_bytes, size);
  if (size == 0 || static_cast<double>(dirty) < options_.min_cleanable_ratio * size) return;
  // Each round maps as many keys as fit; more rounds when the map filled up.
  while (!cancel_.load()) {
    CompactionOptions options;
    options.first_dirty_offset = state->first_dirty_offset;
    options.clean_bytes = state->clean_bytes;
    options.min_cleanable_ratio = options_.min_cleanable_ratio;
    options.map_memory_bytes = options_.map_memory_bytes;
    options.cancel = &cancel_;
    absl::StatusOr<CompactionResult> r =
        Compact(log, config, policy.high_watermark, now_ms, options);
    if (!r.ok()) {
      report("compaction", r.status());
      return;
    }
    if (!r->compacted) return;
    state->first_dirty_offset = r->cleaned_end;
    state->clean_bytes = r->clean_bytes;
    RLOG(INFO) << "compacted" << Kv("topic_id", log.id().topic_id)
               << Kv("partition", log.id().partition) << Kv("cleaned_end", r->cleaned_end)
               << Kv("records_removed", r->records_removed)
               << Kv("batches_rewritten", r->batches_rewritten)
               << Kv("batches_deleted", r->batches_deleted);
  }
}

}  // namespace runnel::storage
