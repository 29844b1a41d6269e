#include "coordinator/groups/assignor.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace runnel::coordinator::groups {
namespace {

int32_t CountOf(const TopicCounts& topics, const std::string& topic) {
  auto it = topics.find(topic);
  return it == topics.end() ? 0 : it->second;
}

// Members by id, so that every assignor's tie-breaks follow member ids
// whatever order the caller used.
std::vector<const AssignorMember*> SortedById(const std::vector<AssignorMember>& members) {
  std::vector<const AssignorMember*> sorted;
  for (const AssignorMember& m : members) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const AssignorMember* a, const AssignorMember* b) { return a->id < b->id; });
  return sorted;
}

Assignment EmptyAssignment(const std::vector<AssignorMember>& members) {
  Assignment out;
  for (const AssignorMember& m : members) out[m.id];
  return out;
}

// Every partition of every topic someone subscribes to, in (topic, partition) order.
std::vector<TopicPartition> SubscribedPartitions(const std::vector<AssignorMember>& members,
                                                 const TopicCounts& topics) {
  std::set<std::string> names;
  for (const AssignorMember& m : members) names.insert(m.topics.begin(), m.topics.end());
  std::vector<TopicPartition> out;
  for (const std::string& name : names) {
    for (int32_t p = 0; p < CountOf(topics, name); ++p) out.push_back({name, p});
  }
  return out;
}

}  // namespace

bool IsKnownAssignor(absl::string_view name) {
  return name == kRangeAssignor || name == kRoundRobinAssignor || name == kStickyAssignor;
}

Assignment Assign(absl::string_view name, const std::vector<AssignorMember>& members,
                  const TopicCounts& topics) {
  if (name == kRangeAssignor) return RangeAssign(members, topics);
  if (name == kRoundRobinAssignor) return RoundRobinAssign(members, topics);
  return StickyAssign(members, topics);
}

Assignment RangeAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics) {
  Assignment out = EmptyAssignment(members);
  const std::vector<const AssignorMember*> sorted = SortedById(members);
  std::set<std::string> names;
  for (const AssignorMember& m : members) names.insert(m.topics.begin(), m.topics.end());
  for (const std::string& name : names) {
    std::vector<const AssignorMember*> subscribed;
    for (const AssignorMember* m : sorted) {
      if (m->topics.count(name) > 0) subscribed.push_back(m);
    }
    const int32_t count = CountOf(topics, name);
    const int32_t n = static_cast<int32_t>(subscribed.size());
    int32_t next = 0;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t take = count / n + (i < count % n ? 1 : 0);
      for (int32_t k = 0; k < take; ++k) out[subscribed[i]->id].insert({name, next++});
    }
  }
  return out;
}

Assignment RoundRobinAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics) {
  Assignment out = EmptyAssignment(members);
  const std::vector<const AssignorMember*> sorted = SortedById(members);
  if (sorted.empty()) return out;
  size_t cursor = 0;
  for (const TopicPartition& tp : SubscribedPartitions(members, topics)) {
    // Someone subscribes to tp.topic, so this finds a member within one round.
    while (sorted[cursor]->topics.count(tp.topic) == 0) cursor = (cursor + 1) % sorted.size();
    out[sorted[cursor]->id].insert(tp);
    cursor = (cursor + 1) % sorted.size();
  }
  return out;
}

Assignment StickyAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics) {
  Assignment out = EmptyAssignment(members);
  const std::vector<const AssignorMember*> sorted = SortedById(members);
  const std::vector<TopicPartition> all = SubscribedPartitions(members, topics);
  const PartitionSet wanted(all.begin(), all.end());
  auto eligible = [](const AssignorMember& m, const TopicPartition& tp) {
    return m.topics.count(tp.topic) > 0;
  };

  // 1. Every partition stays with its current owner while that one still
  // subscribes to it.
  PartitionSet placed;
  for (const AssignorMember* m : sorted) {
    for (const TopicPartition& tp : m->current) {
      if (wanted.count(tp) > 0 && eligible(*m, tp) && placed.insert(tp).second) {
        out[m->id].insert(tp);
      }
    }
  }

  // 2. The others go to the least-loaded eligible member, the partitions with
  // the fewest candidates first so that they are not crowded out.
  std::vector<std::pair<size_t, TopicPartition>> unplaced;
  for (const TopicPartition& tp : all) {
    if (placed.count(tp) > 0) continue;
    size_t candidates = 0;
    for (const AssignorMember* m : sorted) candidates += eligible(*m, tp) ? 1 : 0;
    unplaced.push_back({candidates, tp});
  }
  std::sort(unplaced.begin(), unplaced.end());
  for (const auto& [candidates, tp] : unplaced) {
    const AssignorMember* best = nullptr;
    for (const AssignorMember* m : sorted) {
      if (eligible(*m, tp) && (best == nullptr || out[m->id].size() < out[best->id].size())) {
        best = m;
      }
    }
    out[best->id].insert(tp);
  }

  // 3. Balance: move one partition at a time from the most to the least
  // loaded member that can take it, while their counts differ by more than
  // one. Each move is needed for balance (it lowers the sum of squared
  // counts), so with equal subscriptions this moves the fewest partitions.
  for (;;) {
    std::vector<const AssignorMember*> by_load = sorted;
    std::stable_sort(by_load.begin(), by_load.end(),
                     [&out](const AssignorMember* a, const AssignorMember* b) {
                       return out[a->id].size() < out[b->id].size();
                     });
    bool moved = false;
    for (auto receiver = by_load.begin(); receiver != by_load.end() && !moved; ++receiver) {
      PartitionSet& to = out[(*receiver)->id];
      for (auto donor = by_load.rbegin(); donor != by_load.rend(); ++donor) {
        PartitionSet& from = out[(*donor)->id];
        if (from.size() <= to.size() + 1) break;
        // The donor's last partition the receiver can take.
        auto it = std::find_if(from.rbegin(), from.rend(),
                               [&](const TopicPartition& tp) { return eligible(**receiver, tp); });
        if (it == from.rend()) continue;
        to.insert(*it);
        from.erase(std::next(it).base());
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  return out;
}

}  // namespace runnel::coordinator::groups
