// ReplicaManager: the broker's request-path core. It maps topic names to the
// partition logs this broker hosts, checks leadership and leader epochs
// against the cluster metadata, and serves Produce, Fetch and ListOffsets.
// It knows no gRPC: handlers pass request messages in and send the filled
// response back, so all of this is unit-tested without a network.
//
// Replication (followers, ISR, high watermark below the log end) arrives with
// issue 4; until then a partition's high watermark is its log end offset, and
// only its leader accepts produce and fetch.
//
// Ownership: borrows the LogManager and MetadataCache, which must outlive it.
// Thread-safety: all methods are thread-safe. Fetch may block for up to the
// request's max_wait_ms (long poll); Shutdown() releases waiting fetches.
#ifndef RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_
#define RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/storage/log.h"
#include "broker/storage/log_cleaner.h"
#include "proto/runnel/v1/broker.pb.h"

namespace runnel::replication {

struct ReplicaManagerOptions {
  // This broker's id.
  int32_t broker_id = 0;
  // Largest batch accepted when a topic does not set max.message.bytes.
  int64_t default_max_message_bytes = 1 << 20;
  // Cap on a fetch's max_wait_ms, so a client cannot pin a thread forever.
  absl::Duration max_fetch_wait = absl::Seconds(30);
  // Response size when a fetch leaves max_bytes at 0.
  int64_t default_fetch_max_bytes = 50 << 20;
  int64_t default_partition_fetch_max_bytes = 1 << 20;
};

class ReplicaManager {
 public:
  ReplicaManager(ReplicaManagerOptions options, storage::LogManager* logs,
                 cluster::MetadataCache* metadata);

  // Reconciles local logs with the metadata: opens a log for every partition
  // with a replica here and deletes the logs of topics that no longer exist.
  void ApplyMetadata(const cluster::MetadataSnapshot& snapshot);

  // Request-level problems (e.g. no partitions named) come back as the
  // returned status; per-partition results go into the response.
  absl::Status Produce(const runnel::v1::ProduceRequest& request,
                       runnel::v1::ProduceResponse* response);
  absl::Status Fetch(const runnel::v1::FetchRequest& request,
                     runnel::v1::FetchResponse* response);
  absl::Status ListOffsets(const runnel::v1::ListOffsetsRequest& request,
                           runnel::v1::ListOffsetsResponse* response);

  // Wakes every waiting fetch and makes new ones return at once.
  void Shutdown();

  // What the log cleaner needs for a partition stored here: its topic's
  // effective config and its high watermark. nullopt when the current
  // metadata does not have the partition (e.g. before the first metadata
  // after a restart: nothing is cleaned on guesses) or its configs do not
  // parse (logged). The storage::CleanerPolicyFn of the broker.
  std::optional<storage::CleanerPolicy> CleanerPolicyFor(const storage::PartitionId& id) const;

 private:
  // A partition this broker leads, resolved for one request.
  struct Leader {
    std::shared_ptr<const cluster::MetadataSnapshot> snapshot;
    const runnel::v1::TopicInfo* topic = nullptr;
    const runnel::v1::PartitionInfo* partition = nullptr;
    std::shared_ptr<storage::PartitionLog> log;
  };
  // UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER or a leader-epoch error otherwise.
  absl::StatusOr<Leader> ResolveLeader(const std::string& topic, int32_t partition,
                                       int32_t current_leader_epoch) const;
  absl::StatusOr<int64_t> AppendTo(const Leader& leader, const std::string& records);
  // Fills one partition of a fetch; returns the record bytes added.
  int64_t FetchPartition(const runnel::v1::FetchPartition& request, int64_t budget,
                         runnel::v1::FetchPartitionResponse* response) const;
  int64_t MaxMessageBytes(const runnel::v1::TopicInfo& topic) const;
  // The offset below which records are committed and visible to consumers.
  static int64_t HighWatermark(const storage::PartitionLog& log);

  const ReplicaManagerOptions options_;
  storage::LogManager* const logs_;
  cluster::MetadataCache* const metadata_;

  // Bumped at every append; long-polling fetches wait for it to move.
  mutable absl::Mutex append_mu_;
  int64_t append_seq_ ABSL_GUARDED_BY(append_mu_) = 0;
  bool shutdown_ ABSL_GUARDED_BY(append_mu_) = false;
};

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_REPLICA_MANAGER_H_
