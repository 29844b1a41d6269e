// FakeGroups: an in-memory consumer group coordinator serving
// runnel.v1.Groups for FakeCluster, so the client's group logic (joining,
// reconciling assignments, fenced commits, rejoining) is tested without the
// real coordinator. It follows groups.proto's contract in the essentials:
//  - members join with an empty member id and heartbeat their owned
//    partitions; the target assignment spreads each subscribed topic's
//    partitions over its subscribers (contiguous ranges for "range",
//    round robin otherwise, members ordered by id);
//  - a partition is handed to its new owner only once no other member holds
//    it (reported it owned, or was handed it and has not answered since);
//  - commits are accepted only from live members holding the partition with
//    a generation not older than the one it was handed out in;
//  - members not heard from for their session timeout are removed (checked
//    lazily, on every call that touches the group).
// It does not persist anything or enforce the rebalance timeout.
//
// Thread-safety: all methods are thread-safe.
#ifndef RUNNEL_CLIENT_TESTING_FAKE_GROUPS_H_
#define RUNNEL_CLIENT_TESTING_FAKE_GROUPS_H_

#include <grpcpp/server_context.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/types.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::client::testing {

class FakeGroups {
 public:
  // The partition count of a topic, or -1 if there is no such topic.
  using PartitionCount = std::function<int32_t(const std::string& topic)>;

  explicit FakeGroups(PartitionCount partition_count);

  // The Groups RPCs; `peer` is the caller's address (DescribeGroup shows it).
  grpc::Status Heartbeat(const std::string& peer, const runnel::v1::GroupHeartbeatRequest& request,
                         runnel::v1::GroupHeartbeatResponse* response);
  grpc::Status Leave(const runnel::v1::LeaveGroupRequest& request);
  grpc::Status Commit(const runnel::v1::CommitOffsetsRequest& request,
                      runnel::v1::CommitOffsetsResponse* response);
  grpc::Status Fetch(const runnel::v1::FetchOffsetsRequest& request,
                     runnel::v1::FetchOffsetsResponse* response);
  grpc::Status List(runnel::v1::ListGroupsResponse* response);
  grpc::Status Describe(const runnel::v1::DescribeGroupRequest& request,
                        runnel::v1::DescribeGroupResponse* response);
  grpc::Status Alter(const runnel::v1::AlterGroupOffsetsRequest& request);
  grpc::Status Delete(const runnel::v1::DeleteGroupRequest& request);

  // --- Test hooks ---

  // The heartbeat_interval_ms answered (default 20 ms, so tests run fast).
  void SetHeartbeatInterval(absl::Duration interval);
  // Removes a member as if its session had lapsed.
  void RemoveMember(const std::string& group, const std::string& member_id);
  // Live members' ids, sorted.
  std::vector<std::string> Members(const std::string& group);
  // What a member reported owning in its latest heartbeat.
  std::set<TopicPartition> Owned(const std::string& group, const std::string& member_id);
  // The group's committed offsets.
  std::map<TopicPartition, int64_t> Offsets(const std::string& group);
  int64_t Generation(const std::string& group);
  int heartbeats() const;
  int commits() const;

 private:
  struct Member {
    std::string client_id;
    std::string host;
    std::vector<std::string> topics;
    absl::Duration session_timeout;
    absl::Time last_heartbeat;
    std::set<TopicPartition> owned;   // as last reported
    std::set<TopicPartition> target;  // what it should own
    std::set<TopicPartition> handed;  // what the last answer gave it
    std::map<TopicPartition, int64_t> handed_generation;
  };
  struct Group {
    std::string assignor;
    int64_t generation = 0;
    std::map<std::string, Member> members;
    std::map<TopicPartition, runnel::v1::PartitionOffset> offsets;
  };

  // Removes lapsed members, then recomputes targets (bumping the generation
  // when they change or `force`).
  void RefreshLocked(Group& group, bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Group* FindLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PartitionCount partition_count_;
  mutable absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::Milliseconds(20);
  int next_member_ ABSL_GUARDED_BY(mu_) = 1;
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
};

// Serves a FakeGroups over gRPC; `down` says whether the broker it runs on
// is down (every call then fails UNAVAILABLE).
class FakeGroupsService final : public runnel::v1::Groups::Service {
 public:
  FakeGroupsService(std::shared_ptr<FakeGroups> groups, std::function<bool()> down);

  grpc::Status GroupHeartbeat(grpc::ServerContext* context,
                              const runnel::v1::GroupHeartbeatRequest* request,
                              runnel::v1::GroupHeartbeatResponse* response) override;
  grpc::Status LeaveGroup(grpc::ServerContext* context,
                          const runnel::v1::LeaveGroupRequest* request,
                          runnel::v1::LeaveGroupResponse* response) override;
  grpc::Status CommitOffsets(grpc::ServerContext* context,
                             const runnel::v1::CommitOffsetsRequest* request,
                             runnel::v1::CommitOffsetsResponse* response) override;
  grpc::Status FetchOffsets(grpc::ServerContext* context,
                            const runnel::v1::FetchOffsetsRequest* request,
                            runnel::v1::FetchOffsetsResponse* response) override;
  grpc::Status ListGroups(grpc::ServerContext* context,
                          const runnel::v1::ListGroupsRequest* request,
                          runnel::v1::ListGroupsResponse* response) override;
  grpc::Status DescribeGroup(grpc::ServerContext* context,
                             const runnel::v1::DescribeGroupRequest* request,
                             runnel::v1::DescribeGroupResponse* response) override;
  grpc::Status AlterGroupOffsets(grpc::ServerContext* context,
                                 const runnel::v1::AlterGroupOffsetsRequest* request,
                                 runnel::v1::AlterGroupOffsetsResponse* response) override;
  grpc::Status DeleteGroup(grpc::ServerContext* context,
                           const runnel::v1::DeleteGroupRequest* request,
                           runnel::v1::DeleteGroupResponse* response) override;

 private:
  const std::shared_ptr<FakeGroups> groups_;
  const std::function<bool()> down_;
};

}  // namespace runnel::client::testing

#endif  // RUNNEL_CLIENT_TESTING_FAKE_GROUPS_H_
