#include "coordinator/server/coordinator_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics/grpc_metrics.h"

namespace runnel::coordinator {
namespace {

// "host:port" -> "host"; works for "[::1]:0" too.
std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

CoordinatorServer::CoordinatorServer(Coordinator* coordinator, const ServerOptions& options)
    : coordinator_(coordinator),
      options_(options),
      coordinator_service_(coordinator),
      admin_service_(coordinator),
      groups_service_(coordinator) {}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    Coordinator* coordinator, const ServerOptions& options) {
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer(coordinator, options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // Without this, Linux SO_REUSEPORT would let a second coordinator bind the
  // same port and silently split the traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(&server->coordinator_service_);
  builder.RegisterService(&server->admin_service_);
  builder.RegisterService(&server->groups_service_);
  if (options.metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(metrics::RpcMetricsInterceptorFactory(options.metrics));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    server->shut_down_ = true;  // nothing to stop
    if (server->server_ != nullptr) server->server_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (address in use, not local, or malformed)"));
  }
  server->address_ = absl::StrCat(HostOf(options.listen_address), ":", server->port_);
  server->tick_thread_ = std::thread([s = server.get()] { s->TickLoop(); });
  return server;
}

CoordinatorServer::~CoordinatorServer() { Shutdown(absl::ZeroDuration()); }

void CoordinatorServer::TickLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.tick_interval)) {
    absl::Status s = coordinator_->Tick();
    if (!s.ok()) {
      // Retried on the next tick; nothing changed in the meantime.
      RLOG(ERROR) << "coordinator tick failed" << Kv("error", s.ToString());
    }
  }
}

void CoordinatorServer::Shutdown(absl::Duration deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  stop_.Notify();
  if (tick_thread_.joinable()) tick_thread_.join();
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();
  }
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  server_->Wait();
}

}  // namespace runnel::coordinator
