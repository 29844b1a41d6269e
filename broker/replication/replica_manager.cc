#include "broker/replication/replica_manager.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/replication/errors.h"
#include "common/log.h"
#include "common/topic_config.h"
#include "proto/batch/record_batch.h"

namespace runnel::replication {

using runnel::v1::ErrorCode;

namespace {
std::string PartitionName(const std::string& topic, int32_t partition) {
  return absl::StrCat(topic, "-", partition);
}

// Compacted topics need a key on every record, as in Kafka: compaction keeps
// the latest record per key, and a keyless record has none.
bool IsCompacted(const runnel::v1::TopicInfo& topic) {
  absl::StatusOr<TopicConfig> config = ParseTopicConfigMap(topic.configs());
  return config.ok() && config->cleanup_compact;
}
}  // namespace

ReplicaManager::ReplicaManager(ReplicaManagerOptions options, storage::LogManager* logs,
                               cluster::MetadataCache* metadata)
    : options_(std::move(options)), logs_(logs), metadata_(metadata) {}

void ReplicaManager::ApplyMetadata(const cluster::MetadataSnapshot& snapshot) {
  std::set<uint64_t> live_topics;
  for (const auto& topic : snapshot.metadata().topics()) {
    live_topics.insert(topic.topic_id());
    for (const auto& p : topic.partitions()) {
      const auto& r = p.replicas();
      if (std::find(r.begin(), r.end(), options_.broker_id) == r.end()) continue;
      auto log = logs_->GetOrCreate({topic.topic_id(), p.partition()});
      if (!log.ok()) {
        RLOG(ERROR) << "cannot open partition log" << Kv("partition",
                                                          PartitionName(topic.name(), p.partition()))
                    << Kv("error", log.status().message());
      }
    }
  }
  // A topic id missing from the metadata was deleted: free its space.
  for (const storage::PartitionId& id : logs_->List()) {
    if (live_topics.count(id.topic_id) != 0) continue;
    absl::Status s = logs_->Delete(id);
    RLOG(INFO) << "deleted partition of deleted topic" << Kv("topic_id", id.topic_id)
               << Kv("partition", id.partition) << Kv("status", s.ToString());
  }
}

absl::StatusOr<ReplicaManager::Leader> ReplicaManager::ResolveLeader(
    const std::string& topic, int32_t partition, int32_t current_leader_epoch) const {
  Leader leader;
  leader.snapshot = metadata_->Snapshot();
  auto p = leader.snapshot->FindPartition(topic, partition);
  if (!p.ok()) {
    return PartitionError(ErrorCode::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION, p.status().message());
  }
  leader.topic = leader.snapshot->FindTopic(topic);
  leader.partition = *p;
  const std::string name = PartitionName(topic, partition);
  if (leader.partition->leader() < 0) {
    return PartitionError(ErrorCode::ERROR_CODE_LEADER_NOT_AVAILABLE,
                          absl::StrCat("partition ", name, " has no leader"));
  }
  if (leader.partition->leader() != options_.broker_id) {
    return PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                          absl::StrCat("broker ", options_.broker_id, " is not the leader of ",
                                       name, " (leader is broker ", leader.partition->leader(),
                                       ")"));
  }
  const int32_t epoch = leader.partition->leader_epoch();
  if (current_leader_epoch >= 0 && current_leader_epoch < epoch) {
    return PartitionError(ErrorCode::ERROR_CODE_FENCED_LEADER_EPOCH,
                          absl::StrCat("leader epoch ", current_leader_epoch, " of ", name,
                                       " is stale; current epoch is ", epoch));
  }
  if (current_leader_epoch > epoch) {
    return PartitionError(ErrorCode::ERROR_CODE_UNKNOWN_LEADER_EPOCH,
                          absl::StrCat("leader epoch ", current_leader_epoch, " of ", name,
                                       " is newer than this broker's ", epoch));
  }
  leader.log = logs_->Get({leader.topic->topic_id(), partition});
  if (leader.log == nullptr) {
    // Metadata arrived but the log is not open yet (or failed to open).
    return PartitionError(ErrorCode::ERROR_CODE_LEADER_NOT_AVAILABLE,
                          absl::StrCat("partition ", name, " is not ready on broker ",
                                       options_.broker_id));
  }
  return leader;
}

int64_t ReplicaManager::MaxMessageBytes(const runnel::v1::TopicInfo& topic) const {
  auto it = topic.configs().find("max.message.bytes");
  int64_t v = 0;
  if (it != topic.configs().end() && absl::SimpleAtoi(it->second, &v) && v > 0) return v;
  return options_.default_max_message_bytes;
}

int64_t ReplicaManager::HighWatermark(const storage::PartitionLog& log) {
  return log.log_end_offset();
}

absl::StatusOr<int64_t> ReplicaManager::AppendTo(const Leader& leader,
                                                 const std::string& records) {
  if (records.empty()) {
    return PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST, "no record batches in request");
  }
  batch::ValidateOptions checks;
  // Checked during the validation walk over the records, so it costs nothing extra.
  checks.require_keys = IsCompacted(*leader.topic);
  auto batches = batch::SplitBatches(records, MaxMessageBytes(*leader.topic), checks);
  if (!batches.ok()) {
    if (absl::IsFailedPrecondition(batches.status())) {  // a keyless record
      return PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST,
                            absl::StrCat("compacted topic '", leader.topic->name(),
                                         "' requires a key on every record: ",
                                         batches.status().message()));
    }
    ErrorCode code = absl::IsResourceExhausted(batches.status())
                         ? ErrorCode::ERROR_CODE_BATCH_TOO_LARGE
                         : ErrorCode::ERROR_CODE_CORRUPT_BATCH;
    return PartitionError(code, batches.status().message());
  }
  auto appended = leader.log->Append(*batches, leader.partition->leader_epoch());
  if (!appended.ok()) {
    return PartitionError(ErrorCode::ERROR_CODE_STORAGE_ERROR, appended.status().message());
  }
  {
    absl::MutexLock lock(&append_mu_);
    ++append_seq_;
  }
  return appended->base_offset;
}

absl::Status ReplicaManager::Produce(const runnel::v1::ProduceRequest& request,
                                     runnel::v1::ProduceResponse* response) {
  if (request.partitions().empty()) {
    return absl::InvalidArgumentError("produce request names no partitions");
  }
  if (!request.transactional_id().empty()) {
    return absl::UnimplementedError("transactions are not supported yet");
  }
  for (const auto& data : request.partitions()) {
    auto* out = response->add_partitions();
    out->set_topic(data.topic());
    out->set_partition(data.partition());
    out->set_base_offset(-1);
    auto leader = ResolveLeader(data.topic(), data.partition(), -1);
    absl::StatusOr<int64_t> base =
        leader.ok() ? AppendTo(*leader, data.records()) : leader.status();
    if (!base.ok()) {
      SetPartitionError(base.status(), out);
      continue;
    }
    out->set_base_offset(*base);
    out->set_log_start_offset(leader->log->log_start_offset());
  }
  return absl::OkStatus();
}

int64_t ReplicaManager::FetchPartition(const runnel::v1::FetchPartition& request, int64_t budget,
                                       runnel::v1::FetchPartitionResponse* response) const {
  response->set_topic(request.topic());
  response->set_partition(request.partition());
  response->set_high_watermark(-1);
  response->set_log_start_offset(-1);
  response->clear_records();
  auto leader = ResolveLeader(
      request.topic(), request.partition(),
      request.has_current_leader_epoch() ? request.current_leader_epoch() : -1);
  if (!leader.ok()) {
    SetPartitionError(leader.status(), response);
    return 0;
  }
  const int64_t hw = HighWatermark(*leader->log);
  response->set_high_watermark(hw);
  response->set_log_start_offset(leader->log->log_start_offset());
  const int64_t limit = std::min<int64_t>(
      budget, request.max_bytes() > 0 ? request.max_bytes()
                                      : options_.default_partition_fetch_max_bytes);
  const int64_t start = leader->log->log_start_offset();
  if (request.fetch_offset() < start || request.fetch_offset() > hw) {
    SetPartitionError(
        PartitionError(ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE,
                       absl::StrCat("offset ", request.fetch_offset(), " out of range for ",
                                    PartitionName(request.topic(), request.partition()),
                                    ": valid offsets are ", start, " to ", hw)),
        response);
    return 0;
  }
  auto records = leader->log->Read(request.fetch_offset(), std::max<int64_t>(limit, 1), hw);
  if (!records.ok()) {
    SetPartitionError(records.status(), response);
    return 0;
  }
  response->set_error_code(ErrorCode::ERROR_CODE_NONE);
  response->clear_error_message();
  *response->mutable_records() = std::move(*records);
  return static_cast<int64_t>(response->records().size());
}

absl::Status ReplicaManager::Fetch(const runnel::v1::FetchRequest& request,
                                   runnel::v1::FetchResponse* response) {
  if (request.partitions().empty()) {
    return absl::InvalidArgumentError("fetch request names no partitions");
  }
  const absl::Time deadline =
      absl::Now() + std::min(absl::Milliseconds(std::max(request.max_wait_ms(), 0)),
                             options_.max_fetch_wait);
  const int64_t max_bytes =
      request.max_bytes() > 0 ? request.max_bytes() : options_.default_fetch_max_bytes;
  while (true) {
    int64_t seq;
    {
      absl::MutexLock lock(&append_mu_);
      seq = append_seq_;
    }
    response->clear_partitions();
    int64_t total = 0;
    bool any_error = false;
    for (const auto& p : request.partitions()) {
      auto* out = response->add_partitions();
      // The first partition with data may exceed the budget by one batch so
      // that a consumer always progresses; after that the budget is strict.
      int64_t budget = total == 0 ? max_bytes : max_bytes - total;
      if (budget <= 0) {
        FetchPartition(p, 0, out);
        out->clear_records();
        continue;
      }
      total += FetchPartition(p, budget, out);
      any_error |= out->error_code() != ErrorCode::ERROR_CODE_NONE;
    }
    if (total >= std::max(request.min_bytes(), 1) || any_error || absl::Now() >= deadline) {
      return absl::OkStatus();
    }
    absl::MutexLock lock(&append_mu_);
    auto moved = [this, seq]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(append_mu_) {
      return append_seq_ != seq || shutdown_;
    };
    if (!append_mu_.AwaitWithDeadline(absl::Condition(&moved), deadline) || shutdown_) {
      // Timed out (or shutting down): the response from the last pass stands.
      return absl::OkStatus();
    }
  }
}

absl::Status ReplicaManager::ListOffsets(const runnel::v1::ListOffsetsRequest& request,
                                         runnel::v1::ListOffsetsResponse* response) {
  if (request.partitions().empty()) {
    return absl::InvalidArgumentError("list offsets request names no partitions");
  }
  for (const auto& p : request.partitions()) {
    auto* out = response->add_partitions();
    out->set_topic(p.topic());
    out->set_partition(p.partition());
    out->set_offset(-1);
    out->set_timestamp_ms(-1);
    auto leader = ResolveLeader(p.topic(), p.partition(), -1);
    if (!leader.ok()) {
      SetPartitionError(leader.status(), out);
      continue;
    }
    out->set_leader_epoch(leader->partition->leader_epoch());
    switch (p.spec()) {
      case runnel::v1::OFFSET_SPEC_EARLIEST:
        out->set_offset(leader->log->log_start_offset());
        break;
      case runnel::v1::OFFSET_SPEC_LATEST:
        out->set_offset(HighWatermark(*leader->log));
        break;
      case runnel::v1::OFFSET_SPEC_TIMESTAMP: {
        auto offset = leader->log->OffsetForTimestamp(p.timestamp_ms());
        if (!offset.ok()) {
          SetPartitionError(offset.status(), out);
          break;
        }
        out->set_offset(std::min(*offset, HighWatermark(*leader->log)));
        break;
      }
      default:
        SetPartitionError(PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST,
                                         "list offsets needs spec EARLIEST, LATEST or TIMESTAMP"),
                          out);
    }
  }
  return absl::OkStatus();
}

std::optional<storage::CleanerPolicy> ReplicaManager::CleanerPolicyFor(
    const storage::PartitionId& id) const {
  std::shared_ptr<const cluster::MetadataSnapshot> snapshot = metadata_->Snapshot();
  // A linear search by id: the cleaner asks once per partition per pass
  // (every 30 s by default), so this stays cheap next to the pass itself.
  for (const auto& topic : snapshot->metadata().topics()) {
    if (topic.topic_id() != id.topic_id) continue;
    const auto& ps = topic.partitions();
    if (std::none_of(ps.begin(), ps.end(),
                     [&id](const auto& p) { return p.partition() == id.partition; })) {
      return std::nullopt;
    }
    absl::StatusOr<TopicConfig> config = ParseTopicConfigMap(topic.configs());
    if (!config.ok()) {
      RLOG(WARN) << "not cleaning partition: its topic configs do not parse"
                 << Kv("partition", PartitionName(topic.name(), id.partition))
                 << Kv("error", config.status().message());
      return std::nullopt;
    }
    std::shared_ptr<storage::PartitionLog> log = logs_->Get(id);
    if (log == nullptr) return std::nullopt;
    return storage::CleanerPolicy{*std::move(config), HighWatermark(*log)};
  }
  return std::nullopt;
}

void ReplicaManager::Shutdown() {
  absl::MutexLock lock(&append_mu_);
  shutdown_ = true;
}

}  // namespace runnel::replication
