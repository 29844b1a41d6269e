#include "client/group_membership.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

namespace {

// Refusals that no retry changes.
bool IsRefusal(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

// Used when the coordinator does not say.
constexpr absl::Duration kDefaultHeartbeatInterval = absl::Seconds(3);

}  // namespace

void TopicPartitionsToProto(const std::set<TopicPartition>& partitions,
                            google::protobuf::RepeatedPtrField<v1::TopicPartitions>* out) {
  v1::TopicPartitions* current = nullptr;
  for (const TopicPartition& tp : partitions) {
    if (current == nullptr || current->topic() != tp.topic) {
      current = out->Add();
      current->set_topic(tp.topic);
    }
    current->add_partitions(tp.partition);
  }
}

std::set<TopicPartition> TopicPartitionsFromProto(
    const google::protobuf::RepeatedPtrField<v1::TopicPartitions>& lists) {
  std::set<TopicPartition> out;
  for (const v1::TopicPartitions& list : lists) {
    for (int32_t p : list.partitions()) out.insert({list.topic(), p});
  }
  return out;
}

bool IsKnownAssignor(absl::string_view assignor) {
  return assignor == "range" || assignor == "roundrobin" || assignor == "cooperative-sticky";
}

void OffsetsToProto(const std::map<TopicPartition, int64_t>& offsets,
                    google::protobuf::RepeatedPtrField<v1::PartitionOffset>* out) {
  for (const auto& [tp, offset] : offsets) {
    v1::PartitionOffset* o = out->Add();
    o->set_topic(tp.topic);
    o->set_partition(tp.partition);
    o->set_offset(offset);
  }
}

GroupMembership::GroupMembership(const ConsumerOptions& options,
                                 std::shared_ptr<ForwardingTarget> target)
    : options_(options), target_(std::move(target)) {}

GroupMembership::~GroupMembership() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Duration GroupMembership::RpcTimeout() const {
  // A heartbeat stuck for most of the session would let it lapse anyway.
  return std::min(options_.client.request_timeout,
                  std::max(options_.session_timeout / 2, absl::Seconds(1)));
}

v1::GroupHeartbeatRequest GroupMembership::RequestLocked() const {
  v1::GroupHeartbeatRequest request;
  request.set_group_id(options_.group_id);
  request.set_member_id(state_.member_id);
  request.set_client_id(options_.client.client_id);
  if (state_.member_id.empty() || topics_changed_) {
    for (const std::string& t : topics_) request.add_subscribed_topics(t);
  }
  request.set_assignor(options_.assignor);
  request.set_session_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.session_timeout)));
  request.set_rebalance_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.rebalance_timeout)));
  // A joining member owns nothing, whatever the consumer still holds.
  if (!state_.member_id.empty()) {
    TopicPartitionsToProto(owned_, request.mutable_owned_partitions());
  }
  return request;
}

void GroupMembership::PublishLocked() { ++state_.version; }

void GroupMembership::FenceLocked(const std::string& reason) {
  phase_ = Phase::kFenced;
  ++incarnation_;
  state_.fenced = true;
  state_.fenced_reason = reason;
  state_.member_id.clear();
  state_.assignment.clear();
  PublishLocked();
}

void GroupMembership::HeartbeatOnce() {
  v1::GroupHeartbeatRequest request;
  uint64_t incarnation = 0;
  std::set<TopicPartition> sent_owned;
  {
    absl::MutexLock lock(&mu_);
    request = RequestLocked();
    incarnation = incarnation_;
    sent_owned = owned_;
  }
  absl::StatusOr<v1::GroupHeartbeatResponse> response =
      target_->Call(&v1::Groups::Stub::GroupHeartbeat, request, RpcTimeout());

  absl::MutexLock lock(&mu_);
  if (incarnation != incarnation_ || phase_ == Phase::kStopped) return;  // fenced or rejoined
  const absl::Time now = absl::Now();
  absl::Status failure;
  if (!response.ok()) {
    if (IsRefusal(response.status())) {
      state_.error = response.status();
      PublishLocked();
      return;
    }
    failure = response.status();
  } else if (response->error_code() == v1::ERROR_CODE_UNKNOWN_MEMBER_ID &&
             !state_.member_id.empty()) {
    FenceLocked(response->error_message().empty()
                    ? absl::StrCat("member ", request.member_id(), " is no longer in group '",
                                   options_.group_id, "'")
                    : response->error_message());
    return;
  } else if (response->error_code() != v1::ERROR_CODE_NONE) {
    failure = absl::UnavailableError(absl::StrCat(
        "heartbeat of group '", options_.group_id,
        "' failed: ", v1::ErrorCode_Name(response->error_code()), " ", response->error_message()));
  }
  if (!failure.ok()) {
    last_failure_ = failure;
    next_heartbeat_ = now + RetryBackoff(options_.client, failures_++);
    return;
  }

  failures_ = 0;
  last_failure_ = absl::OkStatus();
  phase_ = Phase::kMember;
  if (request.subscribed_topics_size() > 0 &&
      std::equal(topics_.begin(), topics_.end(), request.subscribed_topics().begin(),
                 request.subscribed_topics().end())) {
    topics_changed_ = false;
  }
  interval_ = response->heartbeat_interval_ms() > 0
                  ? absl::Milliseconds(response->heartbeat_interval_ms())
                  : kDefaultHeartbeatInterval;
  // What changed while this heartbeat was out goes at once.
  next_heartbeat_ =
      (owned_ != sent_owned || topics_changed_) ? absl::InfinitePast() : now + interval_;
  std::set<TopicPartition> assignment = TopicPartitionsFromProto(response->assignment());
  if (response->member_id() != state_.member_id || response->generation() != state_.generation ||
      assignment != state_.assignment) {
    state_.member_id = response->member_id();
    state_.generation = response->generation();
    state_.assignment = std::move(assignment);
    PublishLocked();
  }
}

absl::Status GroupMembership::Join(const std::vector<std::string>& topics) {
  {
    absl::MutexLock lock(&mu_);
    topics_ = topics;
    topics_changed_ = true;
    phase_ = Phase::kJoining;
    last_poll_ = absl::Now();
  }
  for (int attempt = 0;; ++attempt) {
    HeartbeatOnce();
    {
      absl::MutexLock lock(&mu_);
      if (!state_.error.ok()) return state_.error;
      if (phase_ == Phase::kMember) break;
      if (attempt >= options_.client.max_retries) {
        return WithContext(last_failure_,
                           absl::StrCat("cannot join group '", options_.group_id, "'"));
      }
    }
    absl::SleepFor(RetryBackoff(options_.client, attempt));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void GroupMembership::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    if (phase_ == Phase::kMember && !in_poll_ && now - last_poll_ >= options_.max_poll_interval) {
      const std::string member = state_.member_id;
      FenceLocked(absl::StrCat("left group '", options_.group_id, "': Poll was not called for ",
                               absl::FormatDuration(options_.max_poll_interval)));
      mu_.Unlock();
      SendLeave(member).IgnoreError();
      mu_.Lock();
      continue;
    }
    const bool active =
        (phase_ == Phase::kJoining || phase_ == Phase::kMember) && state_.error.ok();
    if (!active || now < next_heartbeat_) {
      absl::Time until = active ? next_heartbeat_ : absl::InfiniteFuture();
      if (phase_ == Phase::kMember && !in_poll_) {
        until = std::min(until, last_poll_ + options_.max_poll_interval);
      }
      wake_.WaitWithDeadline(&mu_, until);
      continue;
    }
    mu_.Unlock();
    HeartbeatOnce();
    mu_.Lock();
  }
}

void GroupMembership::SetTopics(const std::vector<std::string>& topics) {
  absl::MutexLock lock(&mu_);
  if (topics == topics_) return;
  topics_ = topics;
  topics_changed_ = true;
  next_heartbeat_ = absl::InfinitePast();
  wake_.Signal();
}

GroupMembership::State GroupMembership::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void GroupMembership::SetOwned(const std::set<TopicPartition>& owned) {
  absl::MutexLock lock(&mu_);
  if (owned == owned_) return;
  owned_ = owned;
  next_heartbeat_ = absl::InfinitePast();
  wake_.Signal();
}

void GroupMembership::Fence(const std::string& member_id, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (phase_ == Phase::kMember && state_.member_id == member_id) FenceLocked(reason);
}

void GroupMembership::Rejoin() {
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kFenced) return;
  phase_ = Phase::kJoining;
  ++incarnation_;
  state_.fenced = false;
  state_.fenced_reason.clear();
  topics_changed_ = true;
  failures_ = 0;
  last_poll_ = absl::Now();
  next_heartbeat_ = absl::InfinitePast();
  wake_.Signal();
}

bool GroupMembership::AwaitChange(uint64_t version, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, version]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return state_.version != version; };
  return mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
}

void GroupMembership::PollStarted() {
  absl::MutexLock lock(&mu_);
  in_poll_ = true;
}

void GroupMembership::PollEnded() {
  absl::MutexLock lock(&mu_);
  in_poll_ = false;
  last_poll_ = absl::Now();  // a later deadline: the thread need not wake for it
}

absl::Status GroupMembership::SendLeave(const std::string& member_id) {
  v1::LeaveGroupRequest request;
  request.set_group_id(options_.group_id);
  request.set_member_id(member_id);
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second goes to another broker
    status = target_->Call(&v1::Groups::Stub::LeaveGroup, request, options_.client.request_timeout)
                 .status();
    if (!IsTransportFailure(status)) break;
  }
  return status;
}

absl::Status GroupMembership::Leave() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
  std::string member;
  {
    absl::MutexLock lock(&mu_);
    member = state_.member_id;
    phase_ = Phase::kStopped;
    state_.member_id.clear();
    state_.assignment.clear();
    PublishLocked();
  }
  if (member.empty()) return absl::OkStatus();
  return SendLeave(member);
}

}  // namespace runnel::client
