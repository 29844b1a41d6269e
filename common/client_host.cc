#include "common/client_host.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace runnel {

std::string HostOfPeer(absl::string_view peer) {
  absl::string_view host = peer;
  if (!absl::ConsumePrefix(&host, "ipv4:") && !absl::ConsumePrefix(&host, "ipv6:")) {
    return std::string(peer);
  }
  if (size_t colon = host.rfind(':'); colon != absl::string_view::npos)
    host = host.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return std::string(host);
}

std::string ClientHost(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kClientHostHeader);
  if (it != metadata.end()) return std::string(it->second.data(), it->second.size());
  return HostOfPeer(context.peer());
}

}  // namespace runnel
