// Admin: topic, consumer group and cluster administration through the
// bootstrap broker's Admin and Groups services (every broker forwards them
// to the coordinator), plus ListOffsets on the partitions' leaders. Results
// are the proto responses; failures are the server's gRPC status as an
// absl::Status with its message, or BootstrapUnreachable.
//
// Thread-safety: thread-safe (each call is independent; the shared
// MetadataCache is thread-safe).
#ifndef RUNNEL_CLIENT_ADMIN_H_
#define RUNNEL_CLIENT_ADMIN_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/list_offsets.h"
#include "client/metadata_cache.h"
#include "client/options.h"
#include "client/types.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/groups.pb.h"

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

  // Grows topic `name` to `total_count` partitions, then waits up to
  // topic_propagation_timeout for the bootstrap broker's metadata to show
  // them led (as CreateTopic). NOT_FOUND for an unknown topic;
  // INVALID_ARGUMENT unless total_count exceeds the current count.
  absl::StatusOr<runnel::v1::CreatePartitionsResponse> CreatePartitions(const std::string& name,
                                                                        int32_t total_count);

  // The offset each query finds on its partition's leader (list_offsets.h),
  // e.g. log end offsets for consumer lag.
  absl::StatusOr<std::map<TopicPartition, int64_t>> ListOffsets(
      const std::vector<OffsetQuery>& queries);

  // --- Scale-out (docs/operations.md) ---

  // Starts moving each partition's replicas to its target_replicas
  // (preferred leader first); each new replica copies at most
  // `throttle_bytes_per_second` (0: unthrottled). Returns at once: progress
  // shows in ListReassignments. INVALID_ARGUMENT for an unknown topic,
  // partition or broker or a bad replica list; FAILED_PRECONDITION when a
  // broker to add is not live. All or nothing.
  absl::StatusOr<runnel::v1::ReassignPartitionsResponse> ReassignPartitions(
      const std::vector<runnel::v1::PartitionReassignment>& reassignments,
      int64_t throttle_bytes_per_second = 0);

  // The reassignments in progress.
  absl::StatusOr<runnel::v1::ListReassignmentsResponse> ListReassignments();

  // Plans moves that even out replicas and leaders over the live brokers,
  // emptying `drain_brokers` (decommission), and unless `dry_run` starts
  // them. FAILED_PRECONDITION when drained replicas have nowhere to go.
  absl::StatusOr<runnel::v1::BalanceClusterResponse> BalanceCluster(
      bool dry_run, const std::vector<int32_t>& drain_brokers = {},
      int64_t throttle_bytes_per_second = 0);

  // --- Consumer groups ---

  // Every group the coordinator knows, sorted by id.
  absl::StatusOr<runnel::v1::ListGroupsResponse> ListGroups();

  // State, generation, members with their assignments, committed offsets.
  // NOT_FOUND for an unknown group.
  absl::StatusOr<runnel::v1::DescribeGroupResponse> DescribeGroup(const std::string& group_id);

  // The group's committed offsets for `partitions` (-1 where none), or every
  // committed offset when `partitions` is empty.
  absl::StatusOr<std::map<TopicPartition, int64_t>> FetchGroupOffsets(
      const std::string& group_id, const std::vector<TopicPartition>& partitions = {});

  // Sets committed offsets by hand (creating the group if unknown).
  // FAILED_PRECONDITION while the group has live members; INVALID_ARGUMENT
  // for a negative offset or an unknown topic or partition.
  absl::Status AlterGroupOffsets(const std::string& group_id,
                                 const std::map<TopicPartition, int64_t>& offsets);

  // Deletes a group and its offsets. FAILED_PRECONDITION while it has live
  // members; NOT_FOUND for an unknown group.
  absl::Status DeleteGroup(const std::string& group_id);

  MetadataCache& metadata() { return *metadata_; }

 private:
  // Runs one Admin or Groups RPC on the bootstrap broker with request_timeout.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request);

  // Polls the bootstrap broker's metadata until `name` is there with at
  // least `partitions` partitions, all led.
  void AwaitTopicVisible(const std::string& name, int32_t partitions);

  std::shared_ptr<MetadataCache> metadata_;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_ADMIN_H_
