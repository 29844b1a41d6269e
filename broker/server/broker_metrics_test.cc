#include "broker/server/broker_metrics.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"

namespace runnel::server {
namespace {

bool HasLine(const std::string& rendered, const std::string& line) {
  return rendered.find("\n" + line + "\n") != std::string::npos;
}

// Whether `rendered` has a sample of `name` (without labels), any value.
bool HasGauge(const std::string& rendered, const std::string& name) {
  return rendered.find("\n" + name + " ") != std::string::npos;
}

TEST(BrokerMetricsTest, ExportsPartitionStateBrokerCountsAndRocksDb) {
  storage::StorageOptions so;
  so.data_dir = MakeTempDir("bm");
  so.wal_bytes = 8 << 20;  // small: a new store writes its ring whole
  auto logs = storage::LogManager::Open(so);
  ASSERT_TRUE(logs.ok()) << logs.status();
  cluster::MetadataCache cache;
  metrics::Registry registry;
  replication::ReplicaManagerOptions options;
  options.broker_id = 1;
  options.metrics = &registry;
  auto replicas = std::make_unique<replication::ReplicaManager>(options, logs->get(), &cache);
  bool session = true;
  AddBrokerMetrics(
      replicas.get(), logs->get(), [&session] { return session; }, &registry);

  // Partition 0 led here with ISR [1] of replicas [1,2]; partition 1 offline.
  runnel::v1::ClusterMetadata md;
  md.set_version(1);
  runnel::v1::TopicInfo* t = md.add_topics();
  t->set_name("orders");
  t->set_topic_id(7);
  for (int32_t p = 0; p < 2; ++p) {
    runnel::v1::PartitionInfo* info = t->add_partitions();
    info->set_partition(p);
    info->set_leader(p == 0 ? 1 : -1);
    info->add_replicas(1);
    info->add_replicas(2);
    info->add_isr(1);
  }
  ASSERT_TRUE(cache.Update(md));
  replicas->ApplyMetadata(*cache.Snapshot());
  batch::BatchBuilder b;
  for (int i = 0; i < 4; ++i) b.Append(1000 + i, "k", "value");
  runnel::v1::ProduceRequest produce;
  produce.set_acks(runnel::v1::ACKS_LEADER);
  runnel::v1::ProducePartitionData* data = produce.add_partitions();
  data->set_topic("orders");
  data->set_partition(0);
  data->set_records(*b.Build());
  runnel::v1::ProduceResponse produced;
  ASSERT_TRUE(replicas->Produce(produce, &produced).ok());
  ASSERT_EQ(produced.partitions(0).error_code(), runnel::v1::ERROR_CODE_NONE)
      << produced.partitions(0).error_message();

  std::string out = registry.Render();
  const std::string p0 = "{topic=\"orders\",partition=\"0\"}";
  EXPECT_TRUE(HasLine(out, "runnel_partition_log_end_offset" + p0 + " 4")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_log_start_offset" + p0 + " 0")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_leader" + p0 + " 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_in_sync_replicas" + p0 + " 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_leader{topic=\"orders\",partition=\"1\"} 0")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_broker_partitions 2")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_broker_leader_partitions 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_broker_under_replicated_partitions 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_broker_offline_partitions 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_broker_session_valid 1")) << out;
  for (const char* name :
       {"runnel_rocksdb_memtable_bytes", "runnel_rocksdb_running_compactions",
        "runnel_rocksdb_write_stopped", "runnel_rocksdb_block_cache_usage_bytes",
        "runnel_rocksdb_pending_compaction_bytes", "runnel_rocksdb_live_data_bytes"}) {
    EXPECT_TRUE(HasGauge(out, name)) << name << "\n" << out;
  }
  session = false;
  EXPECT_TRUE(HasLine(registry.Render(), "runnel_broker_session_valid 0"));
  replicas.reset();
}

}  // namespace
}  // namespace runnel::server
