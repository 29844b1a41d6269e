#include "coordinator/topics/topic_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/topic_config.h"
#include "coordinator/errors.h"
#include "coordinator/placement/placement.h"
#include "coordinator/store/keys.h"
#include "coordinator/topics/validation.h"

namespace runnel::coordinator::topics {
namespace {

absl::Status ValidateSpec(const TopicSpec& spec, int32_t* replication_factor) {
  if (absl::Status s = ValidateTopicName(spec.name); !s.ok()) return s;
  if (absl::Status s = ValidatePartitionCount(spec.partitions); !s.ok()) return s;
  absl::StatusOr<int32_t> rf = EffectiveReplicationFactor(spec.replication_factor);
  if (!rf.ok()) return rf.status();
  *replication_factor = *rf;
  return ValidateTopicConfigs(spec.configs, *rf);
}

// Appends partitions with the given replicas, numbered from the topic's
// current count: led by their first replica, at epoch 0, with every replica in
// sync.
void AddPartitions(const std::vector<std::vector<int32_t>>& placement, v1::TopicInfo* info) {
  for (const std::vector<int32_t>& replicas : placement) {
    v1::PartitionInfo* partition = info->add_partitions();
    partition->set_partition(info->partitions_size() - 1);
    partition->set_leader(replicas.front());
    partition->set_leader_epoch(0);
    partition->mutable_replicas()->Add(replicas.begin(), replicas.end());
    partition->mutable_isr()->Add(replicas.begin(), replicas.end());
    partition->set_partition_epoch(0);
  }
}

v1::TopicInfo NewTopic(const TopicSpec& spec, uint64_t topic_id, int32_t replication_factor,
                       const std::vector<std::vector<int32_t>>& placement) {
  v1::TopicInfo info;
  info.set_name(spec.name);
  info.set_topic_id(topic_id);
  info.set_replication_factor(replication_factor);
  info.mutable_configs()->insert(spec.configs.begin(), spec.configs.end());
  AddPartitions(placement, &info);
  return info;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TopicTable>> TopicTable::Load(store::VersionedStore* store) {
  absl::StatusOr<int64_t> next_id = store->GetInt(store::kNextTopicIdKey, 1);
  if (!next_id.ok()) return next_id.status();
  absl::StatusOr<std::vector<store::KeyValue>> records = store->Scan(store::kTopicPrefix);
  if (!records.ok()) return records.status();
  std::unique_ptr<TopicTable> table(new TopicTable(store, static_cast<uint64_t>(*next_id)));
  for (const auto& [key, value] : *records) {
    v1::TopicInfo info;
    if (!info.ParseFromString(value)) return CorruptMetadataError(key, "not a TopicInfo");
    if (store::TopicKey(info.name()) != key) {
      return CorruptMetadataError(key, absl::StrCat("holds topic '", info.name(), "'"));
    }
    if (info.topic_id() >= table->next_topic_id_) {
      return CorruptMetadataError(
          key, absl::StrCat("topic id ", info.topic_id(), " is not below the next topic id ",
                            table->next_topic_id_));
    }
    table->names_by_id_[info.topic_id()] = info.name();
    table->topics_[info.name()] = std::move(info);
  }
  return table;
}

absl::StatusOr<v1::TopicInfo> TopicTable::Create(const TopicSpec& spec,
                                                 const std::vector<v1::BrokerInfo>& live_brokers) {
  int32_t rf = 0;
  if (absl::Status s = ValidateSpec(spec, &rf); !s.ok()) return s;
  if (topics_.count(spec.name) > 0) return TopicExistsError(spec.name);

  absl::StatusOr<std::vector<std::vector<int32_t>>> placement =
      Place(spec.partitions, rf, live_brokers);
  if (!placement.ok()) return placement.status();

  v1::TopicInfo info = NewTopic(spec, next_topic_id_, rf, *placement);
  store::WriteBatch batch;
  batch.Put(store::TopicKey(spec.name), info.SerializeAsString());
  batch.Put(store::kNextTopicIdKey, absl::StrCat(next_topic_id_ + 1));
  if (absl::Status s = store_->Commit(std::move(batch)); !s.ok()) return s;
  ++next_topic_id_;
  names_by_id_[info.topic_id()] = spec.name;
  topics_[spec.name] = info;
  return info;
}

absl::StatusOr<v1::TopicInfo> TopicTable::CreatePartitions(
    const std::string& name, int32_t total_count, const std::vector<v1::BrokerInfo>& live_brokers) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFoundError(name);
  const int32_t current = it->second.partitions_size();
  if (total_count <= current) return PartitionCountNotGrowingError(name, current, total_count);
  if (total_count > kMaxPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("total_count must be <= ", kMaxPartitions, ", got ", total_count));
  }
  absl::StatusOr<std::vector<std::vector<int32_t>>> placement =
      Place(total_count - current, it->second.replication_factor(), live_brokers);
  if (!placement.ok()) return placement.status();
  v1::TopicInfo grown = it->second;
  AddPartitions(*placement, &grown);
  store::WriteBatch batch;
  batch.Put(store::TopicKey(name), grown.SerializeAsString());
  if (absl::Status s = store_->Commit(std::move(batch)); !s.ok()) return s;
  it->second = grown;
  return grown;
}

absl::Status TopicTable::Delete(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFoundError(name);
  store::WriteBatch batch;
  batch.Delete(store::TopicKey(name));
  if (absl::Status s = store_->Commit(std::move(batch)); !s.ok()) return s;
  names_by_id_.erase(it->second.topic_id());
  topics_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<v1::TopicInfo> TopicTable::AlterConfigs(
    const std::string& name, const std::map<std::string, std::string>& set,
    const std::vector<std::string>& reset) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFoundError(name);
  const v1::TopicInfo& current = it->second;
  const std::map<std::string, std::string> before(current.configs().begin(),
                                                  current.configs().end());
  std::map<std::string, std::string> configs = before;
  for (const std::string& key : reset) {
    // An override unknown to this version may still be removed.
    if (!IsKnownTopicConfigKey(key) && before.count(key) == 0) {
      return UnknownTopicConfigError(key);
    }
    if (set.count(key) > 0) return TopicConfigSetAndResetError(key);
    configs.erase(key);
  }
  for (const auto& [key, value] : set) configs[key] = value;
  if (absl::Status s = ValidateTopicConfigs(configs, current.replication_factor()); !s.ok()) {
    return s;
  }
  if (configs == before) return current;

  v1::TopicInfo altered = current;
  altered.mutable_configs()->clear();
  altered.mutable_configs()->insert(configs.begin(), configs.end());
  store::WriteBatch batch;
  batch.Put(store::TopicKey(name), altered.SerializeAsString());
  if (absl::Status s = store_->Commit(std::move(batch)); !s.ok()) return s;
  it->second = altered;
  return altered;
}

absl::StatusOr<std::vector<std::vector<int32_t>>> TopicTable::Place(
    int32_t partitions, int32_t replication_factor,
    const std::vector<v1::BrokerInfo>& live_brokers) const {
  const std::map<int32_t, BrokerLoad> load = LoadByBroker();
  std::vector<placement::Candidate> candidates;
  for (const v1::BrokerInfo& b : live_brokers) {
    placement::Candidate c{b.id(), b.rack(), 0, 0};
    if (auto it = load.find(b.id()); it != load.end()) {
      c.leaders = it->second.led;
      c.replicas = it->second.led + it->second.followed;
    }
    candidates.push_back(std::move(c));
  }
  return placement::PlaceReplicas(partitions, replication_factor, std::move(candidates));
}

std::vector<PartitionState> TopicTable::Plan(const PartitionChange& change) const {
  std::vector<PartitionState> updates;
  for (const auto& [name, topic] : topics_) {
    for (const v1::PartitionInfo& p : topic.partitions()) {
      std::optional<v1::PartitionInfo> next = change(topic, p);
      if (next.has_value()) updates.push_back({name, std::move(*next)});
    }
  }
  return updates;
}

StagedTopics TopicTable::Stage(const std::vector<PartitionState>& updates) const {
  std::map<std::string, v1::TopicInfo> changed;
  for (const PartitionState& u : updates) {
    auto current = topics_.find(u.topic);
    if (current == topics_.end()) continue;
    const int32_t index = u.partition.partition();
    if (index < 0 || index >= current->second.partitions_size()) continue;
    auto [it, inserted] = changed.emplace(u.topic, current->second);
    *it->second.mutable_partitions(index) = u.partition;
  }
  StagedTopics staged;
  for (auto& [name, topic] : changed) {
    staged.batch.Put(store::TopicKey(name), topic.SerializeAsString());
    staged.topics.push_back(std::move(topic));
  }
  return staged;
}

void TopicTable::Install(std::vector<v1::TopicInfo> topics) {
  for (v1::TopicInfo& topic : topics) topics_[topic.name()] = std::move(topic);
}

absl::Status TopicTable::Update(const std::vector<PartitionState>& updates) {
  StagedTopics staged = Stage(updates);
  if (staged.batch.empty()) return absl::OkStatus();
  if (absl::Status s = store_->Commit(std::move(staged.batch)); !s.ok()) return s;
  Install(std::move(staged.topics));
  return absl::OkStatus();
}

absl::StatusOr<PartitionState> TopicTable::FindPartition(uint64_t topic_id,
                                                         int32_t partition) const {
  auto name = names_by_id_.find(topic_id);
  if (name == names_by_id_.end()) return TopicIdNotFoundError(topic_id);
  const v1::TopicInfo& topic = topics_.at(name->second);
  if (partition < 0 || partition >= topic.partitions_size()) {
    return PartitionNotFoundError(topic.name(), partition, topic.partitions_size());
  }
  return PartitionState{topic.name(), topic.partitions(partition)};
}

absl::StatusOr<v1::TopicInfo> TopicTable::Describe(const std::string& name) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return TopicNotFoundError(name);
  return it->second;
}

std::vector<std::string> TopicTable::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : topics_) names.push_back(name);
  return names;
}

std::vector<v1::TopicInfo> TopicTable::Topics() const {
  std::vector<v1::TopicInfo> out;
  for (const auto& [name, info] : topics_) out.push_back(info);
  return out;
}

std::map<int32_t, BrokerLoad> TopicTable::LoadByBroker() const {
  std::map<int32_t, BrokerLoad> load;
  for (const auto& [name, info] : topics_) {
    for (const v1::PartitionInfo& p : info.partitions()) {
      for (int32_t replica : p.replicas()) {
        if (replica == p.leader()) {
          ++load[replica].led;
        } else {
          ++load[replica].followed;
        }
      }
    }
  }
  return load;
}

}  // namespace runnel::coordinator::topics
