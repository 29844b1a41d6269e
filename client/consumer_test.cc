#include "client/consumer.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "client/producer.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;
namespace v1 = runnel::v1;

// Every test runs twice: reading through fetch streams (the default) and
// through Fetch calls (the fallback for brokers without FetchStream).
bool stream_fetches = true;

class ConsumerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { stream_fetches = GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(FetchModes, ConsumerTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Streams" : "FetchCalls";
                         });

ConsumerOptions Options(const FakeCluster& cluster) {
  ConsumerOptions o;
  o.client = cluster.Options();
  o.fetch_max_wait = absl::Milliseconds(50);
  o.stream_fetches = stream_fetches;
  return o;
}

std::vector<std::string> Values(const std::vector<ConsumerRecord>& records) {
  std::vector<std::string> out;
  for (const ConsumerRecord& r : records) out.push_back(r.value.value_or("<null>"));
  return out;
}

// Polls until `n` records arrived or 5 s passed.
std::vector<ConsumerRecord> PollN(Consumer& consumer, size_t n) {
  std::vector<ConsumerRecord> all;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (all.size() < n && absl::Now() < deadline) {
    absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(100));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) break;
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

TEST_P(ConsumerTest, ReadsFromEarliestAcrossPartitionsAndLeaders) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"a0", "a1"});
  cluster.Append("t", 0, {"a2"});
  cluster.Append("t", 1, {"b0"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(
      consumer.Assign({{"t", 0, StartOffset::Earliest()}, {"t", 1, StartOffset::Earliest()}}).ok());
  std::vector<ConsumerRecord> records = PollN(consumer, 4);
  std::vector<std::string> p0, p1;
  for (const ConsumerRecord& r : records) {
    EXPECT_EQ(r.topic, "t");
    (r.partition == 0 ? p0 : p1).push_back(*r.value);
  }
  EXPECT_EQ(p0, (std::vector<std::string>{"a0", "a1", "a2"}));
  EXPECT_EQ(p1, (std::vector<std::string>{"b0"}));
  EXPECT_EQ(*consumer.Position({"t", 0}), 3);
  EXPECT_EQ(*consumer.Position({"t", 1}), 1);
  EXPECT_EQ(*consumer.HighWatermark({"t", 0}), 3);
}

TEST_P(ConsumerTest, LatestStartSeesOnlyNewRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"old"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Latest()}}).ok());
  EXPECT_EQ(*consumer.Position({"t", 0}), 1);
  absl::StatusOr<std::vector<ConsumerRecord>> none = consumer.Poll(absl::Milliseconds(20));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  cluster.Append("t", 0, {"new"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"new"}));
}

TEST_P(ConsumerTest, OffsetInsideABatchSkipsItsEarlierRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"r0", "r1", "r2", "r3"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::At(2)}}).ok());
  std::vector<ConsumerRecord> records = PollN(consumer, 2);
  EXPECT_EQ(Values(records), (std::vector<std::string>{"r2", "r3"}));
  EXPECT_EQ(records[0].offset, 2);
}

TEST_P(ConsumerTest, OffsetOutOfRangeCarriesTheBrokersMessage) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b", "c"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::At(100)}}).ok());
  absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Seconds(1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(got.status().message(), "offset 100 is out of range for t-0: valid offsets are 0 to 3");
  ASSERT_TRUE(consumer.Seek({"t", 0}, 1).ok());
  EXPECT_EQ(Values(PollN(consumer, 2)), (std::vector<std::string>{"b", "c"}));
}

TEST_P(ConsumerTest, AssignChecksTopicsAndPartitions) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 3);
  Consumer consumer(Options(cluster));
  absl::Status s = consumer.Assign({{"nope", 0, StartOffset::Earliest()}});
  EXPECT_EQ(s.message(), "topic 'nope' not found");
  s = consumer.Assign({{"t", 3, StartOffset::Earliest()}});
  EXPECT_EQ(s.message(), "partition 3 out of range for topic 't' (3 partitions: 0-2)");
  s = consumer.Assign({{"t", 0, StartOffset::At(1)}, {"t", 0, StartOffset::At(2)}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = consumer.Assign({{"t", 0, StartOffset::At(-4)}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(consumer.assignment().empty());
  EXPECT_EQ(consumer.Poll(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(ConsumerTest, ListOffsetsRetriesAPartitionTheBrokerDoesNotKnowYet) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.InjectError(FakeCluster::Rpc::kListOffsets, "t", 0,
                      v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION, "not yet", 3);
  Consumer consumer(Options(cluster));
  EXPECT_TRUE(consumer.Assign({{"t", 0, StartOffset::Latest()}}).ok());
}

TEST_P(ConsumerTest, FollowsALeaderMove) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"a"}));
  cluster.SetLeader("t", 0, 2);
  cluster.Append("t", 0, {"b"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"b"}));
}

TEST_P(ConsumerTest, RidesOutABriefBrokerOutage) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  cluster.SetBrokerDown(1, true);
  absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(20));
  ASSERT_TRUE(got.ok()) << got.status();
  cluster.SetBrokerDown(1, false);
  cluster.Append("t", 0, {"x"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"x"}));
}

TEST_P(ConsumerTest, ShortPollsDoNotRetryFasterThanTheBackoff) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions options = Options(cluster);
  options.client.retry_backoff = absl::Milliseconds(40);
  options.client.retry_backoff_max = absl::Milliseconds(40);
  options.client.max_retries = 8;  // 8 backoffs: 320 ms
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  cluster.SetBrokerDown(1, true);
  const absl::Time until = absl::Now() + absl::Milliseconds(150);
  while (absl::Now() < until) {
    absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(1));
    ASSERT_TRUE(got.ok()) << got.status();
  }
  cluster.SetBrokerDown(1, false);
  cluster.Append("t", 0, {"x"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"x"}));
}

TEST_P(ConsumerTest, PersistentRetriableErrorsSurfaceAfterMaxRetries) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions options = Options(cluster);
  options.client.max_retries = 2;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  cluster.InjectError(FakeCluster::Rpc::kFetch, "t", 0, v1::ERROR_CODE_NOT_ENOUGH_REPLICAS,
                      "isr shrank", 100);
  absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Seconds(5));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("isr shrank"), absl::string_view::npos) << got.status();
}

TEST_P(ConsumerTest, AnErrorNeverCostsRecordsAlreadyFetched) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"kept"});
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(
      consumer.Assign({{"t", 0, StartOffset::Earliest()}, {"t", 1, StartOffset::Earliest()}}).ok());
  cluster.InjectError(FakeCluster::Rpc::kFetch, "t", 1, v1::ERROR_CODE_STORAGE_ERROR,
                      "disk on fire");
  absl::StatusOr<std::vector<ConsumerRecord>> first = consumer.Poll(absl::Seconds(1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Values(*first), (std::vector<std::string>{"kept"}));
  absl::StatusOr<std::vector<ConsumerRecord>> second = consumer.Poll(absl::Seconds(1));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(second.status().message(), "disk on fire");
}

TEST_P(ConsumerTest, LongPollReturnsAsSoonAsDataArrives) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 2);  // two leaders: one long poll gets cancelled
  ConsumerOptions options = Options(cluster);
  options.fetch_max_wait = absl::Seconds(5);
  Consumer consumer(options);
  ASSERT_TRUE(
      consumer.Assign({{"t", 0, StartOffset::Latest()}, {"t", 1, StartOffset::Latest()}}).ok());
  std::thread writer([&cluster] {
    absl::SleepFor(absl::Milliseconds(100));
    cluster.Append("t", 1, {"hello"});
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Seconds(10));
  const absl::Duration took = absl::Now() - start;
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Values(*got), (std::vector<std::string>{"hello"}));
  EXPECT_LT(took, absl::Seconds(5));  // did not sit out the other broker's long poll
}

TEST_P(ConsumerTest, ConsecutivePollsNeitherSkipNorRepeat) {
  // Each Poll that returns records prefetches the next ones; small fetches
  // make many rounds.
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  for (int b = 0; b < 50; ++b) {
    cluster.Append("t", 0, {"v" + std::to_string(2 * b), "v" + std::to_string(2 * b + 1)});
  }
  ConsumerOptions options = Options(cluster);
  options.max_partition_fetch_bytes = 1;  // one batch per fetch
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  std::vector<ConsumerRecord> records = PollN(consumer, 100);
  ASSERT_EQ(records.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(records[i].offset, i);
  EXPECT_GE(cluster.fetch_calls(), 50);
}

TEST_P(ConsumerTest, SeekDiscardsThePrefetchedRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"});
  cluster.Append("t", 0, {"c", "d"});
  ConsumerOptions options = Options(cluster);
  options.max_partition_fetch_bytes = 1;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(Values(PollN(consumer, 2)), (std::vector<std::string>{"a", "b"}));
  // The fetch of c and d may be in flight already; the seek wins.
  ASSERT_TRUE(consumer.Seek({"t", 0}, 1).ok());
  EXPECT_EQ(Values(PollN(consumer, 3)), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(*consumer.Position({"t", 0}), 4);
}

TEST_P(ConsumerTest, APrefetchOutlastingPollIsKept) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a"});
  ConsumerOptions options = Options(cluster);
  options.fetch_max_wait = absl::Seconds(2);  // the prefetch long-polls this long
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"a"}));
  // Nothing new: short polls return empty while the prefetch waits...
  absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(20));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
  // ...and new data still arrives through it.
  cluster.Append("t", 0, {"b"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"b"}));
}

TEST_P(ConsumerTest, SeeksByTimestampAndToTheEnds) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"}, /*timestamp_ms=*/1000);
  cluster.Append("t", 0, {"c"}, /*timestamp_ms=*/2000);
  Consumer consumer(Options(cluster));
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Latest()}}).ok());
  ASSERT_TRUE(consumer.SeekToTimestamp(1500).ok());
  EXPECT_EQ(*consumer.Position({"t", 0}), 2);
  ASSERT_TRUE(consumer.SeekToTimestamp(5000, {{"t", 0}}).ok());
  EXPECT_EQ(*consumer.Position({"t", 0}), 3);  // no later record: the log end
  ASSERT_TRUE(consumer.SeekToBeginning().ok());
  EXPECT_EQ(*consumer.Position({"t", 0}), 0);
  ASSERT_TRUE(consumer.SeekToEnd({{"t", 0}}).ok());
  EXPECT_EQ(*consumer.Position({"t", 0}), 3);
  EXPECT_EQ(consumer.SeekToEnd({{"t", 1}}).code(), absl::StatusCode::kNotFound);
}

TEST_P(ConsumerTest, RoundTripWithTheProducer) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 3);
  ProducerOptions producer_options;
  producer_options.client = cluster.Options();
  Producer producer(producer_options);
  for (int i = 0; i < 30; ++i) {
    ProducerRecord r;
    r.topic = "t";
    r.key = "k" + std::to_string(i);
    r.value = "v" + std::to_string(i);
    r.headers = {{"i", std::to_string(i)}};
    r.timestamp_ms = 5000 + i;
    ASSERT_TRUE(producer.Send(r).ok());
  }
  ASSERT_TRUE(producer.Flush().ok());
  Consumer consumer(Options(cluster));
  std::vector<PartitionAssignment> all;
  for (int p = 0; p < 3; ++p) all.push_back({"t", p, StartOffset::Earliest()});
  ASSERT_TRUE(consumer.Assign(all).ok());
  std::vector<ConsumerRecord> records = PollN(consumer, 30);
  ASSERT_EQ(records.size(), 30u);
  std::set<std::string> seen;
  for (const ConsumerRecord& r : records) {
    const std::string i = r.key->substr(1);
    EXPECT_EQ(*r.value, "v" + i);
    EXPECT_EQ(r.timestamp_ms, 5000 + std::stoi(i));
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].second, i);
    seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 30u);
}

// PollViews reads what Poll reads, from plain and compressed batches, and
// its views stay valid after later polls and after the consumer is gone.
TEST_P(ConsumerTest, PollViewsOwnsWhatItsViewsPointInto) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a0", "a1"});
  runnel::batch::BatchBuilder zstd(runnel::batch::Compression::kZstd);
  zstd.Append(7000, "key", "compressed", {{"h", std::string("x")}, {"n", std::nullopt}});
  zstd.Append(7001, std::nullopt, std::nullopt);
  cluster.AppendBatch("t", 0, *zstd.Build());
  std::vector<ConsumerRecords> kept;
  {
    Consumer consumer(Options(cluster));
    ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
    size_t n = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (n < 4 && absl::Now() < deadline) {
      absl::StatusOr<ConsumerRecords> got = consumer.PollViews(absl::Milliseconds(100));
      ASSERT_TRUE(got.ok()) << got.status();
      n += got->size();
      if (!got->empty()) kept.push_back(std::move(*got));
    }
    ASSERT_EQ(n, 4u);
    EXPECT_EQ(*consumer.Position({"t", 0}), 4);
  }
  std::vector<ConsumerRecord> records;
  for (const ConsumerRecords& poll : kept) {
    for (const ConsumerRecordView& v : poll) records.push_back(v.ToRecord());
  }
  ASSERT_EQ(records.size(), 4u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].topic, "t");
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
  }
  EXPECT_EQ(Values(records), (std::vector<std::string>{"a0", "a1", "compressed", "<null>"}));
  EXPECT_EQ(records[2].key, "key");
  EXPECT_EQ(records[2].timestamp_ms, 7000);
  EXPECT_EQ(records[2].headers, (Headers{{"h", std::string("x")}, {"n", std::nullopt}}));
  EXPECT_FALSE(records[3].key.has_value());
}

// --- Fetch streams in particular ---

TEST(ConsumerStreamTest, OneStreamPerBrokerServesEveryPoll) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 4);  // partitions 0 and 2 on broker 1, 1 and 3 on broker 2
  ConsumerOptions options = Options(cluster);
  options.stream_fetches = true;
  Consumer consumer(options);
  ASSERT_TRUE(consumer
                  .Assign({{"t", 0, StartOffset::Earliest()},
                           {"t", 1, StartOffset::Earliest()},
                           {"t", 2, StartOffset::Earliest()},
                           {"t", 3, StartOffset::Earliest()}})
                  .ok());
  for (int round = 0; round < 3; ++round) {
    for (int p = 0; p < 4; ++p) cluster.Append("t", p, {absl::StrCat(round, "-", p)});
    std::vector<ConsumerRecord> got = PollN(consumer, 4);
    std::set<std::string> values;
    for (const ConsumerRecord& r : got) values.insert(*r.value);
    EXPECT_EQ(values,
              (std::set<std::string>{absl::StrCat(round, "-0"), absl::StrCat(round, "-1"),
                                     absl::StrCat(round, "-2"), absl::StrCat(round, "-3")}));
  }
  // Started once per broker, not once per Poll.
  EXPECT_EQ(cluster.fetch_streams(), 2);
}

TEST(ConsumerStreamTest, AStreamReadsAheadOfPoll) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  for (int b = 0; b < 10; ++b) cluster.Append("t", 0, {absl::StrCat("v", b)});
  ConsumerOptions options = Options(cluster);
  options.stream_fetches = true;
  options.max_partition_fetch_bytes = 1;  // one batch per answer
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"v0"}));
  // The broker sends the other nine answers without being asked again...
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (cluster.fetch_calls() < 10 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(cluster.fetch_calls(), 10);
  // ...so they are here even once it is gone.
  cluster.SetBrokerDown(1, true);
  std::vector<std::string> rest;
  for (int i = 0; i < 9; ++i) {
    absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(100));
    ASSERT_TRUE(got.ok()) << got.status();
    for (const std::string& v : Values(*got)) rest.push_back(v);
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}));
}

TEST(ConsumerStreamTest, ABrokerWithoutStreamsIsReadWithFetchCalls) {
  FakeCluster cluster(1);
  cluster.SetStreamingSupported(false);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"});
  ConsumerOptions options = Options(cluster);
  options.stream_fetches = true;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(Values(PollN(consumer, 2)), (std::vector<std::string>{"a", "b"}));
  cluster.Append("t", 0, {"c"});
  EXPECT_EQ(Values(PollN(consumer, 1)), (std::vector<std::string>{"c"}));
  EXPECT_EQ(cluster.fetch_streams(), 0);
  EXPECT_GE(cluster.fetch_calls(), 2);
}

}  // namespace
}  // namespace runnel::client
