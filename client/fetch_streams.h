// FetchStreams: a consumer's Broker.FetchStream calls, one per leader broker,
// each read ahead by a thread of its own into a bounded queue of answers.
//
// Why streams: with one Fetch round trip per answer, the broker sat idle
// while an answer travelled and the consumer parsed it and asked again, and
// each round trip paid the loopback RPC latency (about 0.35 ms on the
// project's VM): one partition read at about 0.9 GB/s. A stream lets the
// broker read the next records while the consumer handles the last ones
// (docs/BENCHMARKS.md). The queue bound (plus gRPC's flow-control window)
// is how far a broker may run ahead of Poll.
//
// The consumer owns positions, errors and retries; this class only moves
// answers. Ownership: owns the calls and their threads; Stop and the
// destructor cancel and join them. Thread-safety: the methods are for one
// thread (the consumer's); the reader threads synchronise with it inside.
#ifndef RUNNEL_CLIENT_FETCH_STREAMS_H_
#define RUNNEL_CLIENT_FETCH_STREAMS_H_

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

class FetchStreams {
 public:
  // `buffer_bytes`: record bytes of answers a stream queues before it stops
  // reading (at least one answer is always read).
  explicit FetchStreams(size_t buffer_bytes);
  ~FetchStreams();

  FetchStreams(const FetchStreams&) = delete;
  FetchStreams& operator=(const FetchStreams&) = delete;

  // Starts a stream to the broker at `address` (replacing one there).
  void Start(const std::shared_ptr<grpc::Channel>& channel, const std::string& address,
             runnel::v1::FetchRequest request);
  // Cancels the stream to `address`, if any, and drops what it queued.
  void Stop(const std::string& address);
  void StopAll();

  // What one stream delivered: its oldest answer not taken yet, and/or,
  // once every answer is taken, its end.
  struct Delivery {
    std::string address;
    std::shared_ptr<const runnel::v1::FetchResponse> answer;  // null if none
    // Set when the stream has ended (after its last answer); the stream is
    // then forgotten.
    bool ended = false;
    grpc::Status status;
  };
  // Waits up to `timeout` until some stream has an answer or has ended, then
  // takes one answer (or the end) from each stream that has one: a Poll
  // returns about one answer per broker, as with Fetch calls. Empty after
  // the timeout.
  std::vector<Delivery> Take(absl::Duration timeout);

 private:
  struct Stream;
  // Reads `stream` until it ends or is cancelled (its thread's body).
  void Read(Stream* stream);
  bool AnyNews() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const size_t buffer_bytes_;
  // Guards every stream's queue and state: one mutex, so Take can wait for
  // news from any of them.
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Stream>> streams_;  // changed by the owner's thread only
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_FETCH_STREAMS_H_
