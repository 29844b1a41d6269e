// Serves a metrics Registry over HTTP for Prometheus to scrape: GET /metrics
// answers Registry::Render() as text/plain; version=0.0.4, anything else 404.
// Also answers GET /healthz with "ok" (a cheap liveness URL for tools that
// cannot speak gRPC health checking).
//
// Ownership: the server borrows the registry, which must outlive it; it owns
// its listening socket and thread, and the destructor stops both.
// Thread-safety: Start and the destructor from one thread; scrapes are served
// on the server's own threads.
#ifndef RUNNEL_COMMON_METRICS_HTTP_SERVER_H_
#define RUNNEL_COMMON_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace runnel::metrics {

class HttpServer {
 public:
  // Listens on `listen` ("host:port"; port 0 picks a free one) and serves in
  // the background. InvalidArgument for a malformed address, Unavailable when
  // the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& listen,
                                                           const Registry* registry);
  ~HttpServer();

  // The bound port (the chosen one when `listen` asked for port 0).
  int port() const { return port_; }

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace runnel::metrics

#endif  // RUNNEL_COMMON_METRICS_HTTP_SERVER_H_
