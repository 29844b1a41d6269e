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
#include "common/server_main.h"
#include "coordinator/core/coordinator.h"
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
  std::string log_level;
  runnel::FlagSet flags(kProgram, "runnel-coordinator [flags]");
  flags.String("listen", &listen, "127.0.0.1:9190",
               "host:port to serve the Coordinator and Admin gRPC services on (port 0 = any)");
  flags.String("data-dir", &data_dir, "./data/coordinator",
               "directory of the coordinator's metadata store (created if missing)");
  flags.Int("session-timeout-ms", &session_timeout_ms, 6000,
            "a broker not heard from for this long is fenced");
  flags.Int("leader-balance-interval-ms", &leader_balance_interval_ms, 5000,
            "how often leadership moves back to preferred replicas that are live and in sync");
  flags.String("log-level", &log_level, "info", "minimum log level: debug, info, warn, error");
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

  auto store = runnel::coordinator::store::RocksDBStore::Open(data_dir);
  if (!store.ok()) Fatal(store.status());
  runnel::coordinator::CoordinatorOptions options;
  options.session_timeout = absl::Milliseconds(session_timeout_ms);
  options.leader_balance_interval = absl::Milliseconds(leader_balance_interval_ms);
  auto coordinator = runnel::coordinator::Coordinator::Open(store->get(), options);
  if (!coordinator.ok()) Fatal(coordinator.status());

  runnel::coordinator::ServerOptions server_options;
  server_options.listen_address = listen;
  auto server = runnel::coordinator::CoordinatorServer::Start(coordinator->get(), server_options);
  if (!server.ok()) Fatal(server.status());
  RLOG(INFO) << "listening" << runnel::Kv("addr", (*server)->address())
             << runnel::Kv("cluster_id", (*coordinator)->cluster_id())
             << runnel::Kv("metadata_version", (*coordinator)->metadata_version())
             << runnel::Kv("data_dir", data_dir)
             << runnel::Kv("session_timeout_ms", session_timeout_ms)
             << runnel::Kv("leader_balance_interval_ms", leader_balance_interval_ms);

  int sig = runnel::WaitForShutdownSignal();
  RLOG(INFO) << "shutting down" << runnel::Kv("signal", sig);
  (*server)->Shutdown(absl::Seconds(5));
  server->reset();
  coordinator->reset();
  RLOG(INFO) << "stopped";
  return 0;
}
