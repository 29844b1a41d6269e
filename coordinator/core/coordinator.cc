#include "coordinator/core/coordinator.h"

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
#include "coordinator/errors.h"
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
  election::Membership members;
  members.live = registry_->LiveIds();
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
  const std::set<int32_t> live = registry_->LiveIds();
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
  absl::StatusOr<v1::TopicInfo> topic = topics_->Create(spec, registry_->LiveBrokers());
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
      topics_->CreatePartitions(request.name(), request.total_count(), registry_->LiveBrokers());
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
  election::Membership members;
  members.live = registry_->LiveIds();  // without the expired ones
  const std::vector<topics::PartitionState> updates = topics_->Plan(ReconcileUnder(members));
  topics::StagedTopics staged = topics_->Stage(updates);
  if (absl::Status s = registry_->Fence(expired, std::move(staged.batch)); !s.ok()) return s;
  topics_->Install(std::move(staged.topics));
  RLOG(WARN) << "brokers fenced: session expired" << Kv("brokers", absl::StrJoin(expired, ","))
             << Kv("session_timeout", registry_->session_timeout());
  LogPartitionChanges("brokers fenced", updates);
  return expired;
}

absl::Status Coordinator::Tick() {
  groups_->Tick();
  absl::MutexLock lock(&mu_);
  if (auto fenced = ExpireSessionsLocked(); !fenced.ok()) return fenced.status();
  const absl::Time now = clock_();
  if (now < next_balance_) return absl::OkStatus();
  absl::Status s = BalanceLeadersLocked();
  if (s.ok()) next_balance_ = now + leader_balance_interval_;  // else retried next Tick
  return s;
}

absl::Status Coordinator::BalanceLeadersLocked() {
  election::Membership members;
  members.live = registry_->LiveIds();
  const topics::TopicTable::PartitionChange reconcile = ReconcileUnder(members);
  const std::vector<topics::PartitionState> updates =
      topics_->Plan([&](const v1::TopicInfo& topic, const v1::PartitionInfo& partition) {
        std::optional<v1::PartitionInfo> next = reconcile(topic, partition);
        return next.has_value() ? next : election::ElectPreferred(partition, members.live);
      });
  if (absl::Status s = topics_->Update(updates); !s.ok()) return s;
  LogPartitionChanges("leader balance", updates);
  return absl::OkStatus();
}

int64_t Coordinator::metadata_version() {
  absl::MutexLock lock(&mu_);
  return store_->version();
}

}  // namespace runnel::coordinator
