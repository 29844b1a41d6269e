// FakeCluster: an in-memory stand-in for a Runnel cluster, for the client's
// unit tests. Each fake broker is a gRPC server with no listening port; the
// client reaches it through in-process channels (ClientOptions from
// Options()), so tests need no sockets. Brokers serve Broker, Admin and
// Groups on one shared state: topics, leaders and logs of real encoded
// batches (the batch codec stamps base offsets just as a broker does), and
// consumer groups (fake_groups.h).
//
// It implements the protocol's contract closely enough to exercise client
// logic (leaders, epochs, offsets, long polls, error codes) plus fault
// injection; it does not replicate or persist anything.
//
// Thread-safety: all methods are thread-safe.
#ifndef RUNNEL_CLIENT_TESTING_FAKE_CLUSTER_H_
#define RUNNEL_CLIENT_TESTING_FAKE_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/options.h"
#include "client/testing/fake_groups.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client::testing {

class FakeCluster {
 public:
  // Brokers get ids 1..num_brokers.
  explicit FakeCluster(int num_brokers = 1, bool listen_on_loopback = false);
  ~FakeCluster();

  FakeCluster(const FakeCluster&) = delete;
  FakeCluster& operator=(const FakeCluster&) = delete;

  // Client options reaching the fake brokers; bootstrap is broker 1. Retry
  // backoffs are shortened so that retry tests run fast.
  ClientOptions Options() const;
  // The advertised address of a broker: "fake-broker-<id>:9092", or
  // "127.0.0.1:<port>" when listening on loopback.
  std::string Address(int broker_id) const;

  // Creates a topic directly. Partition p is led by broker (p % brokers) + 1.
  void CreateTopic(const std::string& name, int partitions);
  // Adds partitions to a topic (as Admin.CreatePartitions).
  void AddPartitions(const std::string& name, int total_count);
  // Moves leadership (-1: offline) and bumps the leader epoch.
  void SetLeader(const std::string& topic, int partition, int broker_id);
  // A down broker answers every RPC with gRPC UNAVAILABLE.
  void SetBrokerDown(int broker_id, bool down);
  // The next `calls` Admin RPCs (to any broker) answer UNAVAILABLE "coordinator
  // unreachable from this broker", as a real broker's forwarder does while
  // its channel to the coordinator reconnects.
  void SetCoordinatorUnreachable(int calls);

  // false: FetchStream answers UNIMPLEMENTED, as a broker from before it.
  void SetStreamingSupported(bool supported);

  enum class Rpc { kProduce, kFetch, kListOffsets };
  // The next `times` requests of `rpc` for the partition get `code`/`message`.
  void InjectError(Rpc rpc, const std::string& topic, int partition, runnel::v1::ErrorCode code,
                   const std::string& message, int times = 1);

  // Appends one encoded batch as if produced (base offset stamped here).
  void AppendBatch(const std::string& topic, int partition, std::string batch);
  // Appends one batch holding `values` as records without keys, stamped
  // `timestamp_ms`.
  void Append(const std::string& topic, int partition, const std::vector<std::string>& values,
              int64_t timestamp_ms = 1000);

  // The partition's log, decoded.
  std::vector<runnel::batch::Record> Records(const std::string& topic, int partition) const;
  int64_t HighWatermark(const std::string& topic, int partition) const;
  // The number of batches stored for a partition.
  int BatchCount(const std::string& topic, int partition) const;
  // RPCs received so far, all brokers together. fetch_calls counts Fetch
  // calls and FetchStream answers; fetch_streams the FetchStream calls.
  int produce_calls() const;
  int fetch_calls() const;
  int fetch_streams() const;
  int metadata_calls() const;

  // The consumer group coordinator every broker forwards to.
  FakeGroups& groups() { return *groups_; }

  struct State;  // shared by the fake services; defined in the .cc

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<FakeGroups> groups_;
  struct Broker;
  std::vector<std::unique_ptr<Broker>> brokers_;
};

}  // namespace runnel::client::testing

#endif  // RUNNEL_CLIENT_TESTING_FAKE_CLUSTER_H_
