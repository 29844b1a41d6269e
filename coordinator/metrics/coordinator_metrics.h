// The coordinator's Prometheus metrics, read from the Coordinator at scrape
// time (a collector): broker membership, partition health, consumer groups
// and their lag. docs/metrics.md lists them. Per-RPC metrics come from the
// gRPC interceptor (ServerOptions::metrics), not from here.
//
// Lag is computed from the high watermarks that partition leaders report in
// their heartbeats (Coordinator::Stats) minus the groups' committed offsets;
// a partition whose leader has not reported one yet has no lag series.
//
// Ownership: borrows the Coordinator and the Registry; the Coordinator must
// outlive every Render of the registry.
// Thread-safety: the collector runs on the scraping thread and takes the
// Coordinator's and the GroupCoordinator's locks briefly, one at a time.
#ifndef RUNNEL_COORDINATOR_METRICS_COORDINATOR_METRICS_H_
#define RUNNEL_COORDINATOR_METRICS_COORDINATOR_METRICS_H_

#include "common/metrics/metrics.h"
#include "coordinator/core/coordinator.h"

namespace runnel::coordinator {

void AddCoordinatorMetrics(Coordinator* coordinator, metrics::Registry* registry);

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_METRICS_COORDINATOR_METRICS_H_
