// Unary calls to Runnel's gRPC services, and the choice of broker for the
// services every broker forwards to the coordinator (Admin, Groups).
//
// ForwardingTarget exists for long-lived callers (a consumer group member):
// any broker can forward, so when the one in use stops answering, the next
// call goes to another broker the metadata knows, instead of waiting for one
// broker to come back while the group's session lapses.
//
// Thread-safety: UnaryCall is a free function; ForwardingTarget is
// thread-safe.
#ifndef RUNNEL_CLIENT_RPC_H_
#define RUNNEL_CLIENT_RPC_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/errors.h"
#include "client/metadata_cache.h"

namespace runnel::client {

// Runs one unary RPC, e.g. UnaryCall(channel, &v1::Admin::Stub::ListTopics,
// request, timeout). Failures are the server's status (FromGrpcStatus).
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                                   grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                const Request&, Response*),
                                   const Request& request, absl::Duration timeout) {
  Stub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

class ForwardingTarget {
 public:
  // Starts with the bootstrap broker of `metadata`'s options.
  explicit ForwardingTarget(std::shared_ptr<MetadataCache> metadata);

  // The broker to send the next forwarded call to.
  std::string Current() const;

  // Reports that `address` did not answer (a transport failure): if it is
  // still the current target, the next broker known from metadata (live
  // ones first, the bootstrap broker last) becomes current.
  void Failed(const std::string& address);

  // UnaryCall on the current target; a transport failure moves the target on
  // (the call itself is not retried). The error names the broker.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request, absl::Duration timeout) {
    const std::string address = Current();
    absl::StatusOr<Response> response =
        UnaryCall(metadata_->Channel(address), method, request, timeout);
    if (!response.ok() && IsTransportFailure(response.status())) {
      Failed(address);
      return WithContext(response.status(), "broker " + address);
    }
    return response;
  }

  // Call, retrying transport failures (each time on the then current
  // broker) with the backoff and retry budget of RetryLoop.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> CallWithRetries(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                                           const Request& request, absl::Duration timeout) {
    absl::StatusOr<Response> response;
    RetryLoop(metadata_->options(), [&] {
      response = Call(method, request, timeout);
      return response.status();
    }).IgnoreError();
    return response;
  }

  MetadataCache& metadata() { return *metadata_; }

 private:
  const std::shared_ptr<MetadataCache> metadata_;
  mutable absl::Mutex mu_;
  std::string current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_RPC_H_
