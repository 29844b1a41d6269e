#include "coordinator/core/coordinator.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/topic_config.h"
#include "coordinator/election/election.h"
#include "coordinator/election/reassignment.h"
#include "coordinator/errors.h"
#include "coordinator/placement/balance.h"
#include "coordinator/store/keys.h"

namespace runnel::coordinator {
namespace {

// 128 random bits, URL-safe base64 (22 characters), like Kafka's cluster ids.
std::string NewClusterId() {
  absl::BitGen gen;
  std::string bytes(16, '\0');
  for (char& c : bytes) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
  return absl::WebSafeBase64Escape(bytes);
}

// The stored cluster id, or a new one persisted now.
absl::StatusOr<std::string> LoadOrCreateClusterId(store::VersionedStore* store) {
  absl::StatusOr<std::string> id = store->Get(store::kClusterIdKey);
  if (!absl::IsNotFound(id.status())) return id;
  std::string fresh = NewClusterId();
  store::WriteBatch batch;
  batch.Put(store::kClusterIdKey, fresh);
  if (absl::Status s = store->Commit(std::move(batch)); !s.ok()) return s;
  RLOG(INFO) << "new cluster" << Kv("cluster_id", fresh);
  return fresh;
}

bool UncleanElectionAllowed(const v1::TopicInfo& topic) {
  absl::StatusOr<TopicConfig> config = ParseTopicConfigMap(topic.configs());
  // Configs are validated when set; one this version cannot parse must not
  // be read as permission to lose data.
  return config.ok() && config->unclean_leader_election_enable;
}

// election::Reconcile under `members`, for TopicTable::Plan. `members` must
// outlive the returned function.
topics::TopicTable::PartitionChange ReconcileUnder(const election::Membership& members) {
  return [&members](const v1::TopicInfo& topic, const v1::PartitionInfo& partition) {
    return election::Reconcile(partition, members, UncleanElectionAllowed(topic));
  };
}

void LogPartitionChanges(absl::string_view reason,
                         const std::vector<topics::PartitionState>& updates) {
  for (const topics::PartitionState& u : updates) {
    const v1::PartitionInfo& p = u.partition;
    const std::string name = PartitionName(u.topic, p.partition());
    const std::string isr = absl::StrJoin(p.isr(), ",");
    if (p.leader() == election::kNoLeader) {
      RLOG(WARN) << "partition offline: no live in-sync replica" << Kv("reason", reason)
                 << Kv("partition", name) << Kv("isr", isr);
      continue;
    }
    RLOG(INFO) << "partition state changed" << Kv("reason", reason) << Kv("partition", name)
               << Kv("leader", p.leader()) << Kv("leader_epoch", p.leader_epoch()) << Kv("isr", isr)
               << Kv("partition_epoch", p.partition_epoch());
  }
}

// What ReassignPartitions and ListReassignments report for a partition.
v1::ReassignmentStatus ReassignmentStatusOf(const std::string& topic,
                                            const v1::PartitionInfo& partition) {
  v1::ReassignmentStatus status;
  status.set_topic(topic);
  status.set_partition(partition.partition());
  *status.mutable_replicas() = partition.replicas();
  const std::vector<int32_t> target = election::TargetReplicas(partition);
  status.mutable_target_replicas()->Add(target.begin(), target.end());
  *status.mutable_adding_replicas() = partition.adding_replicas();
  *status.mutable_removing_replicas() = partition.removing_replicas();
  return status;
}

}  // namespace

Coordinator::Coordinator(std::string cluster_id, const CoordinatorOptions& options,
                         std::unique_ptr<store::VersionedStore> store,
                         std::unique_ptr<members::BrokerRegistry> registry,
                         std::unique_ptr<topics::TopicTable> topics,
                         std::unique_ptr<groups::GroupCoordinator> groups)
    : cluster_id_(std::move(cluster_id)),
      clock_(options.clock),
      leader_balance_interval_(options.leader_balance_interval),
      // Not before every broker's restart grace period has run out: until
      // then, a broker that died while the coordinator was down still looks
      // live and could be handed leadership only to be fenced.
      next_balance_(clock_() + options.session_timeout + options.leader_balance_interval),
      auto_balance_(options.auto_balance),
      auto_balance_delay_(options.auto_balance_delay),
      auto_balance_throttle_bytes_(options.auto_balance_throttle_bytes),
      store_(std::move(store)),
      registry_(std::move(registry)),
      topics_(std::move(topics)),
      groups_(std::move(groups)) {}

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Open(store::MetadataStore* store,
                                                               CoordinatorOptions options) {
  absl::StatusOr<std::unique_ptr<store::VersionedStore>> vstore =
      store::VersionedStore::Open(store);
  if (!vstore.ok()) return vstore.status();
  absl::StatusOr<std::string> cluster_id = LoadOrCreateClusterId(vstore->get());
  if (!cluster_id.ok()) return cluster_id.status();
  absl::StatusOr<std::unique_ptr<members::BrokerRegistry>> registry =
      members::BrokerRegistry::Load(vstore->get(), options.session_timeout, options.clock);
  if (!registry.ok()) return registry.status();
  absl::StatusOr<std::unique_ptr<topics::TopicTable>> topics =
      topics::TopicTable::Load(vstore->get());
  if (!topics.ok()) return topics.status();
  // Offsets are written to the store directly: a commit is no metadata change.
  absl::StatusOr<std::unique_ptr<groups::GroupCoordinator>> groups =
      groups::GroupCoordinator::Open(store, (*topics)->Topics(), options.clock);
  if (!groups.ok()) return groups.status();
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(*cluster_id), options,
                                                      std::move(*vstore), std::move(*registry),
                                                      std::move(*topics), std::move(*groups)));
}

absl::StatusOr<v1::RegisterBrokerResponse> Coordinator::RegisterBroker(
    const v1::RegisterBrokerRequest& request) {
  const int32_t id = request.broker_id();
  absl::MutexLock lock(&mu_);
  // Decide on current liveness: a broker whose session expired is fenced
  // (and failed over) first, not treated as restarting.
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  election::Membership members = MembershipLocked();
  members.shutting_down.erase(id);  // a new incarnation may lead again
  // A live broker registering again has restarted: its previous incarnation
  // leaves the ISRs and its leaderships, as if fenced.
  if (members.live.count(id) > 0) members.restarted.insert(id);
  members.live.insert(id);
  // Partitions it can bring back elect it, in the registration's commit.
  const std::vector<topics::PartitionState> updates = topics_->Plan(ReconcileUnder(members));
  topics::StagedTopics staged = topics_->Stage(updates);
  absl::StatusOr<int64_t> epoch =
      registry_->Register(id, request.address(), request.rack(), std::move(staged.batch));
  if (!epoch.ok()) return epoch.status();
  topics_->Install(std::move(staged.topics));
  shutting_down_.erase(id);
  decommissioned_.erase(id);  // a broker registering again is back in service
  if (auto_balance_ && topics_->LoadByBroker().count(id) == 0) {
    // A broker joining empty: balance once it has held its session a while.
    join_balance_due_ = std::min(join_balance_due_, clock_() + registry_->session_timeout());
  }
  RLOG(INFO) << "broker registered" << Kv("broker", id) << Kv("address", request.address())
             << Kv("rack", request.rack()) << Kv("broker_epoch", *epoch);
  LogPartitionChanges(members.restarted.empty() ? "broker registered" : "broker restarted",
                      updates);
  v1::RegisterBrokerResponse response;
  response.set_broker_epoch(*epoch);
  response.set_session_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(registry_->session_timeout())));
  response.set_cluster_id(cluster_id_);
  return response;
}

absl::StatusOr<v1::BrokerHeartbeatResponse> Coordinator::BrokerHeartbeat(
    const v1::BrokerHeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  // So that a late heartbeat's fencing fails the broker over like any other.
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  absl::Status s = registry_->Heartbeat(request.broker_id(), request.broker_epoch());
  if (!s.ok()) {
    RLOG(DEBUG) << "heartbeat refused" << Kv("broker", request.broker_id())
                << Kv("error", s.message());
    return s;
  }
  for (const v1::PartitionHighWatermark& hw : request.high_watermarks()) {
    high_watermarks_[{hw.topic_id(), hw.partition()}] = {request.broker_id(), hw.high_watermark()};
  }
  v1::BrokerHeartbeatResponse response;
  response.set_metadata_version(store_->version());
  return response;
}

v1::ClusterMetadata Coordinator::GetClusterMetadata() {
  absl::MutexLock lock(&mu_);
  v1::ClusterMetadata metadata;
  metadata.set_version(store_->version());
  metadata.set_cluster_id(cluster_id_);
  for (v1::BrokerInfo& b : registry_->Brokers()) *metadata.add_brokers() = std::move(b);
  for (v1::TopicInfo& t : topics_->Topics()) *metadata.add_topics() = std::move(t);
  return metadata;
}

absl::StatusOr<v1::AlterPartitionResponse> Coordinator::AlterPartition(
    const v1::AlterPartitionRequest& request) {
  election::IsrProposal proposal;
  proposal.broker_id = request.broker_id();
  proposal.leader_epoch = request.leader_epoch();
  proposal.partition_epoch = request.partition_epoch();
  proposal.new_isr.assign(request.new_isr().begin(), request.new_isr().end());

  absl::MutexLock lock(&mu_);
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  // Brokers in controlled shutdown may not join ISRs nor lead again.
  const std::set<int32_t> live = ElectableLocked();
  absl::StatusOr<topics::PartitionState> current =
      topics_->FindPartition(request.topic_id(), request.partition());
  auto decide = [&]() -> absl::StatusOr<v1::PartitionInfo> {
    if (absl::Status s = registry_->CheckSession(request.broker_id(), request.broker_epoch());
        !s.ok()) {
      return s;
    }
    if (!current.ok()) return current.status();
    return election::AlterIsr(current->topic, current->partition, proposal, live);
  };
  absl::StatusOr<v1::PartitionInfo> next = decide();
  if (!next.ok()) {
    RLOG(INFO) << "AlterPartition refused" << Kv("broker", request.broker_id())
               << Kv("topic_id", request.topic_id()) << Kv("partition", request.partition())
               << Kv("error", next.status().message());
    return next.status();
  }
  if (next->partition_epoch() != current->partition.partition_epoch()) {
    if (absl::Status s = topics_->Update({{current->topic, *next}}); !s.ok()) return s;
    LogPartitionChanges("ISR altered by leader", {{current->topic, *next}});
    // A preferred replica back in the ISR takes leadership back at the next
    // Tick rather than after the balance interval.
    if (election::ElectPreferred(*next, live).has_value() &&
        !election::ElectPreferred(current->partition, live).has_value()) {
      next_balance_ = absl::InfinitePast();
    }
    // A new replica joining the ISR may complete its reassignment: at once,
    // in a commit of its own (the answer below is the ISR change, as the
    // contract says; the leader learns the rest from the metadata). On
    // failure the next Tick tries again.
    if (election::ReassignmentInProgress(*next)) {
      if (absl::Status s = CompleteReassignmentsLocked(); !s.ok()) {
        RLOG(WARN) << "reassignment completion failed" << Kv("error", s.message());
      }
    }
  }
  v1::AlterPartitionResponse response;
  *response.mutable_partition() = std::move(*next);
  return response;
}

absl::StatusOr<v1::CreateTopicResponse> Coordinator::CreateTopic(
    const v1::CreateTopicRequest& request) {
  topics::TopicSpec spec;
  spec.name = request.name();
  spec.partitions = request.partitions();
  spec.replication_factor = request.replication_factor();
  spec.configs.insert(request.configs().begin(), request.configs().end());

  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::TopicInfo> topic = topics_->Create(spec, PlaceableBrokersLocked());
  if (!topic.ok()) return topic.status();
  RLOG(INFO) << "topic created" << Kv("topic", topic->name()) << Kv("topic_id", topic->topic_id())
             << Kv("partitions", topic->partitions_size())
             << Kv("replication_factor", topic->replication_factor());
  groups_->TopicChanged(*topic);
  v1::CreateTopicResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

absl::Status Coordinator::DeleteTopic(const v1::DeleteTopicRequest& request) {
  absl::MutexLock lock(&mu_);
  absl::Status s = topics_->Delete(request.name());
  if (s.ok()) {
    RLOG(INFO) << "topic deleted" << Kv("topic", request.name());
    groups_->TopicDeleted(request.name());
  }
  return s;
}

v1::ListTopicsResponse Coordinator::ListTopics() {
  absl::MutexLock lock(&mu_);
  v1::ListTopicsResponse response;
  for (std::string& name : topics_->Names()) response.add_names(std::move(name));
  return response;
}

absl::StatusOr<v1::DescribeTopicResponse> Coordinator::DescribeTopic(
    const v1::DescribeTopicRequest& request) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::TopicInfo> topic = topics_->Describe(request.name());
  if (!topic.ok()) return topic.status();
  v1::DescribeTopicResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

v1::DescribeClusterResponse Coordinator::DescribeCluster() {
  absl::MutexLock lock(&mu_);
  const std::map<int32_t, topics::BrokerLoad> load = topics_->LoadByBroker();
  v1::DescribeClusterResponse response;
  response.set_cluster_id(cluster_id_);
  for (v1::BrokerInfo& b : registry_->Brokers()) {
    v1::BrokerSummary* summary = response.add_brokers();
    if (auto it = load.find(b.id()); it != load.end()) {
      summary->set_partitions_led(it->second.led);
      summary->set_partitions_followed(it->second.followed);
    }
    *summary->mutable_broker() = std::move(b);
  }
  return response;
}

absl::StatusOr<v1::AlterTopicConfigResponse> Coordinator::AlterTopicConfig(
    const v1::AlterTopicConfigRequest& request) {
  const std::map<std::string, std::string> set(request.set().begin(), request.set().end());
  const std::vector<std::string> reset(request.reset().begin(), request.reset().end());

  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::TopicInfo> topic = topics_->AlterConfigs(request.name(), set, reset);
  if (!topic.ok()) return topic.status();
  // Acted on at the next Tick: e.g. an offline partition elects a leader
  // once unclean.leader.election.enable is turned on.
  next_balance_ = absl::InfinitePast();
  RLOG(INFO) << "topic config altered" << Kv("topic", request.name())
             << Kv("set", absl::StrJoin(set, ",", absl::PairFormatter("=")))
             << Kv("reset", absl::StrJoin(reset, ","));
  v1::AlterTopicConfigResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

absl::StatusOr<v1::CreatePartitionsResponse> Coordinator::CreatePartitions(
    const v1::CreatePartitionsRequest& request) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::TopicInfo> topic =
      topics_->CreatePartitions(request.name(), request.total_count(), PlaceableBrokersLocked());
  if (!topic.ok()) return topic.status();
  RLOG(INFO) << "topic partitions created" << Kv("topic", topic->name())
             << Kv("partitions", topic->partitions_size());
  groups_->TopicChanged(*topic);
  v1::CreatePartitionsResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

absl::StatusOr<std::vector<int32_t>> Coordinator::ExpireSessions() {
  absl::MutexLock lock(&mu_);
  return ExpireSessionsLocked();
}

absl::StatusOr<std::vector<int32_t>> Coordinator::ExpireSessionsLocked() {
  std::vector<int32_t> expired = registry_->ExpiredBrokers();
  if (expired.empty()) return expired;
  election::Membership members = MembershipLocked();  // without the expired ones
  const std::vector<topics::PartitionState> updates = topics_->Plan(ReconcileUnder(members));
  topics::StagedTopics staged = topics_->Stage(updates);
  if (absl::Status s = registry_->Fence(expired, std::move(staged.batch)); !s.ok()) return s;
  topics_->Install(std::move(staged.topics));
  for (int32_t id : expired) shutting_down_.erase(id);
  RLOG(WARN) << "brokers fenced: session expired" << Kv("brokers", absl::StrJoin(expired, ","))
             << Kv("session_timeout", registry_->session_timeout());
  LogPartitionChanges("brokers fenced", updates);
  return expired;
}

absl::Status Coordinator::Tick() {
  groups_->Tick();
  absl::MutexLock lock(&mu_);
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  if (absl::Status s = CompleteReassignmentsLocked(); !s.ok()) return s;
  const absl::Time now = clock_();
  if (auto_balance_) AutoBalanceLocked(now);
  if (now < next_balance_) return absl::OkStatus();
  absl::Status s = BalanceLeadersLocked();
  if (s.ok()) next_balance_ = now + leader_balance_interval_;  // else retried next Tick
  return s;
}

absl::Status Coordinator::BalanceLeadersLocked() {
  const election::Membership members = MembershipLocked();
  const std::set<int32_t> electable = ElectableLocked();
  const topics::TopicTable::PartitionChange reconcile = ReconcileUnder(members);
  const std::vector<topics::PartitionState> updates =
      topics_->Plan([&](const v1::TopicInfo& topic, const v1::PartitionInfo& partition) {
        std::optional<v1::PartitionInfo> next = reconcile(topic, partition);
        return next.has_value() ? next : election::ElectPreferred(partition, electable);
      });
  if (absl::Status s = topics_->Update(updates); !s.ok()) return s;
  LogPartitionChanges("leader balance", updates);
  return absl::OkStatus();
}

absl::StatusOr<v1::ReassignPartitionsResponse> Coordinator::ReassignPartitions(
    const v1::ReassignPartitionsRequest& request) {
  if (request.reassignments().empty()) {
    return absl::InvalidArgumentError("no partitions to reassign");
  }
  std::vector<Reassignment> reassignments;
  for (const v1::PartitionReassignment& r : request.reassignments()) {
    reassignments.push_back(
        {r.topic(), r.partition(), {r.target_replicas().begin(), r.target_replicas().end()}});
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ReassignLocked(reassignments, request.throttle_bytes_per_second());
      !s.ok()) {
    return s;
  }
  v1::ReassignPartitionsResponse response;
  for (const Reassignment& r : reassignments) {
    // Validated above: the topic and partition exist.
    const v1::PartitionInfo p = topics_->Describe(r.topic)->partitions(r.partition);
    *response.add_reassignments() = ReassignmentStatusOf(r.topic, p);
  }
  return response;
}

v1::ListReassignmentsResponse Coordinator::ListReassignments() {
  absl::MutexLock lock(&mu_);
  v1::ListReassignmentsResponse response;
  for (const v1::TopicInfo& topic : topics_->Topics()) {
    for (const v1::PartitionInfo& p : topic.partitions()) {
      if (election::ReassignmentInProgress(p)) {
        *response.add_reassignments() = ReassignmentStatusOf(topic.name(), p);
      }
    }
  }
  return response;
}

absl::StatusOr<v1::BalanceClusterResponse> Coordinator::BalanceCluster(
    const v1::BalanceClusterRequest& request) {
  const std::set<int32_t> drain(request.drain_brokers().begin(), request.drain_brokers().end());
  absl::MutexLock lock(&mu_);
  std::set<int32_t> known;
  for (const v1::BrokerInfo& b : registry_->Brokers()) known.insert(b.id());
  for (int32_t id : drain) {
    if (known.count(id) == 0) return UnknownBrokerError(id);
  }
  absl::StatusOr<v1::BalanceClusterResponse> response =
      BalanceLocked(request.dry_run(), drain, request.throttle_bytes_per_second());
  if (response.ok() && !request.dry_run()) {
    decommissioned_.insert(drain.begin(), drain.end());
    RLOG(INFO) << "cluster balance started" << Kv("moves", response->moves_size())
               << Kv("drain", absl::StrJoin(drain, ","))
               << Kv("throttle_bytes_per_second", request.throttle_bytes_per_second());
  }
  return response;
}

absl::Status Coordinator::ReassignLocked(const std::vector<Reassignment>& reassignments,
                                         int64_t throttle_bytes_per_second) {
  if (throttle_bytes_per_second < 0) return NegativeThrottleError(throttle_bytes_per_second);
  std::set<int32_t> known;
  for (const v1::BrokerInfo& b : registry_->Brokers()) known.insert(b.id());
  const std::set<int32_t> live = registry_->LiveIds();
  std::map<std::string, v1::TopicInfo> topics;
  std::set<std::pair<std::string, int32_t>> seen;
  std::vector<topics::PartitionState> updates;
  for (const Reassignment& r : reassignments) {
    auto it = topics.find(r.topic);
    if (it == topics.end()) {
      absl::StatusOr<v1::TopicInfo> topic = topics_->Describe(r.topic);
      if (!topic.ok()) return ReassignmentTopicNotFoundError(r.topic);
      it = topics.emplace(r.topic, *std::move(topic)).first;
    }
    const v1::TopicInfo& topic = it->second;
    if (r.partition < 0 || r.partition >= topic.partitions_size()) {
      return ReassignmentPartitionNotFoundError(r.topic, r.partition, topic.partitions_size());
    }
    if (!seen.insert({r.topic, r.partition}).second) {
      return ReassignmentListedTwiceError(r.topic, r.partition);
    }
    const v1::PartitionInfo& current = topic.partitions(r.partition);
    if (absl::Status s = election::ValidateTarget(r.topic, current, r.target,
                                                  topic.replication_factor(), known, live);
        !s.ok()) {
      return s;
    }
    std::optional<v1::PartitionInfo> next =
        election::StartReassignment(current, r.target, throttle_bytes_per_second);
    if (next.has_value()) updates.push_back({r.topic, *std::move(next)});
  }
  if (absl::Status s = topics_->Update(updates); !s.ok()) return s;
  for (const topics::PartitionState& u : updates) {
    const v1::PartitionInfo& p = u.partition;
    RLOG(INFO) << "reassignment started" << Kv("partition", PartitionName(u.topic, p.partition()))
               << Kv("replicas", absl::StrJoin(p.replicas(), ","))
               << Kv("adding", absl::StrJoin(p.adding_replicas(), ","))
               << Kv("removing", absl::StrJoin(p.removing_replicas(), ","))
               << Kv("throttle_bytes_per_second", p.reassignment_throttle_bytes());
  }
  // A reorder moves leadership at the next Tick; a target that keeps only
  // replicas in sync completes now.
  next_balance_ = absl::InfinitePast();
  return CompleteReassignmentsLocked();
}

absl::Status Coordinator::CompleteReassignmentsLocked() {
  // A broker in controlled shutdown is not handed the leadership.
  const std::set<int32_t> live = ElectableLocked();
  const std::vector<topics::PartitionState> updates =
      topics_->Plan([&live](const v1::TopicInfo&, const v1::PartitionInfo& partition) {
        return election::CompleteReassignment(partition, live);
      });
  if (updates.empty()) return absl::OkStatus();
  if (absl::Status s = topics_->Update(updates); !s.ok()) return s;
  for (const topics::PartitionState& u : updates) {
    const v1::PartitionInfo& p = u.partition;
    RLOG(INFO) << "reassignment completed" << Kv("partition", PartitionName(u.topic, p.partition()))
               << Kv("replicas", absl::StrJoin(p.replicas(), ",")) << Kv("leader", p.leader())
               << Kv("leader_epoch", p.leader_epoch()) << Kv("isr", absl::StrJoin(p.isr(), ","))
               << Kv("partition_epoch", p.partition_epoch());
  }
  // The new first replica is the preferred leader: move leadership soon.
  next_balance_ = absl::InfinitePast();
  return absl::OkStatus();
}

absl::StatusOr<v1::BalanceClusterResponse> Coordinator::BalanceLocked(
    bool dry_run, const std::set<int32_t>& drain, int64_t throttle_bytes_per_second) {
  if (throttle_bytes_per_second < 0) return NegativeThrottleError(throttle_bytes_per_second);
  const std::set<int32_t> live = registry_->LiveIds();
  std::vector<placement::BalanceBroker> brokers;
  for (const v1::BrokerInfo& b : registry_->Brokers()) {
    const bool draining = drain.count(b.id()) > 0 || decommissioned_.count(b.id()) > 0;
    brokers.push_back({b.id(), b.rack(), live.count(b.id()) > 0, draining});
  }
  // Partitions being reassigned are planned from their target: where they
  // are heading, so a balance started twice plans nothing the second time.
  std::vector<placement::BalancePartition> partitions;
  for (const v1::TopicInfo& topic : topics_->Topics()) {
    for (const v1::PartitionInfo& p : topic.partitions()) {
      partitions.push_back({topic.name(), p.partition(), election::TargetReplicas(p)});
    }
  }
  absl::StatusOr<std::vector<placement::ReplicaMove>> moves =
      placement::PlanBalance(brokers, std::move(partitions));
  if (!moves.ok()) return moves.status();
  v1::BalanceClusterResponse response;
  std::vector<Reassignment> reassignments;
  for (const placement::ReplicaMove& m : *moves) {
    v1::PlannedMove* out = response.add_moves();
    out->set_topic(m.topic);
    out->set_partition(m.partition);
    out->mutable_from_replicas()->Add(m.from.begin(), m.from.end());
    out->mutable_to_replicas()->Add(m.to.begin(), m.to.end());
    out->mutable_added_replicas()->Add(m.added.begin(), m.added.end());
    reassignments.push_back({m.topic, m.partition, m.to});
  }
  if (dry_run || reassignments.empty()) return response;
  if (absl::Status s = ReassignLocked(reassignments, throttle_bytes_per_second); !s.ok()) return s;
  return response;
}

void Coordinator::AutoBalanceLocked(absl::Time now) {
  std::set<int32_t> newly_dead;
  for (const v1::BrokerInfo& b : registry_->Brokers()) {
    if (b.state() != v1::BROKER_STATE_FENCED) {
      fenced_since_.erase(b.id());
      auto_drained_.erase(b.id());
      continue;
    }
    const absl::Time since = fenced_since_.emplace(b.id(), now).first->second;
    if (now - since >= auto_balance_delay_ && auto_drained_.insert(b.id()).second) {
      newly_dead.insert(b.id());
    }
  }
  const bool joined = now >= join_balance_due_;
  if (!joined && newly_dead.empty()) return;
  join_balance_due_ = absl::InfiniteFuture();
  absl::StatusOr<v1::BalanceClusterResponse> result =
      BalanceLocked(/*dry_run=*/false, auto_drained_, auto_balance_throttle_bytes_);
  // Not retried until the next trigger: a plan that fails (e.g. too few
  // brokers for a dead broker's replicas) fails the same way every Tick.
  if (!result.ok()) {
    RLOG(WARN) << "auto-balance failed" << Kv("error", result.status().message())
               << Kv("drain", absl::StrJoin(auto_drained_, ","));
    return;
  }
  RLOG(INFO) << "auto-balance started" << Kv("reason", joined ? "broker joined" : "broker dead")
             << Kv("moves", result->moves_size()) << Kv("drain", absl::StrJoin(auto_drained_, ","));
}

std::vector<v1::BrokerInfo> Coordinator::PlaceableBrokersLocked() {
  std::vector<v1::BrokerInfo> brokers;
  for (v1::BrokerInfo& b : registry_->LiveBrokers()) {
    // Nor to a broker in controlled shutdown: it is about to go.
    if (decommissioned_.count(b.id()) == 0 && shutting_down_.count(b.id()) == 0) {
      brokers.push_back(std::move(b));
    }
  }
  return brokers;
}

absl::StatusOr<v1::ControlledShutdownResponse> Coordinator::ControlledShutdown(
    const v1::ControlledShutdownRequest& request) {
  const int32_t id = request.broker_id();
  absl::MutexLock lock(&mu_);
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  if (absl::Status s = registry_->CheckSession(id, request.broker_epoch()); !s.ok()) return s;
  if (shutting_down_.insert(id).second) {
    RLOG(INFO) << "broker in controlled shutdown" << Kv("broker", id)
               << Kv("broker_epoch", request.broker_epoch());
  }
  const election::Membership members = MembershipLocked();
  const std::vector<topics::PartitionState> updates =
      topics_->Plan([&](const v1::TopicInfo&, const v1::PartitionInfo& partition) {
        return election::ShutdownBroker(partition, id, members);
      });
  if (absl::Status s = topics_->Update(updates); !s.ok()) return s;
  LogPartitionChanges("controlled shutdown", updates);
  const std::set<int32_t> electable = ElectableLocked();
  v1::ControlledShutdownResponse response;
  for (const v1::TopicInfo& topic : topics_->Topics()) {
    for (const v1::PartitionInfo& p : topic.partitions()) {
      if (p.leader() != id) continue;
      response.set_partitions_still_led(response.partitions_still_led() + 1);
      if (std::none_of(p.replicas().begin(), p.replicas().end(),
                       [&](int32_t r) { return r != id && electable.count(r) > 0; })) {
        response.set_partitions_without_successor(response.partitions_without_successor() + 1);
      }
    }
  }
  return response;
}

election::Membership Coordinator::MembershipLocked() const {
  election::Membership members;
  members.live = registry_->LiveIds();
  for (int32_t id : shutting_down_) {
    if (members.live.count(id) > 0) members.shutting_down.insert(id);
  }
  return members;
}

std::set<int32_t> Coordinator::ElectableLocked() const {
  std::set<int32_t> electable = registry_->LiveIds();
  for (int32_t id : shutting_down_) electable.erase(id);
  return electable;
}

ClusterStats Coordinator::Stats() {
  absl::MutexLock lock(&mu_);
  ClusterStats stats;
  stats.metadata_version = store_->version();
  for (const v1::BrokerInfo& b : registry_->Brokers()) {
    if (b.state() == v1::BROKER_STATE_ALIVE) ++stats.brokers_alive;
    if (b.state() == v1::BROKER_STATE_FENCED) ++stats.brokers_fenced;
  }
  stats.brokers_shutting_down = static_cast<int32_t>(MembershipLocked().shutting_down.size());
  std::set<std::pair<uint64_t, int32_t>> existing;
  for (const v1::TopicInfo& topic : topics_->Topics()) {
    ++stats.topics;
    for (const v1::PartitionInfo& p : topic.partitions()) {
      ++stats.partitions;
      const std::pair<uint64_t, int32_t> key{topic.topic_id(), p.partition()};
      existing.insert(key);
      if (p.leader() == election::kNoLeader) {
        ++stats.offline_partitions;
        continue;
      }
      if (p.isr_size() < p.replicas_size()) ++stats.under_replicated_partitions;
      auto hw = high_watermarks_.find(key);
      if (hw != high_watermarks_.end() && hw->second.broker == p.leader()) {
        stats.high_watermarks[key] = hw->second.high_watermark;
      }
    }
  }
  // Reports about deleted topics or partitions are of no further use.
  for (auto it = high_watermarks_.begin(); it != high_watermarks_.end();) {
    it = existing.count(it->first) > 0 ? std::next(it) : high_watermarks_.erase(it);
  }
  return stats;
}

int64_t Coordinator::metadata_version() {
  absl::MutexLock lock(&mu_);
  return store_->version();
}

}  // namespace runnel::coordinator
