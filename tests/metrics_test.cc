// Prometheus metrics and gRPC health of real processes: a coordinator and a
// broker started with --metrics-listen on free ports are scraped over HTTP
// before and after traffic. Bytes and records in and out of the partition
// move by at least what was produced and fetched, RPC latency histograms
// count the calls, the partition's offsets and RocksDB gauges are there, and
// the coordinator exports a consumer group's lag (the leader's high
// watermark minus the committed offset) that follows new records, and
// docs/metrics.md lists every metric exported.
// Raw gRPC stubs, so that exactly known bytes and records are sent.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

using Samples = std::map<std::string, double>;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return context;
}

// The body of GET /metrics.
std::string ScrapeText(int port) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) {
    ADD_FAILURE() << "scraping port " << port << " failed";
    return "";
  }
  return res->body;
}

// GET /metrics, parsed into series ("name{labels}") -> value.
Samples Scrape(int port) {
  Samples samples;
  for (absl::string_view line : absl::StrSplit(ScrapeText(port), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    EXPECT_NE(space, absl::string_view::npos) << line;
    if (space == absl::string_view::npos) continue;
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &value)) << line;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// The names of the metrics a server exports (its "# TYPE" lines).
std::set<std::string> MetricNames(int port) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(ScrapeText(port), '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    names.insert(std::string(line.substr(0, line.find(' '))));
  }
  return names;
}

// A series' value; 0 when absent (a counter not yet created).
double Get(const Samples& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status s = stub->Check(Context().get(), grpc::health::v1::HealthCheckRequest(), &response);
  EXPECT_TRUE(s.ok()) << address << ": " << s.error_message();
  return response.status();
}

std::string Batch(int records) {
  batch::BatchBuilder b;
  for (int i = 0; i < records; ++i) b.Append(1000 + i, absl::StrCat("k", i), std::string(100, 'v'));
  return *b.Build();
}

// Produces one batch of `records` records to metered-0 (acks=all), retrying
// while the broker has not learnt of the topic yet; returns the batch size.
size_t Produce(v1::Broker::Stub& broker, int records) {
  const std::string batch = Batch(records);
  v1::ProduceRequest request;
  request.set_acks(v1::ACKS_ALL);
  v1::ProducePartitionData* data = request.add_partitions();
  data->set_topic("metered");
  data->set_partition(0);
  data->set_records(batch);
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);;) {
    v1::ProduceResponse response;
    grpc::Status s = broker.Produce(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return 0;
    if (response.partitions(0).error_code() == v1::ERROR_CODE_NONE) return batch.size();
    if (absl::Now() > deadline) {
      ADD_FAILURE() << response.partitions(0).error_message();
      return 0;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

TEST(MetricsTest, CountersMoveWithTrafficAndGroupLagIsExported) {
  TestClusterOptions options;
  options.metrics = true;
  TestCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  const int broker_port = cluster.broker_metrics_port(0);
  const int coordinator_port = cluster.coordinator_metrics_port();
  EXPECT_EQ(Health(cluster.broker_address(0)), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(cluster.coordinator_address()), grpc::health::v1::HealthCheckResponse::SERVING);

  auto channel = grpc::CreateChannel(cluster.bootstrap(), grpc::InsecureChannelCredentials());
  auto admin = v1::Admin::NewStub(channel);
  auto broker = v1::Broker::NewStub(channel);
  auto groups = v1::Groups::NewStub(channel);
  v1::CreateTopicRequest create;
  create.set_name("metered");
  create.set_partitions(1);
  v1::CreateTopicResponse created;
  ASSERT_TRUE(admin->CreateTopic(Context().get(), create, &created).ok());

  const Samples before = Scrape(broker_port);
  const size_t bytes_in = Produce(*broker, 100);
  ASSERT_GT(bytes_in, 0u);
  // Fetch everything back as a consumer.
  v1::FetchRequest fetch;
  v1::FetchPartition* fp = fetch.add_partitions();
  fp->set_topic("metered");
  fp->set_partition(0);
  fp->set_fetch_offset(0);
  v1::FetchResponse fetched;
  ASSERT_TRUE(broker->Fetch(Context().get(), fetch, &fetched).ok());
  ASSERT_EQ(fetched.partitions(0).error_code(), v1::ERROR_CODE_NONE)
      << fetched.partitions(0).error_message();
  const size_t bytes_out = fetched.partitions(0).records().size();
  ASSERT_GT(bytes_out, 0u);

  const Samples after = Scrape(broker_port);
  const std::string p = "topic=\"metered\",partition=\"0\"";
  auto delta = [&](const std::string& series) { return Get(after, series) - Get(before, series); };
  EXPECT_GE(delta("runnel_partition_bytes_in_total{" + p + "}"), bytes_in);
  EXPECT_GE(delta("runnel_partition_records_in_total{" + p + "}"), 100);
  EXPECT_GE(delta("runnel_partition_bytes_out_total{" + p + ",reader=\"consumer\"}"), bytes_out);
  EXPECT_GE(delta("runnel_partition_records_out_total{" + p + ",reader=\"consumer\"}"), 100);
  EXPECT_EQ(Get(after, "runnel_partition_log_end_offset{" + p + "}"), 100);
  EXPECT_EQ(Get(after, "runnel_partition_high_watermark{" + p + "}"), 100);
  EXPECT_EQ(Get(after, "runnel_partition_leader{" + p + "}"), 1);
  EXPECT_EQ(Get(after, "runnel_broker_session_valid"), 1);
  EXPECT_EQ(after.count("runnel_rocksdb_memtable_bytes"), 1u);
  for (const char* method : {"/runnel.v1.Broker/Produce", "/runnel.v1.Broker/Fetch"}) {
    const std::string m = absl::StrCat("{method=\"", method, "\"}");
    EXPECT_GE(delta("runnel_rpc_duration_seconds_count" + m), 1) << method;
    EXPECT_GE(delta(absl::StrCat("runnel_rpc_duration_seconds_bucket{method=\"", method,
                                 "\",le=\"+Inf\"}")),
              1)
        << method;
    EXPECT_GE(delta(absl::StrCat("runnel_rpcs_total{method=\"", method, "\",code=\"OK\"}")), 1)
        << method;
  }

  // The coordinator: membership, partitions, RPCs from the broker (the
  // CreateTopic it forwarded).
  Samples coordinator = Scrape(coordinator_port);
  EXPECT_EQ(Get(coordinator, "runnel_coordinator_brokers{state=\"alive\"}"), 1);
  EXPECT_EQ(Get(coordinator, "runnel_coordinator_partitions"), 1);
  EXPECT_EQ(Get(coordinator, "runnel_coordinator_offline_partitions"), 0);
  EXPECT_EQ(Get(coordinator,
                "runnel_rpcs_total{method=\"/runnel.v1.Coordinator/"
                "RegisterBroker\",code=\"OK\"}"),
            1);
  EXPECT_GE(Get(coordinator,
                "runnel_rpc_duration_seconds_count{method=\"/runnel.v1.Admin/"
                "CreateTopic\"}"),
            1);

  // A group commits offset 30 of 100: lag 70, then 80 after 10 more records.
  v1::GroupHeartbeatRequest join;
  join.set_group_id("lagging");
  join.set_client_id("metrics-test");
  join.add_subscribed_topics("metered");
  v1::GroupHeartbeatResponse joined;
  grpc::Status s = groups->GroupHeartbeat(Context().get(), join, &joined);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(joined.error_code(), v1::ERROR_CODE_NONE) << joined.error_message();
  v1::CommitOffsetsRequest commit;
  commit.set_group_id("lagging");
  commit.set_member_id(joined.member_id());
  commit.set_generation(joined.generation());
  v1::PartitionOffset* offset = commit.add_offsets();
  offset->set_topic("metered");
  offset->set_partition(0);
  offset->set_offset(30);
  v1::CommitOffsetsResponse committed;
  ASSERT_TRUE(groups->CommitOffsets(Context().get(), commit, &committed).ok());
  ASSERT_EQ(committed.results(0).error_code(), v1::ERROR_CODE_NONE)
      << committed.results(0).error_message();
  const std::string lag = "runnel_group_lag{group=\"lagging\"," + p + "}";
  // The broker reports its high watermark in its next heartbeat (200 ms).
  auto wait_for_lag = [&](double expected) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(100))) {
      coordinator = Scrape(coordinator_port);
      if (Get(coordinator, lag) == expected) return true;
    }
    return false;
  };
  EXPECT_TRUE(wait_for_lag(70)) << lag << " = " << Get(coordinator, lag);
  EXPECT_EQ(Get(coordinator, "runnel_group_lag_sum{group=\"lagging\"}"), 70);
  EXPECT_EQ(Get(coordinator, "runnel_group_committed_offset{group=\"lagging\"," + p + "}"), 30);
  EXPECT_EQ(Get(coordinator, "runnel_group_members{group=\"lagging\"}"), 1);
  ASSERT_GT(Produce(*broker, 10), 0u);
  EXPECT_TRUE(wait_for_lag(80)) << lag << " = " << Get(coordinator, lag);

  // docs/metrics.md lists every metric either server exports.
  std::ifstream doc_file(BinaryPath("docs/metrics.md"));
  ASSERT_TRUE(doc_file.good());
  std::stringstream doc;
  doc << doc_file.rdbuf();
  std::set<std::string> names = MetricNames(broker_port);
  const std::set<std::string> more = MetricNames(coordinator_port);
  names.insert(more.begin(), more.end());
  EXPECT_GT(names.size(), 40u);
  for (const std::string& name : names) {
    EXPECT_NE(doc.str().find("`" + name + "`"), std::string::npos)
        << name << " is not listed in docs/metrics.md";
  }
}

}  // namespace
}  // namespace runnel::testing
