// runnel-broker: stores partitions and serves produce, fetch and admin calls.
// See `runnel-broker --help` and docs/architecture.md.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker/cluster/coordinator_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/replica_fetcher.h"
#include "broker/replication/replica_manager.h"
#include "broker/server/broker_metrics.h"
#include "broker/server/broker_service.h"
#include "broker/storage/log.h"
#include "broker/storage/log_cleaner.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/metrics/grpc_metrics.h"
#include "common/metrics/http_server.h"
#include "common/metrics/metrics.h"
#include "common/server_main.h"

namespace {

struct BrokerFlags {
  int64_t id;
  std::string listen;
  std::string advertised_address;
  std::string coordinator;
  std::string data_dir;
  std::string rack;
  int64_t heartbeat_interval_ms;
  int64_t replica_lag_time_max_ms;
  bool sync_writes;
  int64_t wal_bytes;
  int64_t max_grpc_message_bytes;
  int64_t log_cleaner_interval_ms;
  int64_t log_cleaner_map_bytes;
  std::string log_level;
  std::string metrics_listen;
  int64_t shutdown_timeout_ms;
};

// The host part of "host:port" (brackets kept for IPv6 literals).
std::string HostOf(absl::string_view address) {
  size_t colon = address.rfind(':');
  return std::string(colon == absl::string_view::npos ? address : address.substr(0, colon));
}

int Run(const BrokerFlags& f) {
  runnel::BlockShutdownSignals();
  // Declared first: it outlives everything that records into it.
  runnel::metrics::Registry metrics;
  const std::string data_dir =
      f.data_dir.empty() ? absl::StrCat("./data/broker-", f.id) : f.data_dir;
  runnel::storage::StorageOptions storage_options;
  storage_options.data_dir = data_dir;
  storage_options.sync_writes = f.sync_writes;
  storage_options.wal_bytes = static_cast<uint64_t>(f.wal_bytes);
  auto logs = runnel::storage::LogManager::Open(storage_options);
  if (!logs.ok()) {
    std::cerr << "runnel-broker: cannot open data dir " << data_dir << ": "
              << logs.status().message() << "\n";
    return 1;
  }
  // Non-zero after a crash: the writes the write-ahead ring gave back.
  RLOG(INFO) << "log store open" << runnel::Kv("data_dir", data_dir)
             << runnel::Kv("replayed_wal_records", (*logs)->replayed_wal_records());

  runnel::cluster::MetadataCache metadata;
  runnel::cluster::CoordinatorLinkOptions link_options;
  link_options.coordinator_address = f.coordinator;
  link_options.broker_id = static_cast<int32_t>(f.id);
  link_options.rack = f.rack;
  link_options.heartbeat_interval = absl::Milliseconds(f.heartbeat_interval_ms);
  // gRPC health turns SERVING once the broker is registered (and back to
  // NOT_SERVING for good when shutdown starts).
  grpc::Server* server_ptr = nullptr;
  link_options.on_ready = [&server_ptr] {
    if (grpc::HealthCheckServiceInterface* health = server_ptr->GetHealthCheckService()) {
      health->SetServingStatus(true);
    }
    RLOG(INFO) << "serving: registered with the coordinator";
  };
  // The high watermarks of the partitions it leads, for consumer-group lag.
  runnel::replication::ReplicaManager* replicas_for_heartbeat = nullptr;
  link_options.fill_heartbeat = [&replicas_for_heartbeat](
                                    runnel::v1::BrokerHeartbeatRequest* request) {
    for (runnel::v1::PartitionHighWatermark& hw : replicas_for_heartbeat->LeaderHighWatermarks()) {
      *request->add_high_watermarks() = std::move(hw);
    }
  };
  // The link calls back into the replica manager (metadata changes), and the
  // replica manager into the link (sessions, AlterPartition): the link is
  // built first and started last, once everything it calls exists.
  runnel::replication::ReplicaManager* replicas_ptr = nullptr;
  runnel::cluster::CoordinatorLink link(
      link_options, &metadata,
      [&replicas_ptr](std::shared_ptr<const runnel::cluster::MetadataSnapshot> snap) {
        replicas_ptr->ApplyMetadata(*snap);
      });

  runnel::replication::ReplicaFetcherManager* fetchers_ptr = nullptr;
  runnel::replication::ReplicaManagerOptions replica_options;
  replica_options.broker_id = static_cast<int32_t>(f.id);
  replica_options.replica_lag_time_max = absl::Milliseconds(f.replica_lag_time_max_ms);
  replica_options.metrics = &metrics;
  runnel::replication::ClusterHooks hooks;
  hooks.session_valid = [&link] { return link.SessionValid(); };
  hooks.alter_partition = [&link](runnel::v1::AlterPartitionRequest req) {
    return link.AlterPartition(std::move(req));
  };
  hooks.refresh_metadata = [&link] { return link.RefreshNow(); };
  hooks.on_follow_change = [&fetchers_ptr](const runnel::replication::FollowSet& follow) {
    if (fetchers_ptr != nullptr) fetchers_ptr->Update(follow);
  };
  runnel::replication::ReplicaManager replicas(replica_options, logs->get(), &metadata, hooks);
  replicas_ptr = &replicas;
  replicas_for_heartbeat = &replicas;

  runnel::replication::ReplicaFetcherOptions fetcher_options;
  fetcher_options.broker_id = static_cast<int32_t>(f.id);
  fetcher_options.broker_epoch = [&link] { return link.broker_epoch(); };
  fetcher_options.max_grpc_message_bytes = static_cast<int32_t>(f.max_grpc_message_bytes);
  runnel::replication::ReplicaFetcherManager fetchers(fetcher_options, &replicas);
  fetchers_ptr = &fetchers;

  // Retention and compaction. The replica manager supplies each partition's
  // topic config and high watermark, so storage stays ignorant of metadata.
  runnel::storage::LogCleanerOptions cleaner_options;
  cleaner_options.interval = absl::Milliseconds(f.log_cleaner_interval_ms);
  cleaner_options.map_memory_bytes = static_cast<size_t>(f.log_cleaner_map_bytes);
  runnel::storage::LogCleaner cleaner(
      logs->get(),
      [&replicas](const runnel::storage::PartitionId& id) { return replicas.CleanerPolicyFor(id); },
      cleaner_options);
  if (f.log_cleaner_interval_ms > 0) cleaner.Start();

  // Metrics: served before the gRPC port opens, so a bad address fails fast.
  std::unique_ptr<runnel::metrics::HttpServer> metrics_server;
  if (!f.metrics_listen.empty()) {
    runnel::server::AddBrokerMetrics(
        &replicas, logs->get(), [&link] { return link.SessionValid(); }, &metrics);
    auto started = runnel::metrics::HttpServer::Start(f.metrics_listen, &metrics);
    if (!started.ok()) {
      std::cerr << "runnel-broker: " << started.status().message() << "\n";
      return 1;
    }
    metrics_server = std::move(*started);
    RLOG(INFO) << "serving metrics" << runnel::Kv("listen", f.metrics_listen)
               << runnel::Kv("port", metrics_server->port());
  }

  runnel::server::BrokerService broker_service(&replicas, &metadata, &link);
  runnel::server::AdminForwarder admin_service(&link, absl::Seconds(30));
  runnel::server::GroupsForwarder groups_service(&link, absl::Seconds(30));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(f.listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(f.max_grpc_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(f.max_grpc_message_bytes));
  builder.RegisterService(&broker_service);
  builder.RegisterService(&admin_service);
  builder.RegisterService(&groups_service);
  if (metrics_server != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(runnel::metrics::RpcMetricsInterceptorFactory(&metrics));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "runnel-broker: cannot listen on " << f.listen << "\n";
    return 1;
  }
  if (grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService()) {
    health->SetServingStatus(false);  // until registered
  }
  server_ptr = server.get();
  const std::string bound = absl::StrCat(HostOf(f.listen), ":", port);
  const std::string advertised = f.advertised_address.empty() ? bound : f.advertised_address;
  link.Start(advertised);
  replicas.StartIsrMaintenance();
  RLOG(INFO) << "runnel-broker listening" << runnel::Kv("id", f.id) << runnel::Kv("addr", bound)
             << runnel::Kv("advertised", advertised) << runnel::Kv("coordinator", f.coordinator)
             << runnel::Kv("data_dir", data_dir);

  int sig = runnel::WaitForShutdownSignal();
  runnel::ExitOnSecondSignal("runnel-broker");
  RLOG(INFO) << "shutting down" << runnel::Kv("signal", sig)
             << runnel::Kv("shutdown_timeout_ms", f.shutdown_timeout_ms);
  // Probes and load balancers stop sending new clients here first.
  if (grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService()) {
    health->Shutdown();
  }
  // Controlled shutdown, while still serving: the coordinator moves every
  // leadership to another in-sync replica, so producers and consumers move
  // on now rather than after a session timeout (docs/architecture.md,
  // "Graceful shutdown").
  if (f.shutdown_timeout_ms > 0) {
    const absl::Time started = absl::Now();
    absl::Status handed =
        link.HandOffLeadership(started + absl::Milliseconds(f.shutdown_timeout_ms));
    if (handed.ok()) {
      RLOG(INFO) << "leaderships handed off"
                 << runnel::Kv("ms", absl::ToInt64Milliseconds(absl::Now() - started));
    } else {
      RLOG(WARN) << "controlled shutdown incomplete; stopping anyway"
                 << runnel::Kv("error", handed.message());
    }
  }
  // Stop background cleaning (it interrupts a pass between batches) and
  // fetching, release long polls and acks=all waits so in-flight calls
  // finish quickly, then drain them; the log closes last.
  cleaner.Stop();
  fetchers.Stop();
  replicas.Shutdown();
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  link.Stop();
  metrics_server.reset();
  RLOG(INFO) << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (ours and
  // gRPC's) would maintain a lock graph for deadlock detection: a few percent
  // of the broker's CPU under load. Tests keep detection on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Produce requests and fetch answers are megabyte buffers allocated and
  // freed per call. glibc would serve each with a fresh mmap (or trim the
  // freed heap top) and page-fault it in again every time: a tenth of the
  // broker's CPU time. Freed memory is kept for reuse instead; peak RSS grows
  // by at most the largest burst of concurrent requests.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // But each malloc arena keeps its own freed buffers, and glibc gives the
  // many gRPC threads up to 8 arenas per core: the kept memory multiplied
  // (peak RSS 693 - 983 MiB in bench/compare_redis.sh). One arena per core
  // (at least 2) kept it at 374 - 382 MiB with no measurable loss of speed.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  BrokerFlags f;
  runnel::FlagSet flags("runnel-broker", "runnel-broker [flags]");
  flags.Int("id", &f.id, 0, "This broker's id, unique in the cluster and stable across restarts.");
  flags.String("listen", &f.listen, "127.0.0.1:9092",
               "host:port to serve clients and other brokers on (port 0 picks a free port).");
  flags.String("advertised-address", &f.advertised_address, "",
               "host:port clients should use to reach this broker; empty means the listen "
               "address with the bound port.");
  flags.String("coordinator", &f.coordinator, "127.0.0.1:9190", "host:port of the coordinator.");
  flags.String("data-dir", &f.data_dir, "",
               "Directory of this broker's RocksDB log store; empty means ./data/broker-<id>.");
  flags.String("rack", &f.rack, "", "Optional rack (failure domain) used to spread replicas.");
  flags.Int("heartbeat-interval-ms", &f.heartbeat_interval_ms, 1000,
            "Milliseconds between heartbeats to the coordinator (keep well under its session "
            "timeout).");
  flags.Int("replica-lag-time-max-ms", &f.replica_lag_time_max_ms, 10000,
            "A follower that has not caught up with the leader's log end for this long is "
            "removed from the partition's in-sync replicas (Kafka's replica.lag.time.max.ms). "
            "Keep it well above the follower fetch wait (500 ms).");
  flags.Bool("sync-writes", &f.sync_writes, false,
             "fsync the write-ahead log before acknowledging a produce. Off: an acknowledged "
             "batch is in the WAL in the OS page cache, which survives a process crash.");
  flags.Int("wal-bytes", &f.wal_bytes, int64_t{512} << 20,
            "Size of the write-ahead log, a ring file (wal.ring) in the data dir, written whole "
            "(zeros) and fixed when the data dir is created. It holds the writes RocksDB has not "
            "flushed to table files yet; at half full the broker asks RocksDB to flush early.");
  flags.Int("max-grpc-message-bytes", &f.max_grpc_message_bytes, 64 << 20,
            "Largest gRPC request or response the broker sends or accepts.");
  flags.Int("log-cleaner-interval-ms", &f.log_cleaner_interval_ms, 30000,
            "Milliseconds between passes of the log cleaner, which applies retention "
            "(retention.ms, retention.bytes) and compaction (cleanup.policy=compact) to every "
            "partition; 0 disables both.");
  flags.Int("log-cleaner-map-bytes", &f.log_cleaner_map_bytes, 64 << 20,
            "Memory for log compaction's key map (24 bytes per distinct key); a partition with "
            "more keys is compacted in several rounds.");
  flags.String("log-level", &f.log_level, "info", "Minimum log level: debug, info, warn, error.");
  flags.String("metrics-listen", &f.metrics_listen, "",
               "host:port serving Prometheus metrics on GET /metrics (port 0 picks a free port); "
               "empty: off.");
  flags.Int("shutdown-timeout-ms", &f.shutdown_timeout_ms, 15000,
            "On SIGTERM/SIGINT, how long to keep asking the coordinator to move this broker's "
            "leaderships to other in-sync replicas before stopping anyway (calls in flight then "
            "get up to 5 s more); 0 skips the hand-off.");
  runnel::ParseFlagsOrExit(flags, argc, argv);
  if (absl::Status s = runnel::SetLogLevelByName(f.log_level); !s.ok()) {
    std::cerr << "runnel-broker: " << s.message() << "\n";
    return 2;
  }
  if (f.log_cleaner_interval_ms < 0 || f.log_cleaner_map_bytes < 1024) {
    std::cerr << "runnel-broker: --log-cleaner-interval-ms must be >= 0 and "
                 "--log-cleaner-map-bytes >= 1024\n";
    return 2;
  }
  if (f.wal_bytes < (int64_t{1} << 20)) {
    std::cerr << "runnel-broker: --wal-bytes must be at least 1048576, got " << f.wal_bytes << "\n";
    return 2;
  }
  if (f.shutdown_timeout_ms < 0) {
    std::cerr << "runnel-broker: --shutdown-timeout-ms must be >= 0\n";
    return 2;
  }
  if (f.replica_lag_time_max_ms <= 0) {
    std::cerr << "runnel-broker: --replica-lag-time-max-ms must be > 0\n";
    return 2;
  }
  // Addresses are checked now, so that a typo is a usage error (exit 2)
  // rather than a failure to bind or dial later.
  absl::Status address_ok = runnel::ValidateHostPort("listen", f.listen, true);
  if (address_ok.ok()) {
    address_ok = runnel::ValidateHostPort("coordinator", f.coordinator, false);
  }
  if (address_ok.ok() && !f.advertised_address.empty()) {
    address_ok = runnel::ValidateHostPort("advertised-address", f.advertised_address, false);
  }
  if (address_ok.ok() && !f.metrics_listen.empty()) {
    address_ok = runnel::ValidateHostPort("metrics-listen", f.metrics_listen, true);
  }
  if (!address_ok.ok()) {
    std::cerr << "runnel-broker: " << address_ok.message() << "\n";
    return 2;
  }
  if (f.id < 0 || f.id > INT32_MAX) {
    std::cerr << "runnel-broker: --id must be between 0 and " << INT32_MAX << ", got " << f.id
              << "\n";
    return 2;
  }
  return Run(f);
}
