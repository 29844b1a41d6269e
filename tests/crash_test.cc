// Kills the broker with -9 in the middle of a producer run, restarts it, and
// checks that every record the broker acknowledged is readable at exactly the
// offset it was acknowledged at. Records that were in flight may be retried
// and stored twice (no idempotence yet); acknowledged ones are never lost.
#include <atomic>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

constexpr int kPartitions = 2;

TEST(CrashTest, AcknowledgedRecordsSurviveKill9MidProduce) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  client::ClientOptions copts;
  copts.bootstrap = cluster.bootstrap();
  client::Admin admin(copts);
  ASSERT_TRUE(admin.CreateTopic("crash", kPartitions, 1, {}).ok());

  client::ProducerOptions popts;
  popts.client = copts;
  popts.batch_bytes = 4096;  // many small batches: kills land between and inside writes
  client::Producer producer(popts);

  absl::Mutex mu;
  std::map<std::pair<int32_t, int64_t>, std::string> acked;  // (partition, offset) -> value
  std::atomic<int> acked_count{0};
  std::atomic<int> failed_count{0};

  // The killer waits for some acknowledgements, then kill -9s and restarts
  // the broker twice while the producer keeps sending.
  std::thread killer([&] {
    for (int round = 1; round <= 2; ++round) {
      while (acked_count.load() < round * 20000) absl::SleepFor(absl::Milliseconds(1));
      cluster.KillBroker(0);
      absl::SleepFor(absl::Milliseconds(300));
      EXPECT_TRUE(cluster.RestartBroker(0).ok());
    }
  });

  int sent = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((acked_count.load() < 60000 || sent < 60000) && absl::Now() < deadline) {
    std::string value = absl::StrCat("value-", sent);
    client::ProducerRecord rec;
    rec.topic = "crash";
    rec.key = absl::StrCat("k", sent % 50);
    rec.value = value;
    absl::Status s = producer.Send(std::move(rec), [&, value](const auto& md) {
      if (!md.ok()) {
        failed_count++;
        return;
      }
      absl::MutexLock lock(&mu);
      acked[{md->partition, md->offset}] = value;
      acked_count++;
    });
    ASSERT_TRUE(s.ok()) << s;
    ++sent;
    if (sent % 2000 == 0) producer.Flush().IgnoreError();
  }
  producer.Flush().IgnoreError();
  killer.join();
  ASSERT_GE(acked_count.load(), 60000) << "producer stalled; failed=" << failed_count.load();
  std::cout << "sent " << sent << ", acknowledged " << acked_count.load() << ", failed "
            << failed_count.load() << "\n";

  // Read everything back and compare offset by offset.
  client::ConsumerOptions conf;
  conf.client = copts;
  client::Consumer consumer(conf);
  std::vector<client::PartitionAssignment> assign;
  for (int p = 0; p < kPartitions; ++p) {
    assign.push_back({"crash", p, client::StartOffset::Earliest()});
  }
  ASSERT_TRUE(consumer.Assign(assign).ok());
  std::map<std::pair<int32_t, int64_t>, std::string> stored;
  const absl::Time read_deadline = absl::Now() + absl::Seconds(60);
  int64_t hw_total = -1;
  while (absl::Now() < read_deadline) {
    auto records = consumer.Poll(absl::Milliseconds(500));
    ASSERT_TRUE(records.ok()) << records.status();
    for (const auto& r : *records) stored[{r.partition, r.offset}] = r.value.value_or("<null>");
    if (records->empty()) {
      hw_total = 0;
      for (int p = 0; p < kPartitions; ++p) {
        hw_total += *consumer.HighWatermark(client::TopicPartition{"crash", p});
      }
      if (static_cast<int64_t>(stored.size()) >= hw_total) break;
    }
  }
  EXPECT_EQ(static_cast<int64_t>(stored.size()), hw_total) << "offsets missing below the end";
  int lost = 0;
  for (const auto& [where, value] : acked) {
    auto it = stored.find(where);
    if (it == stored.end() || it->second != value) {
      if (++lost <= 5) {
        ADD_FAILURE() << "acknowledged " << value << " at partition " << where.first
                      << " offset " << where.second << " but found "
                      << (it == stored.end() ? "nothing" : it->second);
      }
    }
  }
  EXPECT_EQ(lost, 0) << "of " << acked.size() << " acknowledged records";
}

}  // namespace
}  // namespace runnel::testing
