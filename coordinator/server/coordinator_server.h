// CoordinatorServer: a running coordinator endpoint. It serves the
// Coordinator, Admin and Groups services plus the standard gRPC health service
// (grpc.health.v1.Health) on one address, and runs the background thread
// that calls Coordinator::Tick (fencing brokers whose sessions expired,
// failing their partitions over, balancing leaders, removing group members
// whose sessions expired). Used by the runnel-coordinator binary and by
// in-process tests.
//
// Ownership: borrows the Coordinator, which must outlive the server; owns the
// gRPC server and the tick thread.
// Thread-safety: Start, Shutdown and the destructor from one thread; the
// services themselves are thread-safe.
#ifndef RUNNEL_COORDINATOR_SERVER_COORDINATOR_SERVER_H_
#define RUNNEL_COORDINATOR_SERVER_COORDINATOR_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "coordinator/core/coordinator.h"
#include "coordinator/server/services.h"

namespace runnel::coordinator {

struct ServerOptions {
  // host:port to listen on; port 0 lets the OS pick one (see address()).
  std::string listen_address = "127.0.0.1:9190";
  // How often Coordinator::Tick runs; a broker is fenced (and its partitions
  // failed over) at most this long after its session timeout.
  absl::Duration tick_interval = absl::Milliseconds(200);
  // When set, every RPC is timed and counted in it (common/metrics
  // grpc_metrics.h); it must outlive the server.
  metrics::Registry* metrics = nullptr;
};

class CoordinatorServer {
 public:
  // Starts serving. Unavailable ("cannot listen on ADDR ...") if the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(Coordinator* coordinator,
                                                                  const ServerOptions& options);
  ~CoordinatorServer();

  // The address actually listened on: listen_address with the chosen port.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // Stops the tick thread, reports NOT_SERVING on the health service, and
  // shuts the gRPC server down, cancelling calls still running after
  // `deadline`. Idempotent.
  void Shutdown(absl::Duration deadline);

 private:
  CoordinatorServer(Coordinator* coordinator, const ServerOptions& options);
  void TickLoop();

  Coordinator* coordinator_;
  ServerOptions options_;
  CoordinatorService coordinator_service_;
  AdminService admin_service_;
  GroupsService groups_service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread tick_thread_;
  bool shut_down_ = false;
};

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_SERVER_COORDINATOR_SERVER_H_
