// CoordinatorFixture: a gtest fixture running a Coordinator over an in-memory
// store with a fake clock, plus helpers that speak its API the way brokers
// and admin clients do. Shared by the core's tests. Test-only.
// Thread-safety: as gtest fixtures (the helpers from the test thread).
#ifndef RUNNEL_COORDINATOR_CORE_COORDINATOR_FIXTURE_H_
#define RUNNEL_COORDINATOR_CORE_COORDINATOR_FIXTURE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/core/coordinator.h"
#include "coordinator/store/fault_injecting_store.h"
#include "coordinator/store/memory_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {

inline constexpr absl::Duration kSession = absl::Seconds(6);
inline constexpr absl::Duration kBalanceInterval = absl::Seconds(5);

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // A coordinator restart over the same stored metadata.
  void Reopen() {
    coordinator_.reset();
    CoordinatorOptions options;
    options.session_timeout = kSession;
    options.leader_balance_interval = kBalanceInterval;
    options.clock = [this] { return now_; };
    if (configure_) configure_(&options);
    auto c = Coordinator::Open(&store_, options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
  }

  // Registers broker `id` at 127.0.0.1:(9090 + id); returns its epoch (-1
  // on failure, which also fails the test).
  int64_t Register(int32_t id, const std::string& rack = "") {
    v1::RegisterBrokerRequest request;
    request.set_broker_id(id);
    request.set_address(absl::StrCat("127.0.0.1:", 9090 + id));
    request.set_rack(rack);
    auto response = coordinator_->RegisterBroker(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return -1;
    epochs_[id] = response->broker_epoch();
    return response->broker_epoch();
  }

  absl::StatusOr<v1::BrokerHeartbeatResponse> Heartbeat(int32_t id, int64_t epoch) {
    v1::BrokerHeartbeatRequest request;
    request.set_broker_id(id);
    request.set_broker_epoch(epoch);
    return coordinator_->BrokerHeartbeat(request);
  }

  // Lets `duration` pass in steps of a second while every registered broker
  // except those in `silent` heartbeats with its latest epoch.
  void Advance(absl::Duration duration, const std::set<int32_t>& silent = {}) {
    for (absl::Duration left = duration; left > absl::ZeroDuration(); left -= absl::Seconds(1)) {
      now_ += std::min(left, absl::Seconds(1));
      for (const auto& [id, epoch] : epochs_) {
        if (silent.count(id) == 0) ASSERT_TRUE(Heartbeat(id, epoch).ok()) << id;
      }
    }
  }

  // Fences `ids` by letting their sessions expire while the others heartbeat.
  void Fence(const std::set<int32_t>& ids) {
    Advance(kSession + absl::Seconds(1), ids);
    auto fenced = coordinator_->ExpireSessions();
    ASSERT_TRUE(fenced.ok()) << fenced.status();
    // Usually fenced by a heartbeat (of another broker) already.
    for (int32_t id : ids) {
      EXPECT_EQ(BrokerState(id), v1::BROKER_STATE_FENCED) << id;
      epochs_.erase(id);
    }
  }

  v1::BrokerState BrokerState(int32_t id) {
    const v1::ClusterMetadata metadata = coordinator_->GetClusterMetadata();
    for (const v1::BrokerInfo& b : metadata.brokers()) {
      if (b.id() == id) return b.state();
    }
    return v1::BROKER_STATE_UNSPECIFIED;
  }

  absl::StatusOr<v1::CreateTopicResponse> Create(
      const std::string& name, int32_t partitions, int32_t rf,
      const std::map<std::string, std::string>& configs = {}) {
    v1::CreateTopicRequest request;
    request.set_name(name);
    request.set_partitions(partitions);
    request.set_replication_factor(rf);
    request.mutable_configs()->insert(configs.begin(), configs.end());
    return coordinator_->CreateTopic(request);
  }

  absl::StatusOr<v1::DescribeTopicResponse> Describe(const std::string& name) {
    v1::DescribeTopicRequest request;
    request.set_name(name);
    return coordinator_->DescribeTopic(request);
  }

  absl::StatusOr<v1::AlterTopicConfigResponse> Alter(const std::string& name,
                                                     const std::map<std::string, std::string>& set,
                                                     const std::vector<std::string>& reset = {}) {
    v1::AlterTopicConfigRequest request;
    request.set_name(name);
    request.mutable_set()->insert(set.begin(), set.end());
    for (const std::string& key : reset) request.add_reset(key);
    return coordinator_->AlterTopicConfig(request);
  }

  std::map<std::string, std::string> ConfigsOf(const std::string& name) {
    auto described = Describe(name);
    EXPECT_TRUE(described.ok()) << described.status();
    if (!described.ok()) return {};
    return {described->topic().configs().begin(), described->topic().configs().end()};
  }

  // The current state of a partition (a default one, failing the test, if
  // there is no such topic).
  v1::PartitionInfo Partition(const std::string& topic, int32_t partition = 0) {
    auto described = Describe(topic);
    EXPECT_TRUE(described.ok()) << described.status();
    if (!described.ok() || partition >= described->topic().partitions_size()) return {};
    return described->topic().partitions(partition);
  }

  // "leader L epoch E isr [..] pepoch P" of a partition.
  std::string State(const std::string& topic, int32_t partition = 0) {
    const v1::PartitionInfo p = Partition(topic, partition);
    return absl::StrCat("leader ", p.leader(), " epoch ", p.leader_epoch(), " isr [",
                        absl::StrJoin(p.isr(), ","), "] pepoch ", p.partition_epoch());
  }

  // An AlterPartition request from `broker` (at its latest epoch) proposing
  // `new_isr` for the partition at its current epochs; `tweak` may change it.
  v1::AlterPartitionRequest AlterRequest(
      int32_t broker, const std::string& topic, int32_t partition, std::vector<int32_t> new_isr,
      const std::function<void(v1::AlterPartitionRequest*)>& tweak = nullptr) {
    const v1::PartitionInfo p = Partition(topic, partition);
    v1::AlterPartitionRequest request;
    request.set_broker_id(broker);
    request.set_broker_epoch(epochs_.count(broker) > 0 ? epochs_[broker] : 1);
    request.set_topic_id(Describe(topic)->topic().topic_id());
    request.set_partition(partition);
    request.set_leader_epoch(p.leader_epoch());
    request.set_partition_epoch(p.partition_epoch());
    request.mutable_new_isr()->Add(new_isr.begin(), new_isr.end());
    if (tweak) tweak(&request);
    return request;
  }

  absl::StatusOr<v1::AlterPartitionResponse> AlterIsr(
      int32_t broker, const std::string& topic, int32_t partition, std::vector<int32_t> new_isr,
      const std::function<void(v1::AlterPartitionRequest*)>& tweak = nullptr) {
    return coordinator_->AlterPartition(
        AlterRequest(broker, topic, partition, std::move(new_isr), tweak));
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  // Applied to the options of every (re)opened coordinator; set it before
  // calling Reopen.
  std::function<void(CoordinatorOptions*)> configure_;
  store::MemoryStore mem_;
  store::FaultInjectingStore store_{&mem_};
  std::unique_ptr<Coordinator> coordinator_;
  // Latest epoch of every broker registered through Register and not fenced
  // through Fence: the brokers that Advance keeps alive.
  std::map<int32_t, int64_t> epochs_;
};

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_CORE_COORDINATOR_FIXTURE_H_
