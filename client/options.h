// Configuration of the Runnel client: ClientOptions (connection, timeouts,
// retries), shared by Admin, Producer and Consumer, plus ProducerOptions and
// ConsumerOptions. Defaults follow Kafka's client defaults where one exists,
// so behaviour is unsurprising to Kafka users.
//
// Thread-safety: plain values; copy freely. RetryBackoff is a pure function.
#ifndef RUNNEL_CLIENT_OPTIONS_H_
#define RUNNEL_CLIENT_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/time/time.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client {

// Makes the gRPC channel for a broker address. `args` carries the client's
// channel settings (message size, reconnect backoff) and should be honoured.
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(
    const std::string& address, const grpc::ChannelArguments& args)>;

struct ClientOptions {
  // host:port of any broker. The client learns the other brokers from its
  // Metadata answer; Admin calls always go here.
  std::string bootstrap = "127.0.0.1:9092";

  // How long to wait to reach a broker and receive its Metadata answer before
  // reporting it unreachable. Short, so that a wrong address fails fast. Also
  // how long Admin calls keep retrying while the broker cannot reach the
  // coordinator (UNAVAILABLE).
  absl::Duration connect_timeout = absl::Seconds(5);

  // Deadline of every other RPC (Admin calls, Produce, ListOffsets). Fetch
  // adds its long-poll wait to it. Also sent as ProduceRequest.timeout_ms.
  absl::Duration request_timeout = absl::Seconds(30);

  // Retries of a request that failed with a retriable error (leader moved,
  // broker unreachable...), each after a metadata refresh and a backoff. For
  // the consumer: consecutive failures of one partition before Poll reports
  // the error. With the default backoffs 20 retries span about 17.5 s, enough
  // to ride out a leader failover (6 s broker session timeout plus election).
  // The producer is bounded by ProducerOptions::delivery_timeout instead.
  int max_retries = 20;

  // Backoff before retry n (0-based): min(retry_backoff * 2^n, retry_backoff_max).
  // retry_backoff_max also caps gRPC's reconnect backoff, so a restarted
  // broker is found again within about a second.
  absl::Duration retry_backoff = absl::Milliseconds(100);
  absl::Duration retry_backoff_max = absl::Seconds(1);

  // Admin::CreateTopic waits up to this long for the bootstrap broker's
  // metadata to show the new topic with a leader for every partition, so that
  // a produce right after it finds the topic. Zero: do not wait.
  absl::Duration topic_propagation_timeout = absl::Seconds(10);

  // Longest a topic's cached metadata is trusted without a refresh (Kafka's
  // metadata.max.age.ms default, 5 minutes), so that partitions added to a
  // topic are picked up by producers.
  absl::Duration metadata_max_age = absl::Minutes(5);

  // Free-form name of this client, shown by `runnel group describe` for a
  // consumer group member (Kafka's client.id).
  std::string client_id = "runnel-cpp";

  // Makes the channel for a broker address. Null: an insecure TCP channel.
  // Tests inject in-process channels here.
  ChannelFactory channel_factory;
};

// The sleep before retry `attempt` (0-based), as documented above.
absl::Duration RetryBackoff(const ClientOptions& options, int attempt);

struct ProducerOptions {
  ClientOptions client;

  // What the broker waits for before acknowledging. Kafka's default (all).
  runnel::v1::Acks acks = runnel::v1::ACKS_ALL;

  // A partition's open batch is sealed, and sent, when the next record would
  // take it past this many bytes. Kafka's batch.size default (16 KiB).
  size_t batch_bytes = 16 * 1024;

  // How long a partition's open batch may wait for more records before it is
  // sent although not full (Kafka's linger.ms). 5 ms, Kafka's default since
  // 4.0 (KIP-1030): a little latency buys far fewer, larger requests under
  // load; at low rates records wait at most this long. Zero sends as soon as
  // the partition has no request in flight (records still batch up while one
  // is in flight).
  absl::Duration linger = absl::Milliseconds(5);

  // Upper bound on the record bytes in one Produce request, and so on one
  // record. Kafka's max.request.size default (1 MiB); it also keeps requests
  // under gRPC's default 4 MiB receive limit on the broker.
  size_t max_request_bytes = 1024 * 1024;

  // Produce requests outstanding to one broker at a time (Kafka's
  // max.in.flight.requests.per.connection default, 5). Each request carries
  // different partitions: a partition never has two requests in flight, which
  // keeps its records in order across retries.
  int max_in_flight_requests = 5;

  // Bytes of records buffered (open, waiting, or in flight) before Send
  // blocks. Kafka's buffer.memory default (32 MiB).
  size_t buffer_memory = 32 * 1024 * 1024;

  // Longest Send blocks on a full buffer before failing with
  // RESOURCE_EXHAUSTED (Kafka's max.block.ms default, 60 s).
  absl::Duration max_block = absl::Seconds(60);

  // A record that is not acknowledged this long after its batch was sealed
  // fails with DEADLINE_EXCEEDED, and retries stop. Kafka's
  // delivery.timeout.ms default (2 minutes).
  absl::Duration delivery_timeout = absl::Minutes(2);

  // Codec of produced batches.
  runnel::batch::Compression compression = runnel::batch::Compression::kNone;
};

// Where a group member starts reading a partition that has no committed
// offset for the group, or whose committed offset is no longer in the log
// (Kafka's auto.offset.reset).
enum class OffsetReset { kEarliest, kLatest };

struct ConsumerOptions {
  ClientOptions client;

  // --- Consumer groups (Consumer::Subscribe); unused with Assign. ---

  // The group to join (Kafka's group.id): 1-249 characters from
  // [A-Za-z0-9._-]. Required by Subscribe.
  std::string group_id;

  // The coordinator removes a member it has not heard from for this long
  // and reassigns its partitions (session.timeout.ms); 1 s to 5 min. The
  // consumer's heartbeat thread keeps the session alive while the
  // application works between polls. How often it heartbeats is the
  // coordinator's choice (heartbeat_interval_ms in each answer).
  absl::Duration session_timeout = absl::Seconds(10);

  // How long the member may take to give up partitions moving to another
  // member. They are given up inside Poll (where the revoke callback runs),
  // so during a rebalance call Poll more often than this or be removed.
  absl::Duration rebalance_timeout = absl::Seconds(30);

  // If Poll is not called for this long, the consumer leaves the group so
  // that its partitions go to members that make progress (Kafka's
  // max.poll.interval.ms, 5 minutes). The next Poll reports them lost and
  // joins again.
  absl::Duration max_poll_interval = absl::Minutes(5);

  // How the group spreads partitions: "range", "roundrobin" or
  // "cooperative-sticky" (which moves as few partitions as it can). The
  // first member of a group picks; every member must ask for the same one.
  // Whatever the assignor, only partitions that move are revoked and
  // assigned (the protocol is incremental).
  std::string assignor = "cooperative-sticky";

  // See OffsetReset. Latest: Kafka's default (only records produced after
  // the group first reads a partition).
  OffsetReset auto_offset_reset = OffsetReset::kLatest;

  // Commit the position of every owned partition every
  // auto_commit_interval (from Poll), before giving up a partition, and on
  // Close (enable.auto.commit, auto.commit.interval.ms). Positions are only
  // committed for records Poll already returned, so a record is committed
  // only after the application had it: at-least-once delivery.
  bool enable_auto_commit = true;
  absl::Duration auto_commit_interval = absl::Seconds(5);

  // --- Fetching ---

  // Longest a broker holds a Fetch waiting for data (Kafka's fetch.max.wait.ms).
  // Poll never waits past its own timeout.
  absl::Duration fetch_max_wait = absl::Milliseconds(500);

  // Bytes a broker waits for before answering a Fetch (fetch.min.bytes).
  int32_t fetch_min_bytes = 1;

  // Soft upper bounds on a Fetch answer and on each partition in it
  // (fetch.max.bytes, max.partition.fetch.bytes).
  int32_t fetch_max_bytes = 50 * 1024 * 1024;
  int32_t max_partition_fetch_bytes = 1024 * 1024;

  // Read through Broker.FetchStream, one stream per leader broker read
  // ahead of Poll, instead of one Fetch call per answer: the broker then
  // reads the next records while the consumer handles these (a single
  // partition read about 1.7x faster on the project's machine,
  // docs/BENCHMARKS.md). A broker without FetchStream (UNIMPLEMENTED) is
  // read with Fetch calls.
  bool stream_fetches = true;
  // Record bytes a fetch stream reads ahead of Poll, per broker (on top of
  // gRPC's flow-control window). At least one answer is always read.
  int32_t fetch_buffer_bytes = 4 * 1024 * 1024;

  // Verify each fetched batch's CRC32C (Kafka's check.crcs). Catches
  // corruption anywhere between producer and us. Batches with records are
  // always checked as they are decoded; this adds the control batches, which
  // are skipped without decoding.
  bool check_crcs = true;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_OPTIONS_H_
