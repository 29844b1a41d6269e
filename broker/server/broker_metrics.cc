#include "broker/server/broker_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"

namespace runnel::server {
namespace {

using metrics::SampleWriter;

void CollectPartitions(const std::vector<replication::ReplicaStats>& stats, SampleWriter& w) {
  const std::vector<std::string> labels = {"topic", "partition"};
  struct PerPartition {
    const char* name;
    const char* help;
    double (*value)(const replication::ReplicaStats&);
  };
  const PerPartition gauges[] = {
      {"runnel_partition_log_start_offset", "First offset still in this replica's log.",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.log_start_offset); }},
      {"runnel_partition_log_end_offset", "Offset the next record appended here will get.",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.log_end_offset); }},
      {"runnel_partition_high_watermark",
       "High watermark as this replica knows it (consumers read below it).",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.high_watermark); }},
      {"runnel_partition_size_bytes", "Bytes of the record batches stored in this replica.",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.size_bytes); }},
      {"runnel_partition_leader", "1 while this broker leads the partition, else 0.",
       [](const replication::ReplicaStats& s) { return s.leader ? 1.0 : 0.0; }},
      {"runnel_partition_in_sync_replicas", "Size of the partition's ISR as this replica knows it.",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.isr); }},
      {"runnel_partition_replicas", "Replicas of the partition.",
       [](const replication::ReplicaStats& s) { return static_cast<double>(s.replicas); }},
  };
  for (const PerPartition& g : gauges) {
    w.Begin(g.name, g.help, "gauge");
    for (const replication::ReplicaStats& s : stats) {
      w.Sample(g.name, labels, {s.topic, std::to_string(s.partition)}, g.value(s));
    }
  }
  int led = 0, under_replicated = 0, offline = 0;
  for (const replication::ReplicaStats& s : stats) {
    led += s.leader;
    under_replicated += s.leader && s.isr < s.replicas;
    offline += s.offline;
  }
  w.Single("runnel_broker_partitions", "Partition replicas hosted by this broker.", "gauge",
           static_cast<double>(stats.size()));
  w.Single("runnel_broker_leader_partitions", "Partitions this broker leads.", "gauge", led);
  w.Single("runnel_broker_under_replicated_partitions",
           "Partitions this broker leads whose ISR is smaller than their replica set.", "gauge",
           under_replicated);
  w.Single("runnel_broker_offline_partitions",
           "Partitions hosted here that have no leader (per this broker's metadata).", "gauge",
           offline);
}

// RocksDB properties of the log store exported as gauges: (property, metric,
// help).
struct RocksDbGauge {
  const char* property;
  const char* name;
  const char* help;
};
constexpr RocksDbGauge kRocksDbGauges[] = {
    {"rocksdb.estimate-live-data-size", "runnel_rocksdb_live_data_bytes",
     "Estimated bytes of live data in SST files."},
    {"rocksdb.total-sst-files-size", "runnel_rocksdb_sst_files_bytes",
     "Bytes of all SST files, including obsolete ones not yet deleted."},
    {"rocksdb.cur-size-all-mem-tables", "runnel_rocksdb_memtable_bytes",
     "Bytes in active and unflushed immutable memtables."},
    {"rocksdb.num-immutable-mem-table", "runnel_rocksdb_immutable_memtables",
     "Immutable memtables waiting to be flushed."},
    {"rocksdb.estimate-pending-compaction-bytes", "runnel_rocksdb_pending_compaction_bytes",
     "Estimated bytes compaction must rewrite to settle the LSM tree."},
    {"rocksdb.num-running-compactions", "runnel_rocksdb_running_compactions",
     "Compactions running now."},
    {"rocksdb.num-running-flushes", "runnel_rocksdb_running_flushes", "Flushes running now."},
    {"rocksdb.actual-delayed-write-rate", "runnel_rocksdb_delayed_write_rate_bytes",
     "Write rate RocksDB slows writes down to (bytes per second); 0 when not delaying."},
    {"rocksdb.is-write-stopped", "runnel_rocksdb_write_stopped",
     "1 while RocksDB stops writes (too many memtables, L0 files or pending compaction)."},
    {"rocksdb.block-cache-usage", "runnel_rocksdb_block_cache_usage_bytes",
     "Bytes in the block cache."},
    {"rocksdb.estimate-num-keys", "runnel_rocksdb_estimated_keys",
     "Estimated keys (stored batches) in the log store."},
    {"rocksdb.background-errors", "runnel_rocksdb_background_errors",
     "Background errors (failed flushes or compactions) since the store opened."},
};

void CollectRocksDb(const storage::LogManager& logs, SampleWriter& w) {
  for (const RocksDbGauge& g : kRocksDbGauges) {
    std::optional<std::string> value = logs.LogProperty(g.property);
    double v = 0;
    if (!value.has_value() || !absl::SimpleAtod(*value, &v)) continue;
    w.Single(g.name, g.help, "gauge", v);
  }
}

}  // namespace

void AddBrokerMetrics(const replication::ReplicaManager* replicas, const storage::LogManager* logs,
                      std::function<bool()> session_valid, metrics::Registry* registry) {
  registry->AddCollector(
      [replicas, logs, session_valid = std::move(session_valid)](SampleWriter& w) {
        CollectPartitions(replicas->Stats(), w);
        if (session_valid) {
          w.Single("runnel_broker_session_valid",
                   "1 while the broker holds a valid coordinator session (it may lead), else 0.",
                   "gauge", session_valid() ? 1 : 0);
        }
        CollectRocksDb(*logs, w);
      });
}

}  // namespace runnel::server
