// The broker's scrape-time Prometheus metrics (a collector; docs/metrics.md):
// per hosted partition its offsets, size, role and ISR size; the broker's
// counts of led, under-replicated and offline partitions; whether its
// coordinator session is valid; and RocksDB's health (memtables, pending
// compaction, write stalls, block cache). Traffic counters are kept by the
// ReplicaManager (replication/replica_metrics.h) and RPC metrics by the gRPC
// interceptor.
//
// Ownership: borrows everything; the replica manager and log manager must
// outlive every Render of the registry (stop the metrics HTTP server first).
// Thread-safety: the collector runs on the scraping thread; what it reads is
// thread-safe.
#ifndef RUNNEL_BROKER_SERVER_BROKER_METRICS_H_
#define RUNNEL_BROKER_SERVER_BROKER_METRICS_H_

#include <functional>

#include "broker/replication/replica_manager.h"
#include "broker/storage/log.h"
#include "common/metrics/metrics.h"

namespace runnel::server {

// `session_valid` (may be empty) says whether the broker holds a valid
// coordinator session (CoordinatorLink::SessionValid).
void AddBrokerMetrics(const replication::ReplicaManager* replicas, const storage::LogManager* logs,
                      std::function<bool()> session_valid, metrics::Registry* registry);

}  // namespace runnel::server

#endif  // RUNNEL_BROKER_SERVER_BROKER_METRICS_H_
