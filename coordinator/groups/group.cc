#include "coordinator/groups/group.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coordinator/errors.h"
#include "coordinator/groups/assignor.h"

namespace runnel::coordinator::groups {

std::string UnknownMemberMessage(absl::string_view group_id, absl::string_view member_id) {
  return absl::StrCat("member '", member_id, "' is not in group '", group_id,
                      "' (removed or never joined): join again");
}

const Member* Group::FindMember(const std::string& member_id) const {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

v1::GroupState Group::state() const {
  if (members_.empty()) return v1::GROUP_STATE_EMPTY;
  for (const auto& [id, m] : members_) {
    if (m.owned != m.target || m.handed.size() != m.target.size()) {
      return v1::GROUP_STATE_RECONCILING;
    }
    for (const auto& [tp, generation] : m.handed) {
      if (m.target.count(tp) == 0) return v1::GROUP_STATE_RECONCILING;
    }
  }
  return v1::GROUP_STATE_STABLE;
}

bool Group::AcceptsAssignor(const std::string& assignor) const {
  return members_.empty() || assignor == assignor_;
}

void Group::Join(const std::string& member_id, MemberSpec spec, const std::string& assignor,
                 const TopicCounts& topics, absl::Time now) {
  if (members_.empty()) assignor_ = assignor;
  Member& m = members_[member_id];
  m.id = member_id;
  m.spec = std::move(spec);
  m.last_heartbeat = now;
  Rebalance(topics, now);
}

Reconciled Group::Heartbeat(const std::string& member_id, const std::set<std::string>& topics,
                            PartitionSet owned, const TopicCounts& topics_now, absl::Time now) {
  Member& m = members_.at(member_id);
  m.last_heartbeat = now;
  m.owned = std::move(owned);
  if (!topics.empty() && topics != m.spec.topics) {
    m.spec.topics = topics;
    Rebalance(topics_now, now);
  }
  PartitionSet held_by_others;
  for (const auto& [id, other] : members_) {
    if (id == member_id) continue;
    held_by_others.insert(other.owned.begin(), other.owned.end());
    for (const auto& [tp, generation] : other.handed) held_by_others.insert(tp);
  }
  Reconciled answer;
  answer.generation = generation_;
  for (const TopicPartition& tp : m.target) {
    if (held_by_others.count(tp) > 0) continue;  // withheld until its holder lets go
    answer.assignment.insert(tp);
    m.handed.emplace(tp, generation_);  // keeps the generation of an earlier hand-over
  }
  for (auto it = m.handed.begin(); it != m.handed.end();) {
    const bool released = answer.assignment.count(it->first) == 0 && m.owned.count(it->first) == 0;
    it = released ? m.handed.erase(it) : std::next(it);
  }
  // Answered without them, it has its rebalance timeout to let them go.
  if (!HoldsOutsideTarget(m)) {
    m.revoking_since = absl::InfiniteFuture();
  } else {
    m.revoking_since = std::min(m.revoking_since, now);
  }
  return answer;
}

bool Group::Remove(const std::string& member_id, const TopicCounts& topics, absl::Time now) {
  if (members_.erase(member_id) == 0) return false;
  Rebalance(topics, now);
  return true;
}

std::vector<std::pair<std::string, std::string>> Group::Expire(const TopicCounts& topics,
                                                               absl::Time now) {
  std::vector<std::pair<std::string, std::string>> removed;
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    std::string reason;
    if (now - m.last_heartbeat > m.spec.session_timeout) {
      reason = absl::StrCat("session timeout ", absl::FormatDuration(m.spec.session_timeout),
                            " expired");
    } else if (now - m.revoking_since > m.spec.rebalance_timeout) {
      reason = absl::StrCat("kept partitions to revoke past its rebalance timeout ",
                            absl::FormatDuration(m.spec.rebalance_timeout));
    }
    if (reason.empty()) {
      ++it;
      continue;
    }
    removed.push_back({it->first, std::move(reason)});
    it = members_.erase(it);
  }
  if (!removed.empty()) Rebalance(topics, now);
  return removed;
}

bool Group::TopicsChanged(const TopicCounts& topics, absl::Time now) {
  if (members_.empty() || SubscribedCounts(topics) == seen_counts_) return false;
  Rebalance(topics, now);
  return true;
}

CommitCheck Group::CheckCommit(const std::string& member_id, int64_t generation,
                               const TopicPartition& tp) const {
  const Member* m = FindMember(member_id);
  if (m == nullptr) {
    return {v1::ERROR_CODE_UNKNOWN_MEMBER_ID, UnknownMemberMessage(id_, member_id)};
  }
  const std::string partition = PartitionName(tp.topic, tp.partition);
  if (generation > generation_) {
    return {v1::ERROR_CODE_STALE_GENERATION,
            absl::StrCat("generation ", generation, " is newer than group '", id_,
                         "''s generation ", generation_)};
  }
  auto handed = m->handed.find(tp);
  if (handed == m->handed.end()) {
    return {v1::ERROR_CODE_STALE_GENERATION,
            absl::StrCat("member '", member_id, "' does not own ", partition, " (generation ",
                         generation_, ")")};
  }
  if (generation < handed->second) {
    return {v1::ERROR_CODE_STALE_GENERATION,
            absl::StrCat("generation ", generation, " is older than generation ", handed->second,
                         " in which ", partition, " was assigned to member '", member_id, "'")};
  }
  return {};
}

void Group::Rebalance(const TopicCounts& topics, absl::Time now) {
  ++generation_;
  seen_counts_ = SubscribedCounts(topics);
  std::vector<AssignorMember> in;
  for (const auto& [id, m] : members_) in.push_back({id, m.spec.topics, m.target});
  Assignment target = Assign(assignor_, in, seen_counts_);
  for (auto& [id, m] : members_) {
    m.target = std::move(target[id]);
    // Its clock starts when it is told, at its next heartbeat.
    if (!HoldsOutsideTarget(m)) m.revoking_since = absl::InfiniteFuture();
  }
}

bool Group::HoldsOutsideTarget(const Member& member) {
  for (const TopicPartition& tp : member.owned) {
    if (member.target.count(tp) == 0) return true;
  }
  for (const auto& [tp, generation] : member.handed) {
    if (member.target.count(tp) == 0) return true;
  }
  return false;
}

TopicCounts Group::SubscribedCounts(const TopicCounts& topics) const {
  TopicCounts counts;
  for (const auto& [id, m] : members_) {
    for (const std::string& topic : m.spec.topics) {
      auto it = topics.find(topic);
      counts[topic] = it == topics.end() ? 0 : it->second;
    }
  }
  return counts;
}

}  // namespace runnel::coordinator::groups
