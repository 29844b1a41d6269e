#include "coordinator/groups/group_coordinator.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "coordinator/errors.h"
#include "coordinator/groups/assignor.h"
#include "coordinator/groups/validation.h"

namespace runnel::coordinator::groups {
namespace {

// 128 random bits in hex: unguessable, so a zombie can never come back as
// another member.
std::string NewMemberId() {
  absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

int32_t HeartbeatIntervalMs(absl::Duration session_timeout, bool reconciling) {
  const absl::Duration cap = reconciling ? kReconcilingHeartbeatInterval : kStableHeartbeatInterval;
  return static_cast<int32_t>(absl::ToInt64Milliseconds(std::min(session_timeout / 3, cap)));
}

// An offset to store, committed `now`.
StoredOffset Stamped(uint64_t topic_id, const v1::PartitionOffset& offset, absl::Time now) {
  StoredOffset stored;
  stored.topic_id = topic_id;
  stored.offset = offset;
  stored.offset.set_commit_timestamp_ms(absl::ToUnixMillis(now));
  return stored;
}

// The validated parts of a heartbeat.
struct ParsedHeartbeat {
  std::set<std::string> topics;
  PartitionSet owned;
  std::string assignor;  // effective: "" became the default
  absl::Duration session_timeout;
  absl::Duration rebalance_timeout;
};

absl::StatusOr<ParsedHeartbeat> ParseHeartbeat(const v1::GroupHeartbeatRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  ParsedHeartbeat parsed;
  absl::StatusOr<std::set<std::string>> topics = ParseSubscription(request.subscribed_topics());
  if (!topics.ok()) return topics.status();
  parsed.topics = std::move(*topics);
  if (request.member_id().empty() && parsed.topics.empty()) {
    return absl::InvalidArgumentError("subscribed_topics must not be empty when joining");
  }
  absl::StatusOr<PartitionSet> owned =
      ParsePartitions("owned_partitions", request.owned_partitions());
  if (!owned.ok()) return owned.status();
  parsed.owned = std::move(*owned);
  absl::StatusOr<std::string> assignor = EffectiveAssignor(request.assignor());
  if (!assignor.ok()) return assignor.status();
  parsed.assignor = std::move(*assignor);
  absl::StatusOr<absl::Duration> session = EffectiveSessionTimeout(request.session_timeout_ms());
  if (!session.ok()) return session.status();
  parsed.session_timeout = *session;
  absl::StatusOr<absl::Duration> rebalance =
      EffectiveRebalanceTimeout(request.rebalance_timeout_ms());
  if (!rebalance.ok()) return rebalance.status();
  parsed.rebalance_timeout = *rebalance;
  return parsed;
}

void LogRemoved(const Group& group, const std::string& member_id, absl::string_view reason) {
  RLOG(INFO) << "group member removed" << Kv("group", group.id()) << Kv("member", member_id)
             << Kv("reason", reason) << Kv("generation", group.generation());
}

}  // namespace

GroupCoordinator::GroupCoordinator(Clock clock, std::unique_ptr<OffsetStore> offsets,
                                   TopicCounts counts, std::map<std::string, uint64_t> topic_ids)
    : clock_(std::move(clock)),
      offsets_(std::move(offsets)),
      counts_(std::move(counts)),
      topic_ids_(std::move(topic_ids)) {}

absl::StatusOr<std::unique_ptr<GroupCoordinator>> GroupCoordinator::Open(
    store::MetadataStore* store, const std::vector<v1::TopicInfo>& topics, Clock clock) {
  TopicCounts counts;
  std::map<std::string, uint64_t> ids;
  for (const v1::TopicInfo& t : topics) {
    counts[t.name()] = t.partitions_size();
    ids[t.name()] = t.topic_id();
  }
  absl::StatusOr<std::unique_ptr<OffsetStore>> offsets = OffsetStore::Load(store, ids);
  if (!offsets.ok()) return offsets.status();
  return std::unique_ptr<GroupCoordinator>(new GroupCoordinator(
      std::move(clock), std::move(*offsets), std::move(counts), std::move(ids)));
}

absl::StatusOr<v1::GroupHeartbeatResponse> GroupCoordinator::GroupHeartbeat(
    const v1::GroupHeartbeatRequest& request, const std::string& client_host) {
  absl::StatusOr<ParsedHeartbeat> parsed = ParseHeartbeat(request);
  if (!parsed.ok()) return parsed.status();
  const std::string& group_id = request.group_id();

  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  Group* group = FindGroupLocked(group_id);
  if (request.member_id().empty()) {
    if (group == nullptr) group = &groups_.try_emplace(group_id, group_id).first->second;
    if (!group->AcceptsAssignor(parsed->assignor)) {
      return AssignorMismatchError(group_id, parsed->assignor, group->assignor());
    }
    const std::string member_id = NewMemberId();
    MemberSpec spec{request.client_id(), client_host, parsed->topics, parsed->session_timeout,
                    parsed->rebalance_timeout};
    group->Join(member_id, std::move(spec), parsed->assignor, counts_, now);
    RLOG(INFO) << "group member joined" << Kv("group", group_id) << Kv("member", member_id)
               << Kv("client_id", request.client_id()) << Kv("client_host", client_host)
               << Kv("topics", absl::StrJoin(parsed->topics, ","))
               << Kv("assignor", group->assignor()) << Kv("generation", group->generation());
    return AnswerLocked(*group, member_id, {}, std::move(parsed->owned), now);
  }

  if (group == nullptr || group->FindMember(request.member_id()) == nullptr) {
    v1::GroupHeartbeatResponse response;
    response.set_error_code(v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
    response.set_error_message(UnknownMemberMessage(group_id, request.member_id()));
    response.set_member_id(request.member_id());
    response.set_heartbeat_interval_ms(
        HeartbeatIntervalMs(parsed->session_timeout, /*reconciling=*/true));
    return response;
  }
  // An empty assignor on a later heartbeat means "as joined".
  if (!request.assignor().empty() && parsed->assignor != group->assignor()) {
    return AssignorMismatchError(group_id, parsed->assignor, group->assignor());
  }
  return AnswerLocked(*group, request.member_id(), parsed->topics, std::move(parsed->owned), now);
}

v1::GroupHeartbeatResponse GroupCoordinator::AnswerLocked(Group& group,
                                                          const std::string& member_id,
                                                          const std::set<std::string>& topics,
                                                          PartitionSet owned, absl::Time now) {
  const int64_t generation_before = group.generation();
  Reconciled answer = group.Heartbeat(member_id, topics, std::move(owned), counts_, now);
  if (group.generation() != generation_before) {
    RLOG(INFO) << "group subscription changed" << Kv("group", group.id()) << Kv("member", member_id)
               << Kv("topics", absl::StrJoin(topics, ",")) << Kv("generation", group.generation());
  }
  const Member* member = group.FindMember(member_id);
  v1::GroupHeartbeatResponse response;
  response.set_member_id(member_id);
  response.set_generation(answer.generation);
  response.set_heartbeat_interval_ms(HeartbeatIntervalMs(
      member->spec.session_timeout, group.state() == v1::GROUP_STATE_RECONCILING));
  ToProto(answer.assignment, response.mutable_assignment());
  return response;
}

absl::Status GroupCoordinator::LeaveGroup(const v1::LeaveGroupRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Group* group = FindGroupLocked(request.group_id());
  if (group == nullptr) return absl::OkStatus();
  if (group->Remove(request.member_id(), counts_, clock_())) {
    LogRemoved(*group, request.member_id(), "left");
    ForgetIfUnusedLocked(request.group_id());  // invalidates `group`
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CommitOffsetsResponse> GroupCoordinator::CommitOffsets(
    const v1::CommitOffsetsRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  const Group* group = FindGroupLocked(request.group_id());
  v1::CommitOffsetsResponse response;
  std::vector<StoredOffset> accepted;
  for (const v1::PartitionOffset& o : request.offsets()) {
    v1::PartitionCommitResult* result = response.add_results();
    result->set_topic(o.topic());
    result->set_partition(o.partition());
    CommitCheck check;
    if (absl::Status s = ValidateOffset(o); !s.ok()) {
      check = {v1::ERROR_CODE_INVALID_REQUEST, std::string(s.message())};
    } else if (group == nullptr) {
      check = {v1::ERROR_CODE_UNKNOWN_MEMBER_ID,
               UnknownMemberMessage(request.group_id(), request.member_id())};
    } else {
      check =
          group->CheckCommit(request.member_id(), request.generation(), {o.topic(), o.partition()});
    }
    auto topic_id = topic_ids_.find(o.topic());
    if (check.code == v1::ERROR_CODE_NONE && topic_id == topic_ids_.end()) {
      check = {v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION,
               absl::StrCat("topic '", o.topic(), "' does not exist (deleted)")};
    }
    if (check.code != v1::ERROR_CODE_NONE) {
      result->set_error_code(check.code);
      result->set_error_message(std::move(check.message));
      continue;
    }
    accepted.push_back(Stamped(topic_id->second, o, now));
  }
  if (absl::Status s = offsets_->Commit(request.group_id(), accepted); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::FetchOffsetsResponse> GroupCoordinator::FetchOffsets(
    const v1::FetchOffsetsRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  absl::StatusOr<PartitionSet> wanted = ParsePartitions("partitions", request.partitions());
  if (!wanted.ok()) return wanted.status();
  absl::MutexLock lock(&mu_);
  const GroupOffsets* offsets = offsets_->Find(request.group_id());
  v1::FetchOffsetsResponse response;
  if (request.partitions().empty()) {
    if (offsets != nullptr) {
      for (const auto& [tp, o] : *offsets) *response.add_offsets() = o.offset;
    }
    return response;
  }
  // In request order, as asked.
  for (const v1::TopicPartitions& tps : request.partitions()) {
    for (int32_t p : tps.partitions()) {
      const StoredOffset* found = nullptr;
      if (offsets != nullptr) {
        auto it = offsets->find({tps.topic(), p});
        if (it != offsets->end()) found = &it->second;
      }
      v1::PartitionOffset* out = response.add_offsets();
      if (found != nullptr) {
        *out = found->offset;
        continue;
      }
      out->set_topic(tps.topic());
      out->set_partition(p);
      out->set_offset(-1);
    }
  }
  return response;
}

v1::ListGroupsResponse GroupCoordinator::ListGroups() {
  absl::MutexLock lock(&mu_);
  std::set<std::string> ids;
  for (const auto& [id, group] : groups_) ids.insert(id);
  for (std::string& id : offsets_->Groups()) ids.insert(std::move(id));
  v1::ListGroupsResponse response;
  for (const std::string& id : ids) {
    const Group* group = FindGroupLocked(id);
    if (group == nullptr && offsets_->Find(id) == nullptr) continue;  // just forgotten
    v1::GroupSummary* summary = response.add_groups();
    summary->set_group_id(id);
    summary->set_state(v1::GROUP_STATE_EMPTY);
    if (group != nullptr) {
      summary->set_state(group->state());
      summary->set_members(static_cast<int32_t>(group->members().size()));
      summary->set_assignor(group->assignor());
    }
  }
  return response;
}

absl::StatusOr<v1::DescribeGroupResponse> GroupCoordinator::DescribeGroup(
    const v1::DescribeGroupRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  const Group* group = FindGroupLocked(request.group_id());
  const GroupOffsets* offsets = offsets_->Find(request.group_id());
  if (group == nullptr && offsets == nullptr) return GroupNotFoundError(request.group_id());
  v1::DescribeGroupResponse response;
  response.set_group_id(request.group_id());
  response.set_state(v1::GROUP_STATE_EMPTY);
  if (group != nullptr) {
    response.set_state(group->state());
    response.set_generation(group->generation());
    response.set_assignor(group->assignor());
    for (const auto& [id, m] : group->members()) {
      v1::GroupMember* out = response.add_members();
      out->set_member_id(id);
      out->set_client_id(m.spec.client_id);
      out->set_client_host(m.spec.client_host);
      for (const std::string& topic : m.spec.topics) out->add_subscribed_topics(topic);
      ToProto(m.target, out->mutable_assignment());
      ToProto(m.owned, out->mutable_owned_partitions());
      out->set_millis_since_heartbeat(absl::ToInt64Milliseconds(now - m.last_heartbeat));
    }
  }
  if (offsets != nullptr) {
    for (const auto& [tp, o] : *offsets) *response.add_offsets() = o.offset;
  }
  return response;
}

absl::Status GroupCoordinator::AlterGroupOffsets(const v1::AlterGroupOffsetsRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  for (const v1::PartitionOffset& o : request.offsets()) {
    if (absl::Status s = ValidateOffset(o); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  const Group* group = FindGroupLocked(request.group_id());
  if (group != nullptr && !group->empty()) {
    return GroupHasMembersError(request.group_id(), group->members().size());
  }
  std::vector<StoredOffset> offsets;
  for (const v1::PartitionOffset& o : request.offsets()) {
    if (absl::Status s = CheckPartitionExistsLocked(o); !s.ok()) return s;
    offsets.push_back(Stamped(topic_ids_.at(o.topic()), o, now));
  }
  if (absl::Status s = offsets_->Commit(request.group_id(), offsets); !s.ok()) return s;
  RLOG(INFO) << "group offsets altered" << Kv("group", request.group_id())
             << Kv("offsets", offsets.size());
  return absl::OkStatus();
}

absl::Status GroupCoordinator::DeleteGroup(const v1::DeleteGroupRequest& request) {
  if (absl::Status s = ValidateGroupId(request.group_id()); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Group* group = FindGroupLocked(request.group_id());
  if (group != nullptr && !group->empty()) {
    return GroupHasMembersError(request.group_id(), group->members().size());
  }
  if (group == nullptr && offsets_->Find(request.group_id()) == nullptr) {
    return GroupNotFoundError(request.group_id());
  }
  if (absl::Status s = offsets_->DeleteGroup(request.group_id()); !s.ok()) return s;
  if (group != nullptr) retired_generations_ += group->generation();
  groups_.erase(request.group_id());
  RLOG(INFO) << "group deleted" << Kv("group", request.group_id());
  return absl::OkStatus();
}

void GroupCoordinator::TopicChanged(const v1::TopicInfo& topic) {
  absl::MutexLock lock(&mu_);
  counts_[topic.name()] = topic.partitions_size();
  topic_ids_[topic.name()] = topic.topic_id();
  RebalanceOnTopicChangeLocked();
}

void GroupCoordinator::TopicDeleted(const std::string& name) {
  absl::MutexLock lock(&mu_);
  counts_.erase(name);
  topic_ids_.erase(name);
  // On failure the offsets stay in the store, keyed by the deleted topic's
  // id, and are dropped at the next load.
  if (absl::Status s = offsets_->DeleteTopic(name); !s.ok()) {
    RLOG(ERROR) << "cannot delete committed offsets of deleted topic" << Kv("topic", name)
                << Kv("error", s.ToString());
  }
  RebalanceOnTopicChangeLocked();
}

void GroupCoordinator::Tick() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, group] : groups_) ids.push_back(id);
  for (const std::string& id : ids) FindGroupLocked(id);  // expires, forgets if unused
}

Group* GroupCoordinator::FindGroupLocked(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return nullptr;
  ExpireLocked(it->second, clock_());
  if (ForgetIfUnusedLocked(group_id)) return nullptr;
  return &it->second;
}

void GroupCoordinator::ExpireLocked(Group& group, absl::Time now) {
  for (const auto& [member_id, reason] : group.Expire(counts_, now)) {
    LogRemoved(group, member_id, reason);
  }
}

bool GroupCoordinator::ForgetIfUnusedLocked(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.empty() || offsets_->Find(group_id) != nullptr) {
    return false;
  }
  retired_generations_ += it->second.generation();
  groups_.erase(it);
  return true;
}

GroupsStats GroupCoordinator::Stats() {
  absl::MutexLock lock(&mu_);
  GroupsStats stats;
  stats.rebalances = retired_generations_;
  std::map<std::string, GroupStats> by_id;
  for (const auto& [id, group] : groups_) {
    GroupStats& g = by_id[id];
    g.state = group.state();
    g.members = static_cast<int32_t>(group.members().size());
    g.generation = group.generation();
    stats.rebalances += group.generation();
  }
  // Groups with offsets but no members since a restart are not in groups_.
  for (const std::string& id : offsets_->Groups()) {
    GroupStats& g = by_id[id];
    for (const auto& [tp, offset] : *offsets_->Find(id)) g.offsets.push_back(offset);
  }
  for (auto& [id, g] : by_id) {
    g.group_id = id;
    stats.groups.push_back(std::move(g));
  }
  return stats;
}

void GroupCoordinator::RebalanceOnTopicChangeLocked() {
  const absl::Time now = clock_();
  for (auto& [id, group] : groups_) {
    if (group.TopicsChanged(counts_, now)) {
      RLOG(INFO) << "group rebalanced: subscribed topic changed" << Kv("group", id)
                 << Kv("generation", group.generation());
    }
  }
}

absl::Status GroupCoordinator::CheckPartitionExistsLocked(const v1::PartitionOffset& o) const {
  // InvalidArgument rather than NotFound: NotFound is for the group.
  auto count = counts_.find(o.topic());
  if (count == counts_.end()) {
    return absl::InvalidArgumentError(TopicNotFoundError(o.topic()).message());
  }
  if (o.partition() >= count->second) {
    return absl::InvalidArgumentError(
        PartitionNotFoundError(o.topic(), o.partition(), count->second).message());
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::groups
