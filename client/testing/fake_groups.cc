#include "client/testing/fake_groups.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/group_membership.h"

namespace runnel::client::testing {

namespace v1 = runnel::v1;

namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status CheckGroupId(const std::string& id) {
  absl::Status s = ValidateGroupId(id);
  return s.ok() ? grpc::Status::OK : Invalid(std::string(s.message()));
}

std::string NotFound(const std::string& group) {
  return absl::StrCat("group '", group, "' not found");
}

const grpc::Status kDown(grpc::StatusCode::UNAVAILABLE, "fake broker is down");

}  // namespace

FakeGroups::FakeGroups(PartitionCount partition_count)
    : partition_count_(std::move(partition_count)) {}

FakeGroups::Group* FakeGroups::FindLocked(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return nullptr;
  RefreshLocked(it->second, /*force=*/false);
  return &it->second;
}

void FakeGroups::RefreshLocked(Group& group, bool force) {
  const absl::Time now = absl::Now();
  for (auto it = group.members.begin(); it != group.members.end();) {
    if (now - it->second.last_heartbeat > it->second.session_timeout) {
      it = group.members.erase(it);
      force = true;
    } else {
      ++it;
    }
  }
  // Subscribers of each topic, ordered by member id (the map's order).
  std::map<std::string, std::vector<std::string>> subscribers;
  for (const auto& [id, m] : group.members) {
    for (const std::string& t : m.topics) subscribers[t].push_back(id);
  }
  std::map<std::string, std::set<TopicPartition>> target;
  for (const auto& [topic, ids] : subscribers) {
    const int32_t count = partition_count_(topic);
    const int32_t n = static_cast<int32_t>(ids.size());
    for (int32_t p = 0; p < count; ++p) {
      const int32_t who = group.assignor == "range" ? p * n / count : p % n;
      target[ids[who]].insert({topic, p});
    }
  }
  bool changed = force;
  for (auto& [id, m] : group.members) {
    if (m.target != target[id]) {
      m.target = target[id];
      changed = true;
    }
  }
  if (changed) ++group.generation;
  if (group.members.empty()) group.assignor.clear();
}

grpc::Status FakeGroups::Heartbeat(const std::string& peer, const v1::GroupHeartbeatRequest& r,
                                   v1::GroupHeartbeatResponse* response) {
  if (grpc::Status s = CheckGroupId(r.group_id()); !s.ok()) return s;
  const std::string assignor = r.assignor().empty() ? "cooperative-sticky" : r.assignor();
  if (!IsKnownAssignor(assignor)) {
    return Invalid(absl::StrCat("unknown assignor '", assignor, "'"));
  }
  absl::MutexLock lock(&mu_);
  ++heartbeats_;
  Group& group = groups_[r.group_id()];
  RefreshLocked(group, false);
  if (!group.members.empty() && group.assignor != assignor) {
    return Invalid(absl::StrCat("group '", r.group_id(), "' uses assignor ", group.assignor,
                                ", not ", assignor));
  }
  bool force = false;
  std::string id = r.member_id();
  if (id.empty()) {
    if (r.subscribed_topics_size() == 0) return Invalid("a joining member must subscribe");
    id = absl::StrCat("member-", next_member_++);
    group.members[id].client_id = r.client_id();
    group.members[id].host = peer;
    group.assignor = assignor;
    force = true;
  } else if (group.members.count(id) == 0) {
    response->set_error_code(v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
    response->set_error_message(
        absl::StrCat("member ", id, " is not in group '", r.group_id(), "'"));
    return grpc::Status::OK;
  }
  Member& m = group.members[id];
  m.last_heartbeat = absl::Now();
  m.session_timeout =
      absl::Milliseconds(r.session_timeout_ms() > 0 ? r.session_timeout_ms() : 10000);
  if (r.subscribed_topics_size() > 0) {
    std::vector<std::string> topics(r.subscribed_topics().begin(), r.subscribed_topics().end());
    if (topics != m.topics) {
      m.topics = std::move(topics);
      force = true;
    }
  }
  m.owned = TopicPartitionsFromProto(r.owned_partitions());
  RefreshLocked(group, force);

  // Hand out the target, minus what another member still holds.
  std::set<TopicPartition> held;
  for (const auto& [other_id, other] : group.members) {
    if (other_id == id) continue;
    held.insert(other.owned.begin(), other.owned.end());
    held.insert(other.handed.begin(), other.handed.end());
  }
  std::set<TopicPartition> handed;
  for (const TopicPartition& tp : m.target) {
    if (held.count(tp) == 0) handed.insert(tp);
  }
  for (const TopicPartition& tp : handed) {
    if (m.handed.count(tp) == 0) m.handed_generation[tp] = group.generation;
  }
  m.handed = handed;
  response->set_member_id(id);
  response->set_generation(group.generation);
  response->set_heartbeat_interval_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(interval_)));
  TopicPartitionsToProto(handed, response->mutable_assignment());
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Leave(const v1::LeaveGroupRequest& r) {
  absl::MutexLock lock(&mu_);
  Group* group = FindLocked(r.group_id());
  if (group != nullptr && group->members.erase(r.member_id()) > 0) RefreshLocked(*group, true);
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Commit(const v1::CommitOffsetsRequest& r,
                                v1::CommitOffsetsResponse* response) {
  absl::MutexLock lock(&mu_);
  ++commits_;
  Group* group = FindLocked(r.group_id());
  Member* m = nullptr;
  if (group != nullptr) {
    auto it = group->members.find(r.member_id());
    if (it != group->members.end()) m = &it->second;
  }
  for (const v1::PartitionOffset& o : r.offsets()) {
    v1::PartitionCommitResult* result = response->add_results();
    result->set_topic(o.topic());
    result->set_partition(o.partition());
    const TopicPartition tp{o.topic(), o.partition()};
    if (m == nullptr) {
      result->set_error_code(v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
      result->set_error_message(
          absl::StrCat("member ", r.member_id(), " is not in group '", r.group_id(), "'"));
    } else if ((m->owned.count(tp) == 0 && m->handed.count(tp) == 0) ||
               r.generation() < m->handed_generation[tp]) {
      result->set_error_code(v1::ERROR_CODE_STALE_GENERATION);
      result->set_error_message(absl::StrCat("member ", r.member_id(), " does not own ",
                                             ToString(tp), " in generation ", r.generation()));
    } else if (o.offset() < 0) {
      result->set_error_code(v1::ERROR_CODE_INVALID_REQUEST);
      result->set_error_message(absl::StrCat("negative offset ", o.offset()));
    } else {
      v1::PartitionOffset& stored = group->offsets[tp];
      stored = o;
      stored.set_commit_timestamp_ms(absl::ToUnixMillis(absl::Now()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Fetch(const v1::FetchOffsetsRequest& r,
                               v1::FetchOffsetsResponse* response) {
  absl::MutexLock lock(&mu_);
  Group* group = FindLocked(r.group_id());
  if (r.partitions_size() == 0) {
    if (group != nullptr) {
      for (const auto& [tp, o] : group->offsets) *response->add_offsets() = o;
    }
    return grpc::Status::OK;
  }
  for (const TopicPartition& tp : TopicPartitionsFromProto(r.partitions())) {
    v1::PartitionOffset* o = response->add_offsets();
    o->set_topic(tp.topic);
    o->set_partition(tp.partition);
    o->set_offset(-1);
    if (group == nullptr) continue;
    auto it = group->offsets.find(tp);
    if (it != group->offsets.end()) *o = it->second;
  }
  return grpc::Status::OK;
}

namespace {

v1::GroupState StateOf(bool empty, bool stable) {
  if (empty) return v1::GROUP_STATE_EMPTY;
  return stable ? v1::GROUP_STATE_STABLE : v1::GROUP_STATE_RECONCILING;
}

}  // namespace

grpc::Status FakeGroups::List(v1::ListGroupsResponse* response) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, group] : groups_) {
    RefreshLocked(group, false);
    bool stable = true;
    for (const auto& [mid, m] : group.members) stable &= m.owned == m.target;
    v1::GroupSummary* s = response->add_groups();
    s->set_group_id(id);
    s->set_state(StateOf(group.members.empty(), stable));
    s->set_members(static_cast<int32_t>(group.members.size()));
    s->set_assignor(group.assignor);
  }
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Describe(const v1::DescribeGroupRequest& r,
                                  v1::DescribeGroupResponse* response) {
  absl::MutexLock lock(&mu_);
  Group* group = FindLocked(r.group_id());
  if (group == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, NotFound(r.group_id()));
  bool stable = true;
  const absl::Time now = absl::Now();
  for (const auto& [id, m] : group->members) {
    stable &= m.owned == m.target;
    v1::GroupMember* gm = response->add_members();
    gm->set_member_id(id);
    gm->set_client_id(m.client_id);
    gm->set_client_host(m.host);
    for (const std::string& t : m.topics) gm->add_subscribed_topics(t);
    TopicPartitionsToProto(m.target, gm->mutable_assignment());
    TopicPartitionsToProto(m.owned, gm->mutable_owned_partitions());
    gm->set_millis_since_heartbeat(absl::ToInt64Milliseconds(now - m.last_heartbeat));
  }
  response->set_group_id(r.group_id());
  response->set_state(StateOf(group->members.empty(), stable));
  response->set_generation(group->generation);
  response->set_assignor(group->assignor);
  for (const auto& [tp, o] : group->offsets) *response->add_offsets() = o;
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Alter(const v1::AlterGroupOffsetsRequest& r) {
  if (grpc::Status s = CheckGroupId(r.group_id()); !s.ok()) return s;
  for (const v1::PartitionOffset& o : r.offsets()) {
    if (o.offset() < 0) return Invalid(absl::StrCat("negative offset ", o.offset()));
    const int32_t count = partition_count_(o.topic());
    if (o.partition() < 0 || o.partition() >= count) {
      return Invalid(absl::StrCat("unknown topic or partition ", o.topic(), "-", o.partition()));
    }
  }
  absl::MutexLock lock(&mu_);
  Group& group = groups_[r.group_id()];
  RefreshLocked(group, false);
  if (!group.members.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("group '", r.group_id(), "' has ", group.members.size(),
                                     " live member(s): stop its consumers first"));
  }
  for (const v1::PartitionOffset& o : r.offsets()) {
    v1::PartitionOffset& stored = group.offsets[{o.topic(), o.partition()}];
    stored = o;
    stored.set_commit_timestamp_ms(absl::ToUnixMillis(absl::Now()));
  }
  return grpc::Status::OK;
}

grpc::Status FakeGroups::Delete(const v1::DeleteGroupRequest& r) {
  absl::MutexLock lock(&mu_);
  Group* group = FindLocked(r.group_id());
  if (group == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, NotFound(r.group_id()));
  if (!group->members.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("group '", r.group_id(), "' has ", group->members.size(),
                                     " live member(s): stop its consumers first"));
  }
  groups_.erase(r.group_id());
  return grpc::Status::OK;
}

void FakeGroups::SetHeartbeatInterval(absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  interval_ = interval;
}

void FakeGroups::RemoveMember(const std::string& group, const std::string& member_id) {
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(group);
  if (g != nullptr && g->members.erase(member_id) > 0) RefreshLocked(*g, true);
}

std::vector<std::string> FakeGroups::Members(const std::string& group) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  Group* g = FindLocked(group);
  if (g != nullptr) {
    for (const auto& [id, m] : g->members) out.push_back(id);
  }
  return out;
}

std::set<TopicPartition> FakeGroups::Owned(const std::string& group, const std::string& member_id) {
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(group);
  if (g == nullptr) return {};
  auto it = g->members.find(member_id);
  return it == g->members.end() ? std::set<TopicPartition>() : it->second.owned;
}

std::map<TopicPartition, int64_t> FakeGroups::Offsets(const std::string& group) {
  absl::MutexLock lock(&mu_);
  std::map<TopicPartition, int64_t> out;
  Group* g = FindLocked(group);
  if (g != nullptr) {
    for (const auto& [tp, o] : g->offsets) out[tp] = o.offset();
  }
  return out;
}

int64_t FakeGroups::Generation(const std::string& group) {
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(group);
  return g == nullptr ? 0 : g->generation;
}

int FakeGroups::heartbeats() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

int FakeGroups::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

// ---------------------------------------------------------------------------

FakeGroupsService::FakeGroupsService(std::shared_ptr<FakeGroups> groups, std::function<bool()> down)
    : groups_(std::move(groups)), down_(std::move(down)) {}

grpc::Status FakeGroupsService::GroupHeartbeat(grpc::ServerContext* context,
                                               const v1::GroupHeartbeatRequest* request,
                                               v1::GroupHeartbeatResponse* response) {
  if (down_()) return kDown;
  return groups_->Heartbeat(context->peer(), *request, response);
}

grpc::Status FakeGroupsService::LeaveGroup(grpc::ServerContext*,
                                           const v1::LeaveGroupRequest* request,
                                           v1::LeaveGroupResponse*) {
  if (down_()) return kDown;
  return groups_->Leave(*request);
}

grpc::Status FakeGroupsService::CommitOffsets(grpc::ServerContext*,
                                              const v1::CommitOffsetsRequest* request,
                                              v1::CommitOffsetsResponse* response) {
  if (down_()) return kDown;
  return groups_->Commit(*request, response);
}

grpc::Status FakeGroupsService::FetchOffsets(grpc::ServerContext*,
                                             const v1::FetchOffsetsRequest* request,
                                             v1::FetchOffsetsResponse* response) {
  if (down_()) return kDown;
  return groups_->Fetch(*request, response);
}

grpc::Status FakeGroupsService::ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest*,
                                           v1::ListGroupsResponse* response) {
  if (down_()) return kDown;
  return groups_->List(response);
}

grpc::Status FakeGroupsService::DescribeGroup(grpc::ServerContext*,
                                              const v1::DescribeGroupRequest* request,
                                              v1::DescribeGroupResponse* response) {
  if (down_()) return kDown;
  return groups_->Describe(*request, response);
}

grpc::Status FakeGroupsService::AlterGroupOffsets(grpc::ServerContext*,
                                                  const v1::AlterGroupOffsetsRequest* request,
                                                  v1::AlterGroupOffsetsResponse*) {
  if (down_()) return kDown;
  return groups_->Alter(*request);
}

grpc::Status FakeGroupsService::DeleteGroup(grpc::ServerContext*,
                                            const v1::DeleteGroupRequest* request,
                                            v1::DeleteGroupResponse*) {
  if (down_()) return kDown;
  return groups_->Delete(*request);
}

}  // namespace runnel::client::testing
