#include "client/perf/perf.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::perf {
namespace {

using client::testing::FakeCluster;

absl::StatusOr<Command> Parse(std::vector<std::string> args) { return ParseCommand(args); }

TEST(ParseCommandTest, Produce) {
  absl::StatusOr<Command> c =
      Parse({"produce", "--topic=t", "--records=1000", "--record-size=1024", "--linger-ms=0",
             "--batch-bytes=65536", "--acks=1", "--compression=zstd", "--throughput=500",
             "--bootstrap=127.0.0.1:1234"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->kind, Command::Kind::kProduce);
  EXPECT_EQ(c->produce.topic, "t");
  EXPECT_EQ(c->produce.records, 1000);
  EXPECT_EQ(c->produce.record_size, 1024);
  EXPECT_EQ(c->produce.throughput, 500);
  EXPECT_EQ(c->produce.producer.linger, absl::ZeroDuration());
  EXPECT_EQ(c->produce.producer.batch_bytes, 65536u);
  EXPECT_EQ(c->produce.producer.acks, runnel::v1::ACKS_LEADER);
  EXPECT_EQ(c->produce.producer.compression, runnel::batch::Compression::kZstd);
  EXPECT_EQ(c->produce.producer.client.bootstrap, "127.0.0.1:1234");
}

TEST(ParseCommandTest, Consume) {
  absl::StatusOr<Command> c = Parse({"consume", "--topic", "t", "--records=5", "--timeout-ms=100"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->kind, Command::Kind::kConsume);
  EXPECT_EQ(c->consume.records, 5);
  EXPECT_EQ(c->consume.timeout, absl::Milliseconds(100));
  EXPECT_TRUE(c->consume.consumer.stream_fetches);  // the consumer's default
  c = Parse({"consume", "--topic=t", "--records=5", "--fetch-streams=false"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->consume.consumer.stream_fetches);
}

TEST(ParseCommandTest, Help) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"--help"}, {"produce", "--help"}, {"consume", "-h"}}) {
    absl::StatusOr<Command> c = Parse(args);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->kind, Command::Kind::kHelp);
    EXPECT_NE(c->help.find("runnel-perf"), std::string::npos);
  }
}

TEST(ParseCommandTest, BadUsageIsOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"bench"}, "unknown command 'bench': expected produce or consume"},
      {{"produce", "--records=1"}, "--topic is required"},
      {{"produce", "--topic=t"}, "--records must be positive, got 0"},
      {{"produce", "--topic=t", "--records=1", "--acks=2"},
       "invalid --acks '2': expected all, 1 or 0"},
      {{"produce", "--topic=t", "--records=1", "--compression=gzip"},
       "invalid --compression 'gzip': expected none, lz4 or zstd"},
      {{"produce", "--topic=t", "--records=1", "--record-size=0"},
       "--record-size must be positive, got 0"},
      {{"produce", "--topic=t", "--records=1", "--throughput=0"},
       "--throughput must be positive or -1 (unlimited), got 0"},
      {{"produce", "--topic=t", "--records=1", "--linger-ms=-1"}, "--linger-ms must be >= 0, got -1"},
      {{"consume", "--topic=t", "--records=1", "extra"}, "unexpected argument 'extra'"},
      {{"consume", "--topic=t", "--records=1", "--record-size=5"}, "record-size"},
  };
  for (const auto& [args, message] : cases) {
    absl::StatusOr<Command> c = Parse(args);
    ASSERT_FALSE(c.ok()) << args[0];
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(message), absl::string_view::npos) << c.status();
    EXPECT_EQ(c.status().message().find('\n'), absl::string_view::npos);
  }
}

TEST(SummaryTest, Shapes) {
  LatencyHistogram latency;
  for (int i = 0; i < 1000; ++i) latency.Record(2100);
  EXPECT_EQ(ProduceSummary(1000000, 100000000, absl::Milliseconds(800), latency),
            "1000000 records, 1250000 records/s, 125.0 MB/s, latency p50 2.1 ms p99 2.1 ms "
            "p999 2.1 ms");
  EXPECT_EQ(ConsumeSummary(1000, 100000, absl::Milliseconds(500)),
            "1000 records, 2000 records/s, 0.2 MB/s");
}

TEST(RunTest, ProduceThenConsumeAgainstAFakeCluster) {
  FakeCluster cluster(2);
  cluster.CreateTopic("perf", 3);
  ProduceConfig produce;
  produce.topic = "perf";
  produce.records = 2000;
  produce.record_size = 50;
  produce.producer.client = cluster.Options();
  std::ostringstream out, err;
  ASSERT_EQ(RunProduce(produce, out, err), 0) << err.str();
  EXPECT_EQ(out.str().rfind("2000 records, ", 0), 0u) << out.str();
  EXPECT_NE(out.str().find(" MB/s, latency p50 "), std::string::npos) << out.str();
  int64_t stored = 0;
  for (int p = 0; p < 3; ++p) stored += cluster.HighWatermark("perf", p);
  EXPECT_EQ(stored, 2000);

  ConsumeConfig consume;
  consume.topic = "perf";
  consume.records = 2000;
  consume.consumer.client = cluster.Options();
  std::ostringstream cout, cerr;
  ASSERT_EQ(RunConsume(consume, cout, cerr), 0) << cerr.str();
  EXPECT_EQ(cout.str().rfind("2000 records, ", 0), 0u) << cout.str();
}

TEST(RunTest, ConsumeReportsMissingRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("perf", 1);
  cluster.Append("perf", 0, {"a", "b"});
  ConsumeConfig consume;
  consume.topic = "perf";
  consume.records = 5;
  consume.timeout = absl::Milliseconds(200);
  consume.consumer.client = cluster.Options();
  std::ostringstream out, err;
  EXPECT_EQ(RunConsume(consume, out, err), 1);
  EXPECT_EQ(out.str().rfind("2 records, ", 0), 0u) << out.str();
  EXPECT_NE(err.str().find("only 2 of 5 records arrived"), std::string::npos) << err.str();
}

TEST(RunTest, UnknownTopicFails) {
  FakeCluster cluster(1);
  ProduceConfig produce;
  produce.topic = "nope";
  produce.records = 1;
  produce.producer.client = cluster.Options();
  std::ostringstream out, err;
  EXPECT_EQ(RunProduce(produce, out, err), 1);
  EXPECT_EQ(err.str(), "runnel-perf: topic 'nope' not found\n");
}

}  // namespace
}  // namespace runnel::perf
