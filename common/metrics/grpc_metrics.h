// Per-RPC metrics for a gRPC server, recorded by a server interceptor so no
// handler has to remember them:
//   runnel_rpc_duration_seconds{method}  histogram, receipt to status sent
//   runnel_rpcs_total{method,code}      counter, by gRPC status code name
// `method` is the full gRPC method ("/runnel.v1.Broker/Fetch"); long-polls
// (Fetch with max_wait_ms) count their wait.
//
// Ownership: the factory borrows the registry, which must outlive the server.
// Thread-safety: interceptors run on gRPC's threads; the metrics are atomic.
#ifndef RUNNEL_COMMON_METRICS_GRPC_METRICS_H_
#define RUNNEL_COMMON_METRICS_GRPC_METRICS_H_

#include <memory>

#include "common/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace runnel::metrics {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators().
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(
    Registry* registry);

}  // namespace runnel::metrics

#endif  // RUNNEL_COMMON_METRICS_GRPC_METRICS_H_
