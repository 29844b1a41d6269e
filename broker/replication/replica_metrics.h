// ReplicaMetrics: the broker's per-partition traffic counters and ISR change
// counters, as Prometheus metrics (docs/metrics.md):
//   runnel_partition_bytes_in_total{topic,partition}      produced batch bytes
//   runnel_partition_records_in_total{topic,partition}    produced records
//   runnel_partition_bytes_out_total{topic,partition,reader}    fetched bytes
//   runnel_partition_records_out_total{topic,partition,reader}  fetched records
//     (reader="consumer" or "replica": a follower broker)
//   runnel_partition_replication_bytes_in_total{topic,partition}
//     bytes this broker appended as a follower
//   runnel_broker_isr_shrinks_total, runnel_broker_isr_expands_total
//     ISR changes this broker's leaderships made (accepted AlterPartitions)
// The ReplicaManager looks up a partition's counters once, when it first
// hosts the partition, so the request path only adds to atomics.
//
// Ownership: borrows the Registry, which must outlive it; owns the counter
// sets it hands out (valid as long as it lives).
// Thread-safety: thread-safe.
#ifndef RUNNEL_BROKER_REPLICATION_REPLICA_METRICS_H_
#define RUNNEL_BROKER_REPLICATION_REPLICA_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics/metrics.h"

namespace runnel::replication {

// One partition's counters.
struct PartitionCounters {
  metrics::Counter* bytes_in = nullptr;
  metrics::Counter* records_in = nullptr;
  metrics::Counter* consumer_bytes_out = nullptr;
  metrics::Counter* consumer_records_out = nullptr;
  metrics::Counter* replica_bytes_out = nullptr;
  metrics::Counter* replica_records_out = nullptr;
  metrics::Counter* replication_bytes_in = nullptr;

  // Counts a fetch answer of whole stored batches, by walking their headers
  // (no decoding).
  void CountFetched(absl::string_view batches, bool to_replica) const;
};

class ReplicaMetrics {
 public:
  explicit ReplicaMetrics(metrics::Registry* registry);

  // The counters of topic-partition, created on first use.
  const PartitionCounters* ForPartition(const std::string& topic, int32_t partition);

  metrics::Counter* isr_shrinks() const { return isr_shrinks_; }
  metrics::Counter* isr_expands() const { return isr_expands_; }

 private:
  metrics::Family<metrics::Counter>* const bytes_in_;
  metrics::Family<metrics::Counter>* const records_in_;
  metrics::Family<metrics::Counter>* const bytes_out_;
  metrics::Family<metrics::Counter>* const records_out_;
  metrics::Family<metrics::Counter>* const replication_bytes_in_;
  metrics::Counter* const isr_shrinks_;
  metrics::Counter* const isr_expands_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<PartitionCounters>> partitions_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_REPLICA_METRICS_H_
