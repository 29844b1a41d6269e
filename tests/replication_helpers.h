// Helpers shared by the tests that run replicated clusters of real brokers
// (replication_test, network_partition_test, scale_out_test): topic admin through the
// coordinator, a background acks=all producer that remembers what was
// acknowledged, and the two end-of-test checks - every acknowledged record is
// readable at its offset, and all replicas are identical below the high
// watermark.
//
// The checks report with gtest's ADD_FAILURE/EXPECT, so they only run inside
// a test. Thread-safety: BackgroundProducer's accessors may be called from
// the test thread while it runs; everything else from one thread.
#ifndef RUNNEL_TESTS_REPLICATION_HELPERS_H_
#define RUNNEL_TESTS_REPLICATION_HELPERS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/producer.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/broker.pb.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {

// (partition, offset) -> value.
using RecordsByOffset = std::map<std::pair<int32_t, int64_t>, std::string>;

runnel::v1::TopicInfo Describe(TestCluster& cluster, const std::string& topic);

// Creates `topic` with one replica per broker of `cluster` (gtest failure if
// it cannot).
void CreateReplicatedTopic(TestCluster& cluster, int brokers, const std::string& topic,
                           int partitions, int min_insync);

// Waits until every partition of `topic` has a leader and all its replicas
// in its ISR.
bool WaitForFullIsr(TestCluster& cluster, const std::string& topic, absl::Duration timeout);

// Produces acks=all records on a background thread, remembering each
// acknowledged record's (partition, offset).
class BackgroundProducer {
 public:
  BackgroundProducer(const std::string& bootstrap, std::string topic);
  ~BackgroundProducer() { Stop(); }

  void Stop();
  int acked() const { return acked_count_.load(); }
  int failed() const { return failed_count_.load(); }
  // Blocks until `n` more records are acknowledged (or 60 s pass).
  bool WaitForMoreAcks(int n);
  // The highest acknowledged offset of `partition`, -1 if none.
  int64_t MaxAckedOffset(int32_t partition);
  RecordsByOffset Acked();

 private:
  void Run();

  const std::string topic_;
  std::unique_ptr<client::Producer> producer_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  RecordsByOffset acked_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> acked_count_{0};
  std::atomic<int> failed_count_{0};
  std::thread thread_;
};

// Reads partitions 0..partitions-1 from the beginning through `bootstrap` and
// checks that each acknowledged record is at its acknowledged offset. Returns
// the high watermark of each partition; `stored`, if given, receives every
// record read.
std::vector<int64_t> CheckAcknowledgedReadable(const std::string& bootstrap,
                                               const std::string& topic, int partitions,
                                               const RecordsByOffset& acked,
                                               RecordsByOffset* stored = nullptr);

// Prints the brokers' replication events (leadership, ISR changes,
// truncations, warnings): what a reader of a failure needs first.
void PrintReplicationEvents(TestCluster& cluster, int brokers);

// Stops every broker and checks that all replicas of each partition hold the
// same record at every offset below its high watermark (hws[partition]).
void CheckReplicasIdentical(TestCluster& cluster, int brokers, const std::string& topic,
                            const std::vector<int64_t>& hws);

// Stops every broker of `cluster` and checks, for each partition of `topic`,
// that the brokers its current metadata places it on hold the same record at
// every offset below hws[partition], and that the other brokers hold no data
// of it (after reassignments; broker ids are index + 1).
void CheckPlacedReplicasIdentical(TestCluster& cluster, const std::string& topic,
                                  const std::vector<int64_t>& hws);

// One Produce of a single record (`value`) to `topic`-`partition` on the
// broker at `address`, through a raw stub (the client library would retry
// the errors tests look for). gRPC failures are gtest failures.
runnel::v1::ProducePartitionResponse RawProduce(const std::string& address,
                                                const std::string& topic, int32_t partition,
                                                runnel::v1::Acks acks, int timeout_ms,
                                                const std::string& value = "v");

}  // namespace runnel::testing

#endif  // RUNNEL_TESTS_REPLICATION_HELPERS_H_
