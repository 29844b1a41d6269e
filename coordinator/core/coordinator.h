// Coordinator: the coordinator's core, behind both gRPC services. It owns the
// versioned metadata store, the BrokerRegistry and the TopicTable and runs
// every request against them under one mutex, so that, for example, a topic
// is placed on exactly the brokers that are live at that moment. Requests and
// responses are the API protos, which keeps the gRPC handlers one-liners;
// errors are absl::Status, mapped to gRPC codes only by the handlers.
//
// Failover: it applies the rules of //coordinator/election. When brokers are
// fenced, or a broker registers, the resulting leader elections and ISR
// changes are committed in the same atomic write as the membership change;
// AlterPartition applies a leader's ISR proposal; Tick, called periodically,
// fences expired sessions and, every leader_balance_interval (or soon after
// an ISR expansion made a preferred replica eligible), moves leadership back
// to preferred replicas and elects leaders wherever still possible (e.g. once
// unclean.leader.election.enable is turned on). docs/replication.md has the
// contract with the brokers.
//
// Consumer groups: it owns the GroupCoordinator (//coordinator/groups), which
// has its own lock and serves runnel.v1.Groups directly (groups()); the
// Coordinator tells it about topic changes (so subscribed groups rebalance)
// and drives its session expiry from Tick.
//
// On first start (an empty store) it picks and persists a random cluster id.
//
// Ownership: does not own the MetadataStore, which must outlive it.
// Thread-safety: thread-safe; calls are serialised. Metadata changes are
// rare and small, so one mutex (held across the synced store write) is simple
// and fast enough.
#ifndef RUNNEL_COORDINATOR_CORE_COORDINATOR_H_
#define RUNNEL_COORDINATOR_CORE_COORDINATOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/groups/group_coordinator.h"
#include "coordinator/members/broker_registry.h"
#include "coordinator/store/metadata_store.h"
#include "coordinator/store/versioned_store.h"
#include "coordinator/topics/topic_table.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/coordinator.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator {

struct CoordinatorOptions {
  // A broker not heard from for this long is fenced.
  absl::Duration session_timeout = absl::Seconds(6);
  // How often Tick moves leadership back to preferred replicas (and retries
  // elections of offline partitions).
  absl::Duration leader_balance_interval = absl::Seconds(5);
  // The time source; tests inject a fake.
  members::Clock clock = [] { return absl::Now(); };
};

class Coordinator {
 public:
  // Loads (or, for an empty store, initialises) the cluster's metadata.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Open(store::MetadataStore* store,
                                                           CoordinatorOptions options);

  // --- runnel.v1.Coordinator (brokers) ---
  absl::StatusOr<v1::RegisterBrokerResponse> RegisterBroker(
      const v1::RegisterBrokerRequest& request);
  absl::StatusOr<v1::BrokerHeartbeatResponse> BrokerHeartbeat(
      const v1::BrokerHeartbeatRequest& request);
  v1::ClusterMetadata GetClusterMetadata();
  absl::StatusOr<v1::AlterPartitionResponse> AlterPartition(
      const v1::AlterPartitionRequest& request);

  // --- runnel.v1.Admin ---
  absl::StatusOr<v1::CreateTopicResponse> CreateTopic(const v1::CreateTopicRequest& request);
  absl::Status DeleteTopic(const v1::DeleteTopicRequest& request);
  v1::ListTopicsResponse ListTopics();
  absl::StatusOr<v1::DescribeTopicResponse> DescribeTopic(const v1::DescribeTopicRequest& request);
  v1::DescribeClusterResponse DescribeCluster();
  absl::StatusOr<v1::AlterTopicConfigResponse> AlterTopicConfig(
      const v1::AlterTopicConfigRequest& request);
  absl::StatusOr<v1::CreatePartitionsResponse> CreatePartitions(
      const v1::CreatePartitionsRequest& request);

  // --- runnel.v1.Groups --- (thread-safe on its own; lives as long as this)
  groups::GroupCoordinator* groups() { return groups_.get(); }

  // Fences every broker whose session has expired and fails over their
  // partitions, in one commit; returns their ids.
  absl::StatusOr<std::vector<int32_t>> ExpireSessions();

  // The periodic work, called by the server every few hundred milliseconds:
  // expiry of group members' sessions, ExpireSessions, then the leader
  // balance pass when due.
  absl::Status Tick();

  const std::string& cluster_id() const { return cluster_id_; }
  int64_t metadata_version();

 private:
  Coordinator(std::string cluster_id, const CoordinatorOptions& options,
              std::unique_ptr<store::VersionedStore> store,
              std::unique_ptr<members::BrokerRegistry> registry,
              std::unique_ptr<topics::TopicTable> topics,
              std::unique_ptr<groups::GroupCoordinator> groups);

  absl::StatusOr<std::vector<int32_t>> ExpireSessionsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves leadership to preferred replicas and elects leaders of partitions
  // that lack one, where possible.
  absl::Status BalanceLeadersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string cluster_id_;
  const members::Clock clock_;
  const absl::Duration leader_balance_interval_;
  absl::Mutex mu_;
  // When the next leader balance pass is due; now or earlier makes it run on
  // the next Tick.
  absl::Time next_balance_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::unique_ptr<store::VersionedStore> store_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<members::BrokerRegistry> registry_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<topics::TopicTable> topics_ ABSL_GUARDED_BY(mu_);
  // Not guarded by mu_: thread-safe itself. Called under mu_ for topic
  // changes (lock order mu_, then its own).
  const std::unique_ptr<groups::GroupCoordinator> groups_;
};

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_CORE_COORDINATOR_H_
