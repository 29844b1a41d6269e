// The address of the client behind a gRPC call, as consumer groups show it
// (GroupMember.client_host). A broker forwarding a call to the coordinator
// passes its own view of the client in the kClientHostHeader request
// metadata; otherwise the coordinator's view of the peer is the client.
// Display only: nothing trusts it.
// Thread-safety: pure functions.
#ifndef RUNNEL_COMMON_CLIENT_HOST_H_
#define RUNNEL_COMMON_CLIENT_HOST_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/strings/string_view.h"

namespace runnel {

inline constexpr char kClientHostHeader[] = "runnel-client-host";

// The host of a gRPC peer string: "ipv4:127.0.0.1:5000" -> "127.0.0.1",
// "ipv6:[::1]:5000" -> "::1"; other forms (e.g. "unix:/path") unchanged.
std::string HostOfPeer(absl::string_view peer);

// The forwarded client host if a broker set one, else the peer's host.
std::string ClientHost(const grpc::ServerContext& context);

}  // namespace runnel

#endif  // RUNNEL_COMMON_CLIENT_HOST_H_
