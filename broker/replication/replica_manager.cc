#include "broker/replication/replica_manager.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// The topic's effective config: the coordinator stores only overrides, and
// validated them, so a parse failure means a newer coordinator knows a key
// this broker does not; the defaults are then the safe reading.
TopicConfig EffectiveConfig(const runnel::v1::TopicInfo& topic) {
  absl::StatusOr<TopicConfig> config = ParseTopicConfigMap(topic.configs());
  return config.ok() ? *config : TopicConfig();
}

// The first offset at or after `batch_offset` whose record timestamp is >=
// timestamp_ms, by decoding the one batch the log's batch-level lookup
// found (ListOffsets only; never on the produce or fetch path).
absl::StatusOr<int64_t> FirstOffsetAtOrAfter(const storage::PartitionLog& log,
                                             int64_t batch_offset, int64_t timestamp_ms,
                                             int64_t high_watermark) {
  if (batch_offset >= high_watermark) return batch_offset;
  absl::StatusOr<std::string> data = log.Read(batch_offset, 1, high_watermark);
  if (!data.ok()) return data.status();
  std::vector<batch::Record> records;
  for (absl::string_view b : batch::SplitStoredBatches(*data)) {
    if (absl::Status s = batch::DecodeRecords(b, &records); !s.ok()) return s;
    for (const batch::Record& r : records) {
      if (r.offset >= batch_offset && r.timestamp >= timestamp_ms) return r.offset;
    }
    // The batch's max timestamp said a record qualifies; if none does (a
    // header at odds with its records), the batch's end is the answer.
    return batch::ParseHeader(b)->last_offset() + 1;
  }
  return batch_offset;
}

std::vector<int32_t> ToVector(const google::protobuf::RepeatedField<int32_t>& ids) {
  return std::vector<int32_t>(ids.begin(), ids.end());
}
}  // namespace

ReplicaManager::ReplicaManager(ReplicaManagerOptions options, storage::LogManager* logs,
                               cluster::MetadataCache* metadata, ClusterHooks hooks)
    : options_(std::move(options)),
      logs_(logs),
      metadata_(metadata),
      hooks_(std::move(hooks)),
      own_metrics_(options_.metrics == nullptr ? std::make_unique<metrics::Registry>() : nullptr),
      metrics_(options_.metrics != nullptr ? options_.metrics : own_metrics_.get()) {}

ReplicaManager::~ReplicaManager() {
  Shutdown();
  if (isr_thread_.joinable()) isr_thread_.join();
}

bool ReplicaManager::SessionValid() const {
  return !hooks_.session_valid || hooks_.session_valid();
}

void ReplicaManager::NotifyProgress() {
  absl::MutexLock lock(&progress_mu_);
  ++progress_seq_;
}

std::shared_ptr<ReplicaManager::Replica> ReplicaManager::FindReplica(
    const storage::PartitionId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = replicas_.find(id);
  return it == replicas_.end() ? nullptr : it->second;
}

void ReplicaManager::UpdateHighWatermarkLocked(Replica& r) {
  // A broker that may have lost its session may have been replaced as
  // leader: it must not declare anything committed.
  if (!r.leader || !SessionValid()) return;
  if (r.leader->UpdateHighWatermark(r.log->log_end_offset())) {
    r.hw = r.leader->high_watermark();
    NotifyProgress();
  }
}

void ReplicaManager::ApplyStateLocked(Replica& r, const runnel::v1::PartitionInfo& info) {
  if (r.has_state && info.partition_epoch() <= r.state.partition_epoch()) return;
  const bool same_term = r.leader && r.leader->leader_epoch() == info.leader_epoch();
  runnel::v1::PartitionInfo next = info;
  if (next.replicas().empty()) *next.mutable_replicas() = r.state.replicas();
  r.state = std::move(next);
  r.has_state = true;
  if (r.state.leader() == options_.broker_id) {
    if (same_term) {
      r.leader->SetReplicas(ToVector(r.state.replicas()), options_.clock());
      r.leader->ApplyIsr(ToVector(r.state.isr()));
    } else {
      const int64_t leo = r.log->log_end_offset();
      r.leader.emplace(options_.broker_id, ToVector(r.state.replicas()),
                       ToVector(r.state.isr()), r.state.leader_epoch(), leo,
                       std::min<int64_t>(r.hw.load(), leo), options_.clock());
      r.hw = r.leader->high_watermark();
      RLOG(INFO) << "leading partition" << Kv("partition", r.name)
                 << Kv("leader_epoch", r.state.leader_epoch()) << Kv("log_end", leo)
                 << Kv("hw", r.hw.load());
    }
    r.leading_epoch = r.state.leader_epoch();
    UpdateHighWatermarkLocked(r);
  } else {
    if (r.leader) {
      RLOG(INFO) << "no longer leading partition" << Kv("partition", r.name)
                 << Kv("leader", r.state.leader()) << Kv("leader_epoch", r.state.leader_epoch());
    }
    r.leader.reset();
    r.leading_epoch = -1;
    NotifyProgress();  // acks=all waiters of the old term answer NOT_LEADER
  }
}

void ReplicaManager::ApplyMetadata(const cluster::MetadataSnapshot& snapshot) {
  std::map<uint64_t, const runnel::v1::TopicInfo*> live_topics;
  std::map<int32_t, int64_t> broker_epochs;
  for (const auto& b : snapshot.metadata().brokers()) broker_epochs[b.id()] = b.broker_epoch();
  FollowSet follow;
  for (const auto& topic : snapshot.metadata().topics()) {
    live_topics[topic.topic_id()] = &topic;
    for (const auto& p : topic.partitions()) {
      const auto& rs = p.replicas();
      if (std::find(rs.begin(), rs.end(), options_.broker_id) == rs.end()) continue;
      const storage::PartitionId id{topic.topic_id(), p.partition()};
      const std::string name = PartitionName(topic.name(), p.partition());
      std::shared_ptr<Replica> r = FindReplica(id);
      if (r == nullptr) {
        auto log = logs_->GetOrCreate(id);
        if (!log.ok()) {
          RLOG(ERROR) << "cannot open partition log" << Kv("partition", name)
                      << Kv("error", log.status().message());
          continue;
        }
        absl::MutexLock lock(&mu_);
        auto& slot = replicas_[id];
        if (slot == nullptr) {
          slot = std::make_shared<Replica>(id, topic.name(), name, *std::move(log),
                                           metrics_.ForPartition(topic.name(), p.partition()));
        }
        r = slot;
      }
      absl::MutexLock lock(&r->mu);
      ApplyStateLocked(*r, p);
      if (r->leader) {
        r->leader->ObserveBrokerEpochs(broker_epochs);
        UpdateHighWatermarkLocked(*r);
      } else if (r->state.leader() >= 0) {
        const runnel::v1::BrokerInfo* leader = snapshot.FindBroker(r->state.leader());
        if (leader == nullptr) continue;
        auto& entry = follow[r->state.leader()];
        entry.first = leader->address();
        const auto& adding = r->state.adding_replicas();
        const bool copying =
            std::find(adding.begin(), adding.end(), options_.broker_id) != adding.end();
        entry.second.push_back({id, topic.name(), p.partition(), r->state.leader_epoch(),
                                copying ? r->state.reassignment_throttle_bytes() : 0});
      }
    }
  }
  for (const storage::PartitionId& id : logs_->List()) {
    auto topic = live_topics.find(id.topic_id);
    if (topic == live_topics.end()) {
      // A topic id missing from the metadata was deleted: free its space.
      {
        absl::MutexLock lock(&mu_);
        replicas_.erase(id);
      }
      absl::Status s = logs_->Delete(id);
      RLOG(INFO) << "deleted partition of deleted topic" << Kv("topic_id", id.topic_id)
                 << Kv("partition", id.partition) << Kv("status", s.ToString());
      continue;
    }
    const runnel::v1::TopicInfo& t = *topic->second;
    // A partition this metadata does not know yet stays.
    if (id.partition < 0 || id.partition >= t.partitions_size()) continue;
    const runnel::v1::PartitionInfo& p = t.partitions(id.partition);
    const auto& rs = p.replicas();
    if (std::find(rs.begin(), rs.end(), options_.broker_id) != rs.end()) continue;
    RemoveReplica(id, PartitionName(t.name(), id.partition), p.partition_epoch());
  }
  if (hooks_.on_follow_change) hooks_.on_follow_change(follow);
}

void ReplicaManager::RemoveReplica(const storage::PartitionId& id, const std::string& name,
                                   int32_t partition_epoch) {
  if (std::shared_ptr<Replica> r = FindReplica(id); r != nullptr) {
    absl::MutexLock lock(&r->mu);
    if (r->has_state && r->state.partition_epoch() > partition_epoch) return;
    if (r->leader) {
      RLOG(INFO) << "no longer leading partition" << Kv("partition", r->name)
                 << Kv("reason", "no longer a replica");
    }
    r->removed = true;
    r->leader.reset();
    r->leading_epoch = -1;
  }
  {
    absl::MutexLock lock(&mu_);
    replicas_.erase(id);
  }
  NotifyProgress();  // acks=all waiters of its leadership answer NOT_LEADER
  absl::Status s = logs_->Delete(id);
  RLOG(INFO) << "deleted partition no longer placed here" << Kv("partition", name)
             << Kv("partition_epoch", partition_epoch) << Kv("status", s.ToString());
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
  const std::string name = PartitionName(topic, partition);
  leader.replica = FindReplica({leader.topic->topic_id(), partition});
  // The replica's applied state is the truth (it may be newer than the
  // snapshot); a partition not hosted here answers from the metadata.
  int32_t leader_id = (*p)->leader();
  int32_t epoch = (*p)->leader_epoch();
  if (leader.replica != nullptr) {
    absl::MutexLock lock(&leader.replica->mu);
    if (leader.replica->has_state) {
      leader_id = leader.replica->state.leader();
      epoch = leader.replica->state.leader_epoch();
    }
  }
  if (leader_id < 0) {
    return PartitionError(ErrorCode::ERROR_CODE_LEADER_NOT_AVAILABLE,
                          absl::StrCat("partition ", name, " has no leader"));
  }
  if (leader_id != options_.broker_id) {
    return PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                          absl::StrCat("broker ", options_.broker_id, " is not the leader of ",
                                       name, " (leader is broker ", leader_id, ")"));
  }
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
  if (leader.replica == nullptr) {
    // Metadata arrived but the log is not open yet (or failed to open).
    return PartitionError(ErrorCode::ERROR_CODE_LEADER_NOT_AVAILABLE,
                          absl::StrCat("partition ", name, " is not ready on broker ",
                                       options_.broker_id));
  }
  leader.leader_epoch = epoch;
  leader.log = leader.replica->log;
  return leader;
}

absl::StatusOr<storage::AppendResult> ReplicaManager::AppendTo(const Leader& leader,
                                                               const std::string& records,
                                                               bool acks_all) {
  if (records.empty()) {
    return PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST, "no record batches in request");
  }
  // Parsed once per append: size limit, key requirement and min ISR.
  const TopicConfig config = EffectiveConfig(*leader.topic);
  batch::ValidateOptions checks;
  // Compacted topics need a key on every record, as in Kafka: compaction keeps
  // the latest record per key, and a keyless record has none. Checked during
  // the validation walk over the records, so it costs nothing extra.
  checks.require_keys = config.cleanup_compact;
  auto batches = batch::SplitBatches(records, config.max_message_bytes, checks);
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
  Replica& r = *leader.replica;
  absl::MutexLock lock(&r.mu);
  // Checked again under the lock: the role may have changed since ResolveLeader.
  if (!r.leader || r.leader->leader_epoch() != leader.leader_epoch) {
    return PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                          absl::StrCat("broker ", options_.broker_id, " is not the leader of ",
                                       r.name, " (leadership moved)"));
  }
  if (!SessionValid()) {
    return PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                          absl::StrCat("broker ", options_.broker_id,
                                       " lost its coordinator session"));
  }
  const int32_t min_isr = config.min_insync_replicas;
  const int isr = static_cast<int>(r.leader->isr().size());
  if (acks_all && isr < min_isr) {
    return PartitionError(ErrorCode::ERROR_CODE_NOT_ENOUGH_REPLICAS,
                          absl::StrCat("partition ", r.name, " has ", isr,
                                       " in-sync replica(s), fewer than min.insync.replicas=",
                                       min_isr));
  }
  auto appended = r.log->Append(*batches, leader.leader_epoch);
  if (!appended.ok()) {
    return PartitionError(ErrorCode::ERROR_CODE_STORAGE_ERROR, appended.status().message());
  }
  NotifyProgress();
  UpdateHighWatermarkLocked(r);
  return *appended;
}

void ReplicaManager::AwaitReplication(const std::vector<AckWait>& waits, absl::Time deadline) {
  auto done = [&waits]() {
    for (const AckWait& w : waits) {
      if (w.replica->leading_epoch.load() == w.leader_epoch && w.replica->hw.load() < w.target) {
        return false;
      }
    }
    return true;
  };
  // Losing the coordinator session changes no mutex-guarded state, so wait
  // in short slices and look at it between them: a cut-off leader must tell
  // its producers at once (they retry on the new leader) rather than hold
  // them until the request times out.
  bool session_lost = false;
  {
    absl::MutexLock lock(&progress_mu_);
    auto ready = [this, &done]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(progress_mu_) {
      return shutdown_ || done();
    };
    while (!progress_mu_.AwaitWithDeadline(
        absl::Condition(&ready), std::min(deadline, absl::Now() + absl::Milliseconds(100)))) {
      if (absl::Now() >= deadline) break;
      if (!SessionValid()) {
        session_lost = true;
        break;
      }
    }
  }
  for (const AckWait& w : waits) {
    // Leadership is checked first: a HW learnt as a follower since says
    // nothing about this batch.
    if (session_lost && w.replica->hw.load() < w.target) {
      SetPartitionError(
          PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                         absl::StrCat("broker ", options_.broker_id,
                                      " lost its coordinator session before the batch of ",
                                      w.replica->name,
                                      " was replicated; it may or may not have been committed")),
          w.out);
    } else if (w.replica->leading_epoch.load() != w.leader_epoch) {
      SetPartitionError(
          PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                         absl::StrCat("broker ", options_.broker_id, " lost the leadership of ",
                                      w.replica->name,
                                      " before the batch was replicated; it may or may not "
                                      "have been committed")),
          w.out);
    } else if (w.replica->hw.load() < w.target) {
      SetPartitionError(
          PartitionError(ErrorCode::ERROR_CODE_REQUEST_TIMED_OUT,
                         absl::StrCat("timed out waiting for the in-sync replicas of ",
                                      w.replica->name, " to replicate the batch")),
          w.out);
    } else {
      continue;
    }
    w.out->set_base_offset(-1);
  }
}

absl::Status ReplicaManager::Produce(const runnel::v1::ProduceRequest& request,
                                     runnel::v1::ProduceResponse* response) {
  if (request.partitions().empty()) {
    return absl::InvalidArgumentError("produce request names no partitions");
  }
  if (!request.transactional_id().empty()) {
    return absl::UnimplementedError("transactions are not supported yet");
  }
  const bool acks_all = request.acks() == runnel::v1::ACKS_ALL ||
                        request.acks() == runnel::v1::ACKS_UNSPECIFIED;
  const absl::Duration timeout = request.timeout_ms() > 0
                                     ? absl::Milliseconds(request.timeout_ms())
                                     : options_.default_produce_timeout;
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<AckWait> waits;
  for (const auto& data : request.partitions()) {
    auto* out = response->add_partitions();
    out->set_topic(data.topic());
    out->set_partition(data.partition());
    out->set_base_offset(-1);
    auto leader = ResolveLeader(data.topic(), data.partition(), -1);
    absl::StatusOr<storage::AppendResult> appended =
        leader.ok() ? AppendTo(*leader, data.records(), acks_all) : leader.status();
    if (!appended.ok()) {
      SetPartitionError(appended.status(), out);
      continue;
    }
    out->set_base_offset(appended->base_offset);
    out->set_log_start_offset(leader->log->log_start_offset());
    leader->replica->counters->bytes_in->Increment(static_cast<double>(data.records().size()));
    leader->replica->counters->records_in->Increment(
        static_cast<double>(appended->last_offset - appended->base_offset + 1));
    if (acks_all) {
      waits.push_back({leader->replica, leader->leader_epoch, appended->last_offset + 1, out});
    }
  }
  // Waiting holds no lock: the HW moves as follower fetches arrive.
  if (!waits.empty()) AwaitReplication(waits, deadline);
  return absl::OkStatus();
}

int64_t ReplicaManager::FetchPartition(const runnel::v1::FetchRequest& request,
                                       const runnel::v1::FetchPartition& fp, int64_t budget,
                                       runnel::v1::FetchPartitionResponse* response,
                                       const PartitionCounters** counters) {
  response->set_topic(fp.topic());
  response->set_partition(fp.partition());
  response->set_high_watermark(-1);
  response->set_log_start_offset(-1);
  response->clear_records();
  response->clear_diverging_epoch();
  auto leader = ResolveLeader(fp.topic(), fp.partition(),
                              fp.has_current_leader_epoch() ? fp.current_leader_epoch() : -1);
  if (!leader.ok()) {
    SetPartitionError(leader.status(), response);
    return 0;
  }
  Replica& r = *leader->replica;
  if (counters != nullptr) *counters = r.counters;
  const std::string name = PartitionName(fp.topic(), fp.partition());
  const bool from_follower = FromFollower(request);
  const int64_t start = r.log->log_start_offset();
  response->set_log_start_offset(start);
  // RemoveReplica marks the replica removed before it deletes the log, and a
  // deleted log reads as empty: an answer computed from it (a diverging
  // epoch at offset 0, say) would make a follower truncate what it holds. So
  // an answer stands only if the replica was not removed once it was made.
  auto removed_meanwhile = [&]() {
    absl::MutexLock lock(&r.mu);
    if (!r.removed) return false;
    response->clear_diverging_epoch();
    response->clear_records();
    SetPartitionError(PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER,
                                     absl::StrCat("broker ", options_.broker_id,
                                                  " no longer holds a replica of ", name)),
                      response);
    return true;
  };
  if (from_follower) {
    bool is_replica;
    {
      absl::MutexLock lock(&r.mu);
      is_replica = std::find(r.state.replicas().begin(), r.state.replicas().end(),
                             request.replica_id()) != r.state.replicas().end();
    }
    const runnel::v1::BrokerInfo* b = leader->snapshot->FindBroker(request.replica_id());
    if (!is_replica) {
      SetPartitionError(PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST,
                                       absl::StrCat("broker ", request.replica_id(),
                                                    " is not a replica of ", name)),
                        response);
      return 0;
    }
    if (b != nullptr && request.replica_broker_epoch() < b->broker_epoch()) {
      SetPartitionError(
          PartitionError(ErrorCode::ERROR_CODE_INVALID_REQUEST,
                         absl::StrCat("replica_broker_epoch ", request.replica_broker_epoch(),
                                      " of broker ", request.replica_id(),
                                      " is stale (current ", b->broker_epoch(), ")")),
          response);
      return 0;
    }
    // KIP-101: does the follower's log agree with ours up to fetch_offset?
    if (fp.has_last_fetched_epoch()) {
      auto end = r.log->EndOffsetForEpoch(fp.last_fetched_epoch());
      const std::pair<int32_t, int64_t> e = end ? *end : std::make_pair(-1, start);
      if (e.first != fp.last_fetched_epoch() || fp.fetch_offset() > e.second) {
        response->set_high_watermark(r.hw.load());
        response->mutable_diverging_epoch()->set_epoch(e.first);
        response->mutable_diverging_epoch()->set_end_offset(e.second);
        response->set_error_code(ErrorCode::ERROR_CODE_NONE);
        removed_meanwhile();
        return 0;
      }
    }
  }
  // Consumers read below the HW, followers up to the log end; either may
  // ask for any offset up to the log end (a consumer ahead of a new leader's
  // HW just gets nothing yet).
  const int64_t end = r.log->log_end_offset();
  const int64_t limit_offset = from_follower ? end : r.hw.load();
  if (fp.fetch_offset() < start || fp.fetch_offset() > end) {
    response->set_high_watermark(r.hw.load());
    SetPartitionError(
        PartitionError(ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE,
                       absl::StrCat("offset ", fp.fetch_offset(), " out of range for ", name,
                                    ": valid offsets are ", start, " to ", end)),
        response);
    removed_meanwhile();
    return 0;
  }
  if (from_follower) {
    absl::MutexLock lock(&r.mu);
    if (r.leader && r.leader->leader_epoch() == leader->leader_epoch) {
      r.leader->RecordFetch(request.replica_id(), request.replica_broker_epoch(),
                            fp.fetch_offset(), r.log->log_end_offset(), options_.clock());
      UpdateHighWatermarkLocked(r);
    }
  }
  response->set_high_watermark(r.hw.load());
  const int64_t limit = std::min<int64_t>(
      budget,
      fp.max_bytes() > 0 ? fp.max_bytes() : options_.default_partition_fetch_max_bytes);
  auto records = r.log->Read(fp.fetch_offset(), std::max<int64_t>(limit, 1), limit_offset);
  if (!records.ok()) {
    SetPartitionError(records.status(), response);
    removed_meanwhile();
    return 0;
  }
  response->set_error_code(ErrorCode::ERROR_CODE_NONE);
  response->clear_error_message();
  *response->mutable_records() = std::move(*records);
  if (removed_meanwhile()) return 0;
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
      absl::MutexLock lock(&progress_mu_);
      seq = progress_seq_;
    }
    response->clear_partitions();
    int64_t total = 0;
    bool any_error = false;
    // Counted once the answer is final: a long poll's earlier passes are not sent.
    std::vector<const PartitionCounters*> counters(request.partitions_size(), nullptr);
    auto count_and_return = [&] {
      for (int i = 0; i < response->partitions_size(); ++i) {
        if (counters[i] != nullptr) {
          counters[i]->CountFetched(response->partitions(i).records(), FromFollower(request));
        }
      }
      return absl::OkStatus();
    };
    for (int i = 0; i < request.partitions_size(); ++i) {
      const auto& p = request.partitions(i);
      auto* out = response->add_partitions();
      // The first partition with data may exceed the budget by one batch so
      // that a consumer always progresses; after that the budget is strict.
      int64_t budget = total == 0 ? max_bytes : max_bytes - total;
      if (budget <= 0) {
        FetchPartition(request, p, 0, out, nullptr);
        out->clear_records();
        continue;
      }
      total += FetchPartition(request, p, budget, out, &counters[i]);
      any_error |= out->error_code() != ErrorCode::ERROR_CODE_NONE || out->has_diverging_epoch();
    }
    if (total >= std::max(request.min_bytes(), 1) || any_error || absl::Now() >= deadline) {
      return count_and_return();
    }
    bool stop;
    {
      absl::MutexLock lock(&progress_mu_);
      auto moved = [this, seq]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(progress_mu_) {
        return progress_seq_ != seq || shutdown_;
      };
      stop = !progress_mu_.AwaitWithDeadline(absl::Condition(&moved), deadline) || shutdown_;
    }
    // Timed out (or shutting down): the response from the last pass stands.
    if (stop) return count_and_return();
  }
}

absl::Status ReplicaManager::FetchStream(
    const runnel::v1::FetchRequest& request, const std::function<bool()>& cancelled,
    const std::function<bool(const runnel::v1::FetchResponse&)>& send) {
  if (FromFollower(request)) {
    return absl::InvalidArgumentError("followers fetch with Fetch, not FetchStream");
  }
  runnel::v1::FetchRequest next = request;
  runnel::v1::FetchResponse answer;
  while (next.partitions_size() > 0 && !cancelled()) {
    absl::Status fetched = Fetch(next, &answer);
    if (!fetched.ok()) return fetched;
    {
      absl::MutexLock lock(&progress_mu_);
      if (shutdown_) return absl::OkStatus();
    }
    // Keep only the news, and move each partition on past it. Answers and
    // request list the partitions in the same order.
    runnel::v1::FetchResponse news;
    int kept = 0;
    for (int i = 0; i < answer.partitions_size(); ++i) {
      runnel::v1::FetchPartitionResponse* p = answer.mutable_partitions(i);
      const bool failed =
          p->error_code() != ErrorCode::ERROR_CODE_NONE || p->has_diverging_epoch();
      const int64_t after = failed ? -1 : batch::NextOffsetAfter(p->records());
      if (failed || after >= 0) news.add_partitions()->Swap(p);
      if (failed) continue;  // this partition's stream ends here
      if (after >= 0) next.mutable_partitions(i)->set_fetch_offset(after);
      if (kept != i) next.mutable_partitions()->SwapElements(kept, i);
      ++kept;
    }
    while (next.partitions_size() > kept) next.mutable_partitions()->RemoveLast();
    if (news.partitions_size() > 0 && !send(news)) return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<FollowerPosition> ReplicaManager::FollowerFetchPosition(
    const storage::PartitionId& id, int32_t leader_epoch) {
  std::shared_ptr<Replica> r = FindReplica(id);
  if (r == nullptr) return absl::FailedPreconditionError("partition not hosted here");
  absl::MutexLock lock(&r->mu);
  if (r->removed || r->leader || r->state.leader_epoch() != leader_epoch) {
    return absl::FailedPreconditionError("no longer following at this leader epoch");
  }
  FollowerPosition pos;
  pos.fetch_offset = r->log->log_end_offset();
  const int32_t last = r->log->latest_epoch();
  if (last >= 0) pos.last_fetched_epoch = last;
  return pos;
}

absl::Status ReplicaManager::ApplyFollowerFetch(const storage::PartitionId& id,
                                                int32_t leader_epoch,
                                                const FollowerPosition& position,
                                                const runnel::v1::FetchPartitionResponse& resp) {
  std::shared_ptr<Replica> r = FindReplica(id);
  if (r == nullptr) return absl::OkStatus();
  absl::MutexLock lock(&r->mu);
  storage::PartitionLog& log = *r->log;
  if (r->removed || r->leader || r->state.leader_epoch() != leader_epoch ||
      log.log_end_offset() != position.fetch_offset) {
    return absl::OkStatus();  // stale answer: the next fetch starts afresh
  }
  auto set_hw = [&r, &log](int64_t leader_hw) {
    r->hw = std::max<int64_t>(std::min(leader_hw, log.log_end_offset()), log.log_start_offset());
  };
  if (resp.error_code() == ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE &&
      (position.fetch_offset < resp.log_start_offset() ||
       log.log_start_offset() == log.log_end_offset())) {
    // Our log lies below the leader's start: start over there.
    RLOG(INFO) << "follower log below leader's log start; starting over"
               << Kv("partition", r->name) << Kv("offset", resp.log_start_offset());
    absl::Status s = log.ResetTo(resp.log_start_offset());
    set_hw(resp.log_start_offset());
    return s;
  }
  if (resp.error_code() != ErrorCode::ERROR_CODE_NONE) {
    return PartitionError(resp.error_code(), resp.error_message());
  }
  if (resp.has_diverging_epoch()) {
    const auto& d = resp.diverging_epoch();
    Truncation t = FollowerTruncation(log.log_start_offset(), log.log_end_offset(),
                                      log.EndOffsetForEpoch(d.epoch()), d.end_offset());
    RLOG(INFO) << "follower log diverged from leader; truncating" << Kv("partition", r->name)
               << Kv("leader_epoch", d.epoch()) << Kv("leader_end_offset", d.end_offset())
               << Kv("truncate_to", t.offset) << Kv("reset", t.kind == Truncation::kReset);
    absl::Status s = t.kind == Truncation::kReset ? log.ResetTo(t.offset)
                                                  : log.TruncateSuffix(t.offset);
    set_hw(std::min(r->hw.load(), log.log_end_offset()));
    return s;
  }
  std::vector<absl::string_view> batches;
  for (absl::string_view b : batch::SplitStoredBatches(resp.records())) {
    auto header = batch::ParseHeader(b);
    if (!header.ok()) return header.status();
    if (header->last_offset() < position.fetch_offset) continue;  // already held
    // The leader serves batches without checking RocksDB's block checksums
    // (see PartitionLog::Read); their own CRC is checked here instead, so a
    // replica never copies a damaged batch.
    if (absl::Status s = batch::ValidateFrame(b); !s.ok()) {
      return absl::DataLossError(absl::StrCat("batch at offset ", header->base_offset,
                                              " from the leader of ", r->name, ": ",
                                              s.message()));
    }
    batches.push_back(b);
  }
  if (!batches.empty()) {
    auto appended = log.AppendReplicated(batches);
    if (!appended.ok()) {
      RLOG(ERROR) << "cannot append replicated batches" << Kv("partition", r->name)
                  << Kv("error", appended.status().message());
      return appended.status();
    }
    size_t bytes = 0;
    for (absl::string_view b : batches) bytes += b.size();
    r->counters->replication_bytes_in->Increment(static_cast<double>(bytes));
    NotifyProgress();
  }
  set_hw(resp.high_watermark());
  return absl::OkStatus();
}

void ReplicaManager::MaintainIsr() {
  if (!SessionValid()) return;
  absl::MutexLock isr_lock(&isr_mu_);
  const absl::Time now = options_.clock();
  std::vector<std::shared_ptr<Replica>> all;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, r] : replicas_) all.push_back(r);
  }
  std::vector<std::pair<std::shared_ptr<Replica>, runnel::v1::AlterPartitionRequest>> proposals;
  for (const auto& r : all) {
    absl::MutexLock lock(&r->mu);
    if (!r->leader) continue;
    // The HW may have been held while the session was in doubt (e.g. just
    // after a restart, before the first metadata): catch up now.
    UpdateHighWatermarkLocked(*r);
    if (!hooks_.alter_partition) continue;
    auto isr = r->leader->IsrProposal(now, options_.replica_lag_time_max);
    if (!isr) continue;
    r->leader->SetPending(*isr);
    runnel::v1::AlterPartitionRequest req;
    req.set_topic_id(r->id.topic_id);
    req.set_partition(r->id.partition);
    req.set_leader_epoch(r->state.leader_epoch());
    req.set_partition_epoch(r->state.partition_epoch());
    for (int32_t b : *isr) req.add_new_isr(b);
    RLOG(INFO) << "proposing ISR change" << Kv("partition", r->name)
               << Kv("isr", absl::StrJoin(r->state.isr(), ","))
               << Kv("new_isr", absl::StrJoin(*isr, ","));
    proposals.emplace_back(r, std::move(req));
  }
  for (auto& [r, req] : proposals) {
    absl::StatusOr<runnel::v1::PartitionInfo> result = hooks_.alter_partition(req);
    if (!result.ok()) {
      RLOG(WARN) << "ISR change not applied" << Kv("partition", r->name)
                 << Kv("error", result.status().ToString());
      unresolved_.emplace_back(r, req.partition_epoch());
      continue;
    }
    absl::MutexLock lock(&r->mu);
    CountIsrChange(req.new_isr(), r->state.isr(), *result);
    ApplyStateLocked(*r, *result);
    if (r->leader) {
      r->leader->ClearPending();  // the committed state is in (or a newer one)
      UpdateHighWatermarkLocked(*r);
    }
  }
  if (unresolved_.empty()) return;
  // The outcome is unknown (refused, or the answer lost): keep counting the
  // proposed members for the HW until fresh metadata says what happened.
  if (!hooks_.refresh_metadata || !hooks_.refresh_metadata().ok()) return;
  for (auto& [r, epoch] : unresolved_) {
    absl::MutexLock lock(&r->mu);
    // A newer state was applied by the refresh (clearing the pending
    // proposal) or nothing changed: propose again from the current state.
    if (r->leader && r->state.partition_epoch() == epoch) r->leader->ClearPending();
  }
  unresolved_.clear();
}

void ReplicaManager::StartIsrMaintenance() {
  isr_thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&progress_mu_);
        if (progress_mu_.AwaitWithTimeout(absl::Condition(&shutdown_),
                                          options_.isr_check_interval)) {
          return;
        }
      }
      MaintainIsr();
    }
  });
}

void ReplicaManager::CountIsrChange(const google::protobuf::RepeatedField<int32_t>& proposed,
                                    const google::protobuf::RepeatedField<int32_t>& before,
                                    const runnel::v1::PartitionInfo& committed) {
  // Only an ISR the coordinator committed as proposed counts (the answer
  // may carry a newer state made by someone else).
  const std::set<int32_t> now(committed.isr().begin(), committed.isr().end());
  if (now != std::set<int32_t>(proposed.begin(), proposed.end())) return;
  const std::set<int32_t> was(before.begin(), before.end());
  if (std::any_of(was.begin(), was.end(), [&](int32_t b) { return now.count(b) == 0; })) {
    metrics_.isr_shrinks()->Increment();
  }
  if (std::any_of(now.begin(), now.end(), [&](int32_t b) { return was.count(b) == 0; })) {
    metrics_.isr_expands()->Increment();
  }
}

std::vector<runnel::v1::PartitionHighWatermark> ReplicaManager::LeaderHighWatermarks() const {
  std::vector<runnel::v1::PartitionHighWatermark> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, r] : replicas_) {
    if (r->leading_epoch.load() < 0) continue;
    runnel::v1::PartitionHighWatermark& hw = out.emplace_back();
    hw.set_topic_id(id.topic_id);
    hw.set_partition(id.partition);
    hw.set_high_watermark(r->hw.load());
  }
  return out;
}

std::vector<ReplicaStats> ReplicaManager::Stats() const {
  std::vector<std::shared_ptr<Replica>> all;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, r] : replicas_) all.push_back(r);
  }
  std::vector<ReplicaStats> out;
  for (const auto& r : all) {
    ReplicaStats& s = out.emplace_back();
    s.topic = r->topic;
    s.partition = r->id.partition;
    s.log_start_offset = r->log->log_start_offset();
    s.log_end_offset = r->log->log_end_offset();
    s.size_bytes = r->log->size_bytes();
    s.high_watermark = r->hw.load();
    absl::MutexLock lock(&r->mu);
    s.leader = r->leader.has_value();
    s.offline = r->has_state && r->state.leader() < 0;
    s.replicas = r->state.replicas_size();
    s.isr = r->state.isr_size();
  }
  return out;
}

int64_t ReplicaManager::HighWatermarkOf(const storage::PartitionId& id) const {
  std::shared_ptr<Replica> r = FindReplica(id);
  return r == nullptr ? -1 : r->hw.load();
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
    out->set_leader_epoch(leader->leader_epoch);
    switch (p.spec()) {
      case runnel::v1::OFFSET_SPEC_EARLIEST:
        out->set_offset(leader->log->log_start_offset());
        break;
      case runnel::v1::OFFSET_SPEC_LATEST:
        out->set_offset(leader->replica->hw.load());
        break;
      case runnel::v1::OFFSET_SPEC_TIMESTAMP: {
        const int64_t hw = leader->replica->hw.load();
        auto batch_offset = leader->log->OffsetForTimestamp(p.timestamp_ms());
        auto offset = batch_offset.ok()
                          ? FirstOffsetAtOrAfter(*leader->log, *batch_offset, p.timestamp_ms(), hw)
                          : batch_offset;
        if (!offset.ok()) {
          SetPartitionError(offset.status(), out);
          break;
        }
        out->set_offset(std::min(*offset, hw));
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
    std::shared_ptr<Replica> r = FindReplica(id);
    if (r == nullptr) return std::nullopt;
    return storage::CleanerPolicy{*std::move(config), r->hw.load()};
  }
  return std::nullopt;
}

void ReplicaManager::Shutdown() {
  absl::MutexLock lock(&progress_mu_);
  shutdown_ = true;
}

}  // namespace runnel::replication
