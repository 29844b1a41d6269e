// runnel-coordinator: serves cluster metadata (broker membership, topics,
// placement, partition leaders and ISRs) to Runnel's brokers and admin
// clients. See --help for flags.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/metrics/http_server.h"
#include "common/metrics/metrics.h"
#include "common/server_main.h"
#include "coordinator/core/coordinator.h"
#include "coordinator/metrics/coordinator_metrics.h"
#include "coordinator/server/coordinator_server.h"
#include "coordinator/store/rocksdb_store.h"

namespace {

constexpr char kProgram[] = "runnel-coordinator";

// Bad usage: one line on stderr, exit 2 (as ParseFlagsOrExit does).
[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << kProgram << ": " << message << "\n";
  std::exit(2);
}

// A failure to start: logged, exit 1. The messages name what failed and where.
[[noreturn]] void Fatal(const absl::Status& status) {
  RLOG(ERROR) << status.message();
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  runnel::BlockShutdownSignals();

  std::string listen;
  std::string data_dir;
  int64_t session_timeout_ms = 0;
  int64_t leader_balance_interval_ms = 0;
  bool auto_balance = false;
  int64_t auto_balance_delay_ms = 0;
  int64_t auto_balance_throttle_bytes = 0;
  std::string log_level;
  std::string metrics_listen;
  int64_t shutdown_timeout_ms = 0;
  runnel::FlagSet flags(kProgram, "runnel-coordinator [flags]");
  flags.String("listen", &listen, "127.0.0.1:9190",
               "host:port to serve the Coordinator and Admin gRPC services on (port 0 = any)");
  flags.String("data-dir", &data_dir, "./data/coordinator",
               "directory of the coordinator's metadata store (created if missing)");
  flags.Int("session-timeout-ms", &session_timeout_ms, 6000,
            "a broker not heard from for this long is fenced");
  flags.Int("leader-balance-interval-ms", &leader_balance_interval_ms, 5000,
            "how often leadership moves back to preferred replicas that are live and in sync");
  flags.Bool("auto-balance", &auto_balance, false,
             "balance replicas and leaders by itself when a broker joins (a session timeout "
             "after it registers holding no replica) or has been fenced for "
             "--auto-balance-delay-ms (its replicas move to live brokers)");
  flags.Int("auto-balance-delay-ms", &auto_balance_delay_ms, 1800000,
            "with --auto-balance: how long a broker must stay fenced before its replicas are "
            "moved away");
  flags.Int("auto-balance-throttle-bytes", &auto_balance_throttle_bytes, 10 << 20,
            "with --auto-balance: copy rate limit per new replica, bytes per second (0: none)");
  flags.String("log-level", &log_level, "info", "minimum log level: debug, info, warn, error");
  flags.String("metrics-listen", &metrics_listen, "",
               "host:port serving Prometheus metrics on GET /metrics (port 0 = any); empty: off");
  flags.Int("shutdown-timeout-ms", &shutdown_timeout_ms, 5000,
            "on SIGTERM/SIGINT, how long calls in flight may still run before they are cancelled");
  std::vector<std::string> args = runnel::ParseFlagsOrExit(flags, argc, argv);
  if (!args.empty()) UsageError("unexpected argument '" + args[0] + "'");
  if (absl::Status s = runnel::SetLogLevelByName(log_level); !s.ok()) {
    UsageError(std::string(s.message()));
  }
  if (session_timeout_ms <= 0 || session_timeout_ms > INT32_MAX) {
    UsageError("--session-timeout-ms must be > 0, got " + std::to_string(session_timeout_ms));
  }
  if (leader_balance_interval_ms <= 0) {
    UsageError("--leader-balance-interval-ms must be > 0, got " +
               std::to_string(leader_balance_interval_ms));
  }

  if (auto_balance_delay_ms <= 0 || auto_balance_throttle_bytes < 0) {
    UsageError("--auto-balance-delay-ms must be > 0 and --auto-balance-throttle-bytes >= 0");
  }

  if (shutdown_timeout_ms < 0) {
    UsageError("--shutdown-timeout-ms must be >= 0, got " + std::to_string(shutdown_timeout_ms));
  }
  // Checked now, so that a typo is a usage error rather than a failed bind.
  if (absl::Status s = runnel::ValidateHostPort("listen", listen, true); !s.ok()) {
    UsageError(std::string(s.message()));
  }
  if (!metrics_listen.empty()) {
    if (absl::Status s = runnel::ValidateHostPort("metrics-listen", metrics_listen, true);
        !s.ok()) {
      UsageError(std::string(s.message()));
    }
  }

  auto store = runnel::coordinator::store::RocksDBStore::Open(data_dir);
  if (!store.ok()) Fatal(store.status());
  runnel::coordinator::CoordinatorOptions options;
  options.session_timeout = absl::Milliseconds(session_timeout_ms);
  options.leader_balance_interval = absl::Milliseconds(leader_balance_interval_ms);
  options.auto_balance = auto_balance;
  options.auto_balance_delay = absl::Milliseconds(auto_balance_delay_ms);
  options.auto_balance_throttle_bytes = auto_balance_throttle_bytes;
  auto coordinator = runnel::coordinator::Coordinator::Open(store->get(), options);
  if (!coordinator.ok()) Fatal(coordinator.status());

  // Declared before everything that records into it, so it outlives them.
  runnel::metrics::Registry metrics;
  std::unique_ptr<runnel::metrics::HttpServer> metrics_server;
  if (!metrics_listen.empty()) {
    runnel::coordinator::AddCoordinatorMetrics(coordinator->get(), &metrics);
    auto started = runnel::metrics::HttpServer::Start(metrics_listen, &metrics);
    if (!started.ok()) Fatal(started.status());
    metrics_server = std::move(*started);
    RLOG(INFO) << "serving metrics" << runnel::Kv("listen", metrics_listen)
               << runnel::Kv("port", metrics_server->port());
  }

  runnel::coordinator::ServerOptions server_options;
  server_options.listen_address = listen;
  if (metrics_server != nullptr) server_options.metrics = &metrics;
  auto server = runnel::coordinator::CoordinatorServer::Start(coordinator->get(), server_options);
  if (!server.ok()) Fatal(server.status());
  RLOG(INFO) << "listening" << runnel::Kv("addr", (*server)->address())
             << runnel::Kv("cluster_id", (*coordinator)->cluster_id())
             << runnel::Kv("metadata_version", (*coordinator)->metadata_version())
             << runnel::Kv("data_dir", data_dir)
             << runnel::Kv("session_timeout_ms", session_timeout_ms)
             << runnel::Kv("leader_balance_interval_ms", leader_balance_interval_ms)
             << runnel::Kv("auto_balance", auto_balance);

  int sig = runnel::WaitForShutdownSignal();
  runnel::ExitOnSecondSignal(kProgram);
  RLOG(INFO) << "shutting down" << runnel::Kv("signal", sig)
             << runnel::Kv("shutdown_timeout_ms", shutdown_timeout_ms);
  // Health turns NOT_SERVING, then calls in flight get the timeout to finish.
  (*server)->Shutdown(absl::Milliseconds(shutdown_timeout_ms));
  server->reset();
  metrics_server.reset();  // its collector reads the coordinator
  coordinator->reset();
  RLOG(INFO) << "stopped";
  return 0;
}
