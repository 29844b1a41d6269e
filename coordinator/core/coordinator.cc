#include "coordinator/core/coordinator.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
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

}  // namespace

Coordinator::Coordinator(std::string cluster_id, std::unique_ptr<store::VersionedStore> store,
                         std::unique_ptr<members::BrokerRegistry> registry,
                         std::unique_ptr<topics::TopicTable> topics)
    : cluster_id_(std::move(cluster_id)),
      store_(std::move(store)),
      registry_(std::move(registry)),
      topics_(std::move(topics)) {}

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Open(store::MetadataStore* store,
                                                               CoordinatorOptions options) {
  absl::StatusOr<std::unique_ptr<store::VersionedStore>> vstore =
      store::VersionedStore::Open(store);
  if (!vstore.ok()) return vstore.status();
  absl::StatusOr<std::string> cluster_id = LoadOrCreateClusterId(vstore->get());
  if (!cluster_id.ok()) return cluster_id.status();
  absl::StatusOr<std::unique_ptr<members::BrokerRegistry>> registry = members::BrokerRegistry::Load(
      vstore->get(), options.session_timeout, std::move(options.clock));
  if (!registry.ok()) return registry.status();
  absl::StatusOr<std::unique_ptr<topics::TopicTable>> topics =
      topics::TopicTable::Load(vstore->get());
  if (!topics.ok()) return topics.status();
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(*cluster_id), std::move(*vstore),
                                                      std::move(*registry), std::move(*topics)));
}

absl::StatusOr<v1::RegisterBrokerResponse> Coordinator::RegisterBroker(
    const v1::RegisterBrokerRequest& request) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int64_t> epoch =
      registry_->Register(request.broker_id(), request.address(), request.rack());
  if (!epoch.ok()) return epoch.status();
  RLOG(INFO) << "broker registered" << Kv("broker", request.broker_id())
             << Kv("address", request.address()) << Kv("rack", request.rack())
             << Kv("broker_epoch", *epoch);
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
  v1::CreateTopicResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

absl::Status Coordinator::DeleteTopic(const v1::DeleteTopicRequest& request) {
  absl::MutexLock lock(&mu_);
  absl::Status s = topics_->Delete(request.name());
  if (s.ok()) {
    RLOG(INFO) << "topic deleted" << Kv("topic", request.name());
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
  RLOG(INFO) << "topic config altered" << Kv("topic", request.name())
             << Kv("set", absl::StrJoin(set, ",", absl::PairFormatter("=")))
             << Kv("reset", absl::StrJoin(reset, ","));
  v1::AlterTopicConfigResponse response;
  *response.mutable_topic() = std::move(*topic);
  return response;
}

absl::StatusOr<std::vector<int32_t>> Coordinator::ExpireSessions() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<int32_t>> fenced = registry_->ExpireSessions();
  if (fenced.ok() && !fenced->empty()) {
    RLOG(WARN) << "brokers fenced: session expired" << Kv("brokers", absl::StrJoin(*fenced, ","))
               << Kv("session_timeout", registry_->session_timeout());
  }
  return fenced;
}

int64_t Coordinator::metadata_version() {
  absl::MutexLock lock(&mu_);
  return store_->version();
}

}  // namespace runnel::coordinator
