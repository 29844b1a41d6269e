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
// Controlled shutdown: a stopping broker's ControlledShutdown moves its
// leaderships and ISR seats away (election::ShutdownBroker) and marks it as
// shutting down: until it registers again or is fenced, no election, ISR
// change or placement picks it (docs/architecture.md, "Graceful shutdown").
// Stats (for metrics) also reports the high watermarks leaders send in their
// heartbeats, from which consumer-group lag is computed.
//
// Scale-out: ReassignPartitions starts reassignments (//coordinator/election,
// reassignment.h), which complete after every ISR change and on every Tick
// once the new replicas are in sync; BalanceCluster plans moves with
// //coordinator/placement's PlanBalance and starts them as reassignments
// (decommission = balance with brokers drained; a drained broker stays
// excluded from balancing and from new placements until it registers again
// or the coordinator restarts). With auto_balance, Tick runs the balance by
// itself when a broker joins or has been fenced for long. docs/operations.md.
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
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/election/election.h"
#include "coordinator/groups/group_coordinator.h"
#include "coordinator/members/broker_registry.h"
#include "coordinator/store/metadata_store.h"
#include "coordinator/store/versioned_store.h"
#include "coordinator/topics/topic_table.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/coordinator.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator {

// What metrics report about the cluster (Coordinator::Stats).
struct ClusterStats {
  int64_t metadata_version = 0;
  int32_t brokers_alive = 0;
  int32_t brokers_fenced = 0;
  // Alive brokers in controlled shutdown (also counted as alive).
  int32_t brokers_shutting_down = 0;
  int32_t topics = 0;
  int32_t partitions = 0;
  // Without a leader.
  int32_t offline_partitions = 0;
  // With a leader but fewer in-sync replicas than replicas.
  int32_t under_replicated_partitions = 0;
  // (topic id, partition) -> high watermark, as last reported by the
  // partition's current leader in its heartbeat; absent when not reported.
  std::map<std::pair<uint64_t, int32_t>, int64_t> high_watermarks;
};

struct CoordinatorOptions {
  // A broker not heard from for this long is fenced.
  absl::Duration session_timeout = absl::Seconds(6);
  // How often Tick moves leadership back to preferred replicas (and retries
  // elections of offline partitions).
  absl::Duration leader_balance_interval = absl::Seconds(5);
  // The time source; tests inject a fake.
  members::Clock clock = [] { return absl::Now(); };
  // Auto-balance (--auto-balance): Tick balances the cluster by itself when
  // a broker registers holding no replica (a session timeout later, so that
  // brokers added together are balanced in one plan and a broker that dies
  // at once is not handed data), and when a broker has been fenced for
  // auto_balance_delay (its replicas move to live brokers). Moves copy at
  // auto_balance_throttle_bytes per replica (0: unthrottled).
  bool auto_balance = false;
  absl::Duration auto_balance_delay = absl::Minutes(30);
  int64_t auto_balance_throttle_bytes = 10 << 20;
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
  // Marks the broker as shutting down (never elected again until it
  // registers anew) and moves its leaderships and ISR seats away
  // (election::ShutdownBroker), in one commit. Repeatable.
  absl::StatusOr<v1::ControlledShutdownResponse> ControlledShutdown(
      const v1::ControlledShutdownRequest& request);

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
  absl::StatusOr<v1::ReassignPartitionsResponse> ReassignPartitions(
      const v1::ReassignPartitionsRequest& request);
  v1::ListReassignmentsResponse ListReassignments();
  absl::StatusOr<v1::BalanceClusterResponse> BalanceCluster(
      const v1::BalanceClusterRequest& request);

  // --- runnel.v1.Groups --- (thread-safe on its own; lives as long as this)
  groups::GroupCoordinator* groups() { return groups_.get(); }

  // Fences every broker whose session has expired and fails over their
  // partitions, in one commit; returns their ids.
  absl::StatusOr<std::vector<int32_t>> ExpireSessions();

  // The periodic work, called by the server every few hundred milliseconds:
  // expiry of group members' sessions, ExpireSessions, completion of
  // reassignments, auto-balance when on and due, then the leader balance
  // pass when due.
  absl::Status Tick();

  const std::string& cluster_id() const { return cluster_id_; }
  int64_t metadata_version();

  // For metrics, computed at each call.
  ClusterStats Stats();

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
  // The live brokers, with those in controlled shutdown marked.
  election::Membership MembershipLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The live brokers not in controlled shutdown: those that may be elected
  // or join ISRs.
  std::set<int32_t> ElectableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One partition's requested target replicas.
  struct Reassignment {
    std::string topic;
    int32_t partition = 0;
    std::vector<int32_t> target;
  };
  // Validates every reassignment, then starts them all in one commit and
  // completes those that need no copying. Nothing changes on error.
  absl::Status ReassignLocked(const std::vector<Reassignment>& reassignments,
                              int64_t throttle_bytes_per_second) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Completes every reassignment whose new replicas are in sync, in one
  // commit.
  absl::Status CompleteReassignmentsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Plans a balance over the registered brokers with `drain` (and the
  // decommissioned ones) emptied, and unless `dry_run` starts the moves.
  absl::StatusOr<v1::BalanceClusterResponse> BalanceLocked(bool dry_run,
                                                           const std::set<int32_t>& drain,
                                                           int64_t throttle_bytes_per_second)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The auto-balance triggers (see CoordinatorOptions::auto_balance).
  void AutoBalanceLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Live brokers that may receive new partitions: not decommissioned.
  std::vector<v1::BrokerInfo> PlaceableBrokersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string cluster_id_;
  const members::Clock clock_;
  const absl::Duration leader_balance_interval_;
  absl::Mutex mu_;
  // When the next leader balance pass is due; now or earlier makes it run on
  // the next Tick.
  absl::Time next_balance_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  const bool auto_balance_;
  const absl::Duration auto_balance_delay_;
  const int64_t auto_balance_throttle_bytes_;
  // Brokers drained by a (non dry-run) BalanceCluster: kept empty by later
  // balances and left out of new placements until they register again.
  // Memory only: a coordinator restart forgets them.
  std::set<int32_t> decommissioned_ ABSL_GUARDED_BY(mu_);
  // Auto-balance: when each fenced broker was first seen fenced (by this
  // coordinator process), the fenced brokers already drained for being
  // fenced too long, and when a join balance is due.
  std::map<int32_t, absl::Time> fenced_since_ ABSL_GUARDED_BY(mu_);
  std::set<int32_t> auto_drained_ ABSL_GUARDED_BY(mu_);
  absl::Time join_balance_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::unique_ptr<store::VersionedStore> store_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<members::BrokerRegistry> registry_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<topics::TopicTable> topics_ ABSL_GUARDED_BY(mu_);
  // Brokers in controlled shutdown, until they register again or are fenced.
  // Memory only: after a coordinator restart a stopping broker's next
  // ControlledShutdown call marks it again.
  std::set<int32_t> shutting_down_ ABSL_GUARDED_BY(mu_);
  // Latest high watermark reported per (topic id, partition), with the
  // reporting broker: only the current leader's report counts.
  struct ReportedHighWatermark {
    int32_t broker = 0;
    int64_t high_watermark = 0;
  };
  std::map<std::pair<uint64_t, int32_t>, ReportedHighWatermark> high_watermarks_
      ABSL_GUARDED_BY(mu_);
  // Not guarded by mu_: thread-safe itself. Called under mu_ for topic
  // changes (lock order mu_, then its own).
  const std::unique_ptr<groups::GroupCoordinator> groups_;
};

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_CORE_COORDINATOR_H_
