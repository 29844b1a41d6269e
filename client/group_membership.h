// GroupMembership: one consumer's membership in a consumer group, kept alive
// by a background heartbeat thread that speaks the protocol of
// proto/runnel/v1/groups.proto. The Consumer owns one while it is subscribed.
//
// Division of labour between the two threads:
//  - The heartbeat thread sends GroupHeartbeat as often as the coordinator
//    asks (heartbeat_interval_ms of each answer), and at once when the owned
//    partitions change, so that a rebalance moves on without waiting. Each
//    heartbeat reports the partitions the consumer owns (SetOwned); each
//    answer's member id, generation and target assignment are recorded and
//    published as a new State version. The thread never touches the
//    consumer's partitions, offsets or callbacks.
//  - The consumer's (application's) thread reads State inside Poll, gives
//    up and takes partitions to match the target, and reports what it owns
//    with SetOwned. Partitions therefore move only while the application
//    calls Poll.
//
// When the coordinator no longer knows the member (UNKNOWN_MEMBER_ID: its
// session lapsed or it was removed), the thread marks the State fenced and
// stops heartbeating; the consumer treats its partitions as lost and calls
// Rejoin, after which the thread joins again with an empty member id and no
// owned partitions. If Poll is not called for max_poll_interval, the thread
// leaves the group itself (LeaveGroup) and marks the State fenced the same
// way, so a stuck application does not hold partitions forever.
//
// Transport failures are retried with backoff, moving to another broker
// (ForwardingTarget); only a refusal (INVALID_ARGUMENT: bad group id, an
// assignor the group does not use; UNIMPLEMENTED) is final, as State.error.
//
// Thread-safety: all methods are thread-safe.
#ifndef RUNNEL_CLIENT_GROUP_MEMBERSHIP_H_
#define RUNNEL_CLIENT_GROUP_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/options.h"
#include "client/rpc.h"
#include "client/types.h"
#include "proto/runnel/v1/groups.pb.h"

namespace runnel::client {

// Sets of partitions <-> the protocol's per-topic lists (topics and
// partitions ascending).
void TopicPartitionsToProto(const std::set<TopicPartition>& partitions,
                            google::protobuf::RepeatedPtrField<runnel::v1::TopicPartitions>* out);
std::set<TopicPartition> TopicPartitionsFromProto(
    const google::protobuf::RepeatedPtrField<runnel::v1::TopicPartitions>& lists);
// Whether the protocol knows the assignor: "range", "roundrobin" or
// "cooperative-sticky".
bool IsKnownAssignor(absl::string_view assignor);

// Next-offsets by partition -> the protocol's PartitionOffset list.
void OffsetsToProto(const std::map<TopicPartition, int64_t>& offsets,
                    google::protobuf::RepeatedPtrField<runnel::v1::PartitionOffset>* out);

class GroupMembership {
 public:
  // What the consumer sees of the membership.
  struct State {
    // Grows whenever anything below changes.
    uint64_t version = 0;
    // Empty while joining or fenced.
    std::string member_id;
    int64_t generation = 0;
    // The partitions the coordinator wants this member to own now.
    std::set<TopicPartition> assignment;
    // The member is out of the group; its partitions are lost. `fenced_reason` says why.
    bool fenced = false;
    std::string fenced_reason;
    // A final refusal; the membership does nothing more.
    absl::Status error;
  };

  // Uses group_id, session/rebalance timeouts, max_poll_interval, assignor
  // and the client id of `options`.
  GroupMembership(const ConsumerOptions& options, std::shared_ptr<ForwardingTarget> target);
  // Stops the thread without leaving (Leave first for a clean exit).
  ~GroupMembership();

  GroupMembership(const GroupMembership&) = delete;
  GroupMembership& operator=(const GroupMembership&) = delete;

  // Joins the group subscribed to `topics` and starts the heartbeat thread.
  // Synchronous, so a refusal comes back here: the coordinator's
  // INVALID_ARGUMENT (bad group id, assignor the group does not use), or the
  // last transport failure once max_retries retries are spent. Call once.
  absl::Status Join(const std::vector<std::string>& topics);

  // Changes the subscription; the next heartbeat (sent at once) carries it.
  void SetTopics(const std::vector<std::string>& topics);

  State state() const;

  // The partitions the consumer owns now; sends a heartbeat at once if they
  // changed.
  void SetOwned(const std::set<TopicPartition>& owned);

  // Marks the member fenced if `member_id` is still current (e.g. a commit
  // was refused with UNKNOWN_MEMBER_ID).
  void Fence(const std::string& member_id, const std::string& reason);

  // After a fenced State was handled (partitions dropped): join again.
  void Rejoin();

  // Waits until the State version passes `version` or `deadline` comes;
  // true if it changed.
  bool AwaitChange(uint64_t version, absl::Time deadline) const;

  // Poll brackets, for max_poll_interval: time inside Poll does not count.
  void PollStarted();
  void PollEnded();

  // Stops the heartbeat thread, then sends LeaveGroup if a member (trying at
  // most two brokers). Errors are informational: the coordinator removes the
  // member after its session timeout anyway.
  absl::Status Leave();

 private:
  enum class Phase { kJoining, kMember, kFenced, kStopped };

  runnel::v1::GroupHeartbeatRequest RequestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends one heartbeat (joining if need be) and applies its answer.
  void HeartbeatOnce() ABSL_LOCKS_EXCLUDED(mu_);
  void FenceLocked(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration RpcTimeout() const;
  absl::Status SendLeave(const std::string& member_id);
  void Run();

  const ConsumerOptions options_;
  const std::shared_ptr<ForwardingTarget> target_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;  // the heartbeat thread: something to send, or stopping
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kJoining;
  State state_ ABSL_GUARDED_BY(mu_);
  // Bumped by every (re)join and fence, so that the answer to a heartbeat
  // sent before one of those is ignored.
  uint64_t incarnation_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> topics_ ABSL_GUARDED_BY(mu_);
  bool topics_changed_ ABSL_GUARDED_BY(mu_) = true;
  std::set<TopicPartition> owned_ ABSL_GUARDED_BY(mu_);
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(3);
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int failures_ ABSL_GUARDED_BY(mu_) = 0;  // consecutive failed heartbeats
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  bool in_poll_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_poll_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_GROUP_MEMBERSHIP_H_
