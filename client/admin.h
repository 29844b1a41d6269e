// Admin: topic and cluster administration through the bootstrap broker's
// Admin service (every broker forwards it to the coordinator). Results are
// the proto responses; failures are the server's gRPC status as an
// absl::Status with its message, or BootstrapUnreachable.
//
// Thread-safety: thread-safe (each call is independent; the shared
// MetadataCache is thread-safe).
#ifndef RUNNEL_CLIENT_ADMIN_H_
#define RUNNEL_CLIENT_ADMIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/metadata_cache.h"
#include "client/options.h"
#include "proto/runnel/v1/admin.pb.h"

namespace runnel::client {

class Admin {
 public:
  explicit Admin(ClientOptions options);
  explicit Admin(std::shared_ptr<MetadataCache> metadata);

  // Creates a topic. replication_factor 0 lets the server choose (1). Once
  // created, waits up to topic_propagation_timeout for the bootstrap broker's
  // metadata to show the topic with every partition led, so that a produce
  // right after finds it; the topic counts as created even if that wait ends
  // first. ALREADY_EXISTS, INVALID_ARGUMENT, FAILED_PRECONDITION from the server.
  absl::StatusOr<runnel::v1::CreateTopicResponse> CreateTopic(
      const std::string& name, int32_t partitions, int32_t replication_factor = 0,
      const std::map<std::string, std::string>& configs = {});

  // NOT_FOUND if there is no such topic.
  absl::StatusOr<runnel::v1::DeleteTopicResponse> DeleteTopic(const std::string& name);

  absl::StatusOr<runnel::v1::ListTopicsResponse> ListTopics();

  // NOT_FOUND if there is no such topic.
  absl::StatusOr<runnel::v1::DescribeTopicResponse> DescribeTopic(const std::string& name);

  absl::StatusOr<runnel::v1::DescribeClusterResponse> DescribeCluster();

  // Sets the `set` config overrides and removes those named in `reset` (back
  // to the default), all or nothing. Brokers apply the change within a
  // heartbeat interval. NOT_FOUND for an unknown topic; INVALID_ARGUMENT
  // naming the key for an unknown key or a bad value.
  absl::StatusOr<runnel::v1::AlterTopicConfigResponse> AlterTopicConfig(
      const std::string& name, const std::map<std::string, std::string>& set,
      const std::vector<std::string>& reset = {});

  MetadataCache& metadata() { return *metadata_; }

 private:
  // Runs one Admin RPC on the bootstrap broker with request_timeout.
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  // Polls the bootstrap broker's metadata until `name` is there with leaders.
  void AwaitTopicVisible(const std::string& name);

  std::shared_ptr<MetadataCache> metadata_;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_ADMIN_H_
