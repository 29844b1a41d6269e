// ReplicaManager: the broker's request-path core and its replicas' roles. It
// maps topic names to the partition replicas this broker hosts, applies each
// partition's state (leader or follower, leader epoch, ISR) when its
// partition_epoch is newer than the one held, and serves Produce, Fetch and
// ListOffsets. As leader it tracks followers' progress (LeaderState), moves
// the high watermark (HW), answers acks=all producers once the ISR has their
// batches, and proposes ISR changes through ClusterHooks::alter_partition. As
// follower it applies what a ReplicaFetcher fetched (ApplyFollowerFetch).
// Consumers read below the HW; follower fetches (replica_id >= 0 with a
// broker epoch) up to the log end. docs/replication.md is the contract this implements.
//
// It knows no gRPC: handlers pass request messages in and send the filled
// response back, and the coordinator is reached through ClusterHooks, so all
// of this is unit-tested without a network. With a single replica (ISR = the
// leader) the HW is the log end offset.
//
// Ownership: borrows the LogManager and MetadataCache, which must outlive it;
// owns the ISR maintenance thread (StartIsrMaintenance).
// Thread-safety: all methods are thread-safe. Fetch may block for up to the
// request's max_wait_ms (long poll), an acks=all Produce up to its timeout_ms;
// Shutdown() releases both.
//
// Metrics: it counts each partition's produced and fetched bytes and records
// and its leaderships' ISR changes (replica_metrics.h), and reports its
// replicas' state at scrape time (Stats) and its led partitions' HWs for the
// coordinator heartbeat (LeaderHighWatermarks).
#ifndef RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_
#define RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/partition_state.h"
#include "broker/replication/replica_metrics.h"
#include "broker/storage/log.h"
#include "broker/storage/log_cleaner.h"
#include "common/metrics/metrics.h"
#include "proto/runnel/v1/broker.pb.h"
#include "proto/runnel/v1/coordinator.pb.h"

namespace runnel::replication {

struct ReplicaManagerOptions {
  // This broker's id.
  int32_t broker_id = 0;
  // Cap on a fetch's max_wait_ms, so a client cannot pin a thread forever.
  absl::Duration max_fetch_wait = absl::Seconds(30);
  // Response size when a fetch leaves max_bytes at 0.
  int64_t default_fetch_max_bytes = 50 << 20;
  int64_t default_partition_fetch_max_bytes = 1 << 20;
  // An acks=all produce waits this long for the ISR when timeout_ms is 0.
  absl::Duration default_produce_timeout = absl::Seconds(30);
  // A follower not caught up with the leader's log end for this long leaves
  // the ISR (Kafka's replica.lag.time.max.ms; broker flag
  // --replica-lag-time-max-ms).
  absl::Duration replica_lag_time_max = absl::Seconds(10);
  // How often the leader checks its ISRs for shrinking or expanding.
  absl::Duration isr_check_interval = absl::Milliseconds(200);
  // The clock (tests inject a fake one).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Where the traffic and ISR counters go (replica_metrics.h); must outlive
  // the ReplicaManager. nullptr: a private registry nobody reads.
  metrics::Registry* metrics = nullptr;
};

// One hosted replica as metrics see it (ReplicaManager::Stats).
struct ReplicaStats {
  std::string topic;
  int32_t partition = 0;
  bool leader = false;   // this broker leads it
  bool offline = false;  // the partition has no leader at all
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  int64_t size_bytes = 0;
  int32_t replicas = 0;
  int32_t isr = 0;
};

// A partition this broker follows, as handed to the replica fetchers.
struct FollowedPartition {
  storage::PartitionId id;
  std::string topic;
  int32_t partition = 0;
  int32_t leader_epoch = 0;
  // While this broker is an adding replica of a reassignment: the copy rate
  // limit in bytes per second (PartitionInfo.reassignment_throttle_bytes);
  // 0 means unthrottled.
  int64_t throttle_bytes_per_second = 0;
};

// Leader broker id -> (its address, the partitions followed from it).
using FollowSet = std::map<int32_t, std::pair<std::string, std::vector<FollowedPartition>>>;

// Where a follower fetches a partition from next.
struct FollowerPosition {
  int64_t fetch_offset = 0;                   // the follower's log end offset
  std::optional<int32_t> last_fetched_epoch;  // epoch of its last batch, if any
};

// The broker's ties to the rest of the cluster. Every member may be left
// empty (unit tests): the session is then always valid, ISR changes are not
// proposed and nothing is fetched.
struct ClusterHooks {
  // False once the broker may have lost its coordinator session: it then
  // refuses writes as leader and stops advancing HWs.
  std::function<bool()> session_valid;
  // Sends an AlterPartition (broker id and epoch filled in by the callee).
  std::function<absl::StatusOr<runnel::v1::PartitionInfo>(runnel::v1::AlterPartitionRequest)>
      alter_partition;
  // Pulls the cluster metadata now (after a refused or lost AlterPartition).
  std::function<absl::Status()> refresh_metadata;
  // Called (without locks held) with the partitions to follow after every
  // metadata change.
  std::function<void(const FollowSet&)> on_follow_change;
};

class ReplicaManager {
 public:
  ReplicaManager(ReplicaManagerOptions options, storage::LogManager* logs,
                 cluster::MetadataCache* metadata, ClusterHooks hooks = {});
  ~ReplicaManager();  // stops the ISR maintenance thread

  // Reconciles local replicas with the metadata: opens a log for every
  // partition with a replica here (a broker added by a reassignment starts
  // empty and copies from the leader), applies each partition state whose
  // partition_epoch is newer than the one held (becoming leader or follower),
  // deletes the logs of topics that no longer exist and of partitions no
  // longer placed here (a reassignment moved them away: the replica stops
  // serving and fetching first), and hands the follow set to
  // ClusterHooks::on_follow_change.
  void ApplyMetadata(const cluster::MetadataSnapshot& snapshot);

  // One pass of ISR maintenance: moves leaders' HWs (held while the session
  // was in doubt), proposes the ISR changes LeaderState asks for, one
  // AlterPartition in flight per partition, and adopts the result.
  // Blocks on the coordinator calls. Public for tests; normally run by the
  // thread StartIsrMaintenance starts.
  void MaintainIsr();
  void StartIsrMaintenance();

  // Follower side, for the replica fetchers. Where to fetch `id` from next;
  // FailedPrecondition when this broker no longer follows it at leader_epoch.
  absl::StatusOr<FollowerPosition> FollowerFetchPosition(const storage::PartitionId& id,
                                                         int32_t leader_epoch);
  // Applies the leader's answer to a fetch made at `position`: appends the
  // batches, moves the follower HW, truncates on diverging_epoch, starts over
  // at the leader's log start when fetching below it. Ignored (OK) if the
  // role, leader epoch or log end changed meanwhile. The partition's error, as
  // a status, when the leader refused (the fetcher backs off).
  absl::Status ApplyFollowerFetch(const storage::PartitionId& id, int32_t leader_epoch,
                                  const FollowerPosition& position,
                                  const runnel::v1::FetchPartitionResponse& response);

  // The partition's HW as this broker knows it (-1 if not hosted). For tests.
  int64_t HighWatermarkOf(const storage::PartitionId& id) const;

  // The HW of every partition this broker leads, for its coordinator
  // heartbeat (the coordinator exports consumer-group lag from them).
  // Cheap: reads atomics, takes no partition lock.
  std::vector<runnel::v1::PartitionHighWatermark> LeaderHighWatermarks() const;
  // Every hosted replica, for metrics (scrape time).
  std::vector<ReplicaStats> Stats() const;

  // Request-level problems (e.g. no partitions named) come back as the
  // returned status; per-partition results go into the response.
  absl::Status Produce(const runnel::v1::ProduceRequest& request,
                       runnel::v1::ProduceResponse* response);
  absl::Status Fetch(const runnel::v1::FetchRequest& request,
                     runnel::v1::FetchResponse* response);
  // A consumer's fetch as a stream (Broker.FetchStream): Fetch after Fetch,
  // each continuing every partition after the records the previous one
  // returned, handing `send` each answer that has records or an error (with
  // only those partitions). A partition whose answer has an error is not
  // fetched again. Returns when `send` returns false (the caller went away),
  // `cancelled` returns true (checked between answers, i.e. at least every
  // max_wait_ms), no partition is left, or Shutdown is called.
  // InvalidArgument for a follower's request (FromFollower) or one that
  // names no partition.
  absl::Status FetchStream(const runnel::v1::FetchRequest& request,
                           const std::function<bool()>& cancelled,
                           const std::function<bool(const runnel::v1::FetchResponse&)>& send);
  absl::Status ListOffsets(const runnel::v1::ListOffsetsRequest& request,
                           runnel::v1::ListOffsetsResponse* response);

  // Wakes every waiting fetch and produce, makes new ones return at once, and
  // stops the ISR maintenance thread.
  void Shutdown();

  // What the log cleaner needs for a partition stored here: its topic's
  // effective config and its high watermark. nullopt when the current
  // metadata does not have the partition (e.g. before the first metadata
  // after a restart: nothing is cleaned on guesses) or its configs do not
  // parse (logged). The storage::CleanerPolicyFn of the broker.
  std::optional<storage::CleanerPolicy> CleanerPolicyFor(const storage::PartitionId& id) const;

 private:
  // One partition replica hosted here.
  struct Replica {
    Replica(storage::PartitionId i, std::string t, std::string n,
            std::shared_ptr<storage::PartitionLog> l, const PartitionCounters* c)
        : id(i),
          topic(std::move(t)),
          name(std::move(n)),
          log(std::move(l)),
          counters(c),
          hw(log->log_start_offset()) {}
    const storage::PartitionId id;
    const std::string topic;
    const std::string name;  // "topic-partition", for messages
    const std::shared_ptr<storage::PartitionLog> log;
    const PartitionCounters* const counters;  // owned by metrics_
    absl::Mutex mu;  // serialises appends, role changes and progress updates
    bool has_state ABSL_GUARDED_BY(mu) = false;
    runnel::v1::PartitionInfo state ABSL_GUARDED_BY(mu);  // the applied partition state
    std::optional<LeaderState> leader ABSL_GUARDED_BY(mu);  // set while leading
    // Readable without mu (acks=all waiters check them under progress_mu_).
    // After a restart the HW starts at the log start: it is not persisted,
    // and consumers must never see records above the true HW.
    std::atomic<int64_t> hw;
    std::atomic<int32_t> leading_epoch{-1};  // leader epoch while leading, else -1
    // No longer placed here (its log is being deleted): ignores fetches.
    bool removed ABSL_GUARDED_BY(mu) = false;
  };
  // A partition this broker leads, resolved for one request.
  struct Leader {
    std::shared_ptr<const cluster::MetadataSnapshot> snapshot;
    const runnel::v1::TopicInfo* topic = nullptr;
    std::shared_ptr<Replica> replica;
    int32_t leader_epoch = 0;
    std::shared_ptr<storage::PartitionLog> log;
  };
  // A produce waiting for the HW to pass `target` in `leader_epoch`.
  struct AckWait {
    std::shared_ptr<Replica> replica;
    int32_t leader_epoch = 0;
    int64_t target = 0;
    runnel::v1::ProducePartitionResponse* out = nullptr;
  };
  // UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER or a leader-epoch error otherwise.
  absl::StatusOr<Leader> ResolveLeader(const std::string& topic, int32_t partition,
                                       int32_t current_leader_epoch) const;
  // Validates and appends as leader; the min.insync.replicas check first when
  // `acks_all`.
  absl::StatusOr<storage::AppendResult> AppendTo(const Leader& leader, const std::string& records,
                                                 bool acks_all);
  // Waits (no locks held) until each wait's HW passes its target, its
  // leadership ends, or `deadline`; fills the errors of those that failed.
  void AwaitReplication(const std::vector<AckWait>& waits, absl::Time deadline);
  // Fills one partition of a fetch; returns the record bytes added. Sets
  // `*counters` to the partition's counters when it is served here.
  int64_t FetchPartition(const runnel::v1::FetchRequest& request,
                         const runnel::v1::FetchPartition& partition, int64_t budget,
                         runnel::v1::FetchPartitionResponse* response,
                         const PartitionCounters** counters);
  std::shared_ptr<Replica> FindReplica(const storage::PartitionId& id) const;
  // Stops serving partition `id` and deletes its log: the metadata (where
  // the partition is at `partition_epoch`) no longer places it here. Kept if
  // the replica holds a newer state than that metadata.
  void RemoveReplica(const storage::PartitionId& id, const std::string& name,
                     int32_t partition_epoch);
  // Adopts a committed partition state (newer partition_epoch only).
  void ApplyStateLocked(Replica& r, const runnel::v1::PartitionInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(r.mu);
  // A follower always sends its broker epoch (> 0); a request without one is
  // a consumer's, whatever replica_id says (proto3 defaults it to 0).
  static bool FromFollower(const runnel::v1::FetchRequest& request) {
    return request.replica_id() >= 0 && request.replica_broker_epoch() > 0;
  }
  // Counts an accepted ISR proposal as a shrink and/or an expansion.
  void CountIsrChange(const google::protobuf::RepeatedField<int32_t>& proposed,
                      const google::protobuf::RepeatedField<int32_t>& before,
                      const runnel::v1::PartitionInfo& committed);
  // Recomputes a leader's HW; wakes waiters when it moved.
  void UpdateHighWatermarkLocked(Replica& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r.mu);
  bool SessionValid() const;
  // Wakes long polls and acks=all produces: an append or a HW moved.
  void NotifyProgress();

  const ReplicaManagerOptions options_;
  storage::LogManager* const logs_;
  cluster::MetadataCache* const metadata_;
  const ClusterHooks hooks_;
  std::unique_ptr<metrics::Registry> own_metrics_;  // when options_.metrics is null
  ReplicaMetrics metrics_;

  // Lock order: mu_, then a Replica's mu, then progress_mu_.
  mutable absl::Mutex mu_;
  std::map<storage::PartitionId, std::shared_ptr<Replica>> replicas_ ABSL_GUARDED_BY(mu_);

  // Bumped at every append and HW move; long polls and acks=all produces
  // wait for it to move.
  mutable absl::Mutex progress_mu_;
  int64_t progress_seq_ ABSL_GUARDED_BY(progress_mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(progress_mu_) = false;

  // Proposals whose outcome is unknown (refused or lost): (replica, the
  // partition epoch they were based on), resolved after a metadata refresh.
  // Touched only by MaintainIsr, which runs on one thread at a time.
  absl::Mutex isr_mu_;
  std::vector<std::pair<std::shared_ptr<Replica>, int32_t>> unresolved_ ABSL_GUARDED_BY(isr_mu_);
  std::thread isr_thread_;
};

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_
