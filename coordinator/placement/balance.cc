#include "coordinator/placement/balance.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace runnel::coordinator::placement {
namespace {

class Planner {
 public:
  Planner(const std::vector<BalanceBroker>& brokers, std::vector<BalancePartition>* partitions)
      : partitions_(*partitions) {
    for (const BalanceBroker& b : brokers) {
      brokers_[b.id] = &b;
      if (b.alive && !b.draining) {
        replicas_[b.id] = 0;
        leaders_[b.id] = 0;
      }
    }
    for (const BalancePartition& p : partitions_) {
      for (size_t i = 0; i < p.replicas.size(); ++i) {
        if (replicas_.count(p.replicas[i]) > 0) ++replicas_[p.replicas[i]];
      }
      if (!p.replicas.empty() && leaders_.count(p.replicas[0]) > 0) ++leaders_[p.replicas[0]];
      had_distinct_racks_.push_back(DistinctRacks(p.replicas));
    }
  }

  absl::Status Drain() {
    for (size_t pi = 0; pi < partitions_.size(); ++pi) {
      BalancePartition& p = partitions_[pi];
      for (size_t i = 0; i < p.replicas.size(); ++i) {
        auto it = brokers_.find(p.replicas[i]);
        if (it == brokers_.end() || !it->second->draining) continue;
        int32_t target = -1;
        for (bool strict_racks : {true, false}) {
          for (int32_t b : ByLoad(replicas_)) {
            if (MayTake(pi, i, b, strict_racks)) {
              target = b;
              break;
            }
          }
          if (target >= 0) break;
        }
        if (target < 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "cannot move ", p.topic, "-", p.partition, " off broker ", p.replicas[i], ": ",
              replicas_.size(), " eligible broker(s) for ", p.replicas.size(), " replicas"));
        }
        Replace(pi, i, target);
      }
    }
    return absl::OkStatus();
  }

  void BalanceReplicas() {
    std::set<int32_t> stuck;
    while (true) {
      const int32_t hi = MostLoaded(replicas_, stuck);
      if (hi < 0) return;
      bool moved = false;
      for (int32_t lo : ByLoad(replicas_)) {
        if (replicas_[lo] + 1 >= replicas_[hi]) break;  // would not narrow the gap
        for (size_t pi = 0; pi < partitions_.size() && !moved; ++pi) {
          const std::vector<int32_t>& r = partitions_[pi].replicas;
          const auto at = std::find(r.begin(), r.end(), hi);
          if (at == r.end()) continue;
          const size_t i = at - r.begin();
          if (MayTake(pi, i, lo, /*strict_racks=*/true)) {
            Replace(pi, i, lo);
            moved = true;
          }
        }
        if (moved) break;
      }
      if (!moved) stuck.insert(hi);
    }
  }

  void BalanceLeaders() {
    std::set<int32_t> stuck;
    while (true) {
      const int32_t hi = MostLoaded(leaders_, stuck);
      if (hi < 0) return;
      bool moved = false;
      for (int32_t lo : ByLoad(leaders_)) {
        if (leaders_[lo] + 1 >= leaders_[hi]) break;
        for (BalancePartition& p : partitions_) {
          if (p.replicas.empty() || p.replicas[0] != hi) continue;
          const auto at = std::find(p.replicas.begin(), p.replicas.end(), lo);
          if (at == p.replicas.end()) continue;
          std::iter_swap(p.replicas.begin(), at);
          --leaders_[hi];
          ++leaders_[lo];
          moved = true;
          break;
        }
        if (moved) break;
      }
      if (!moved) stuck.insert(hi);
    }
  }

 private:
  std::string RackOf(int32_t broker) const {
    auto it = brokers_.find(broker);
    if (it == brokers_.end() || it->second->rack.empty()) return absl::StrCat("#", broker);
    return it->second->rack;
  }

  bool DistinctRacks(const std::vector<int32_t>& replicas) const {
    std::set<std::string> racks;
    for (int32_t b : replicas) racks.insert(RackOf(b));
    return racks.size() == replicas.size();
  }

  // Whether `broker` may replace replica `i` of partition `pi`.
  bool MayTake(size_t pi, size_t i, int32_t broker, bool strict_racks) const {
    const std::vector<int32_t>& r = partitions_[pi].replicas;
    if (std::find(r.begin(), r.end(), broker) != r.end()) return false;
    if (!strict_racks || !had_distinct_racks_[pi]) return true;
    for (size_t j = 0; j < r.size(); ++j) {
      if (j != i && RackOf(r[j]) == RackOf(broker)) return false;
    }
    return true;
  }

  void Replace(size_t pi, size_t i, int32_t broker) {
    int32_t& slot = partitions_[pi].replicas[i];
    if (replicas_.count(slot) > 0) --replicas_[slot];
    ++replicas_[broker];
    if (i == 0) {
      if (leaders_.count(slot) > 0) --leaders_[slot];
      ++leaders_[broker];
    }
    slot = broker;
  }

  // Eligible brokers, least loaded first (ties by id).
  static std::vector<int32_t> ByLoad(const std::map<int32_t, int>& load) {
    std::vector<int32_t> ids;
    for (const auto& [id, n] : load) ids.push_back(id);
    std::stable_sort(ids.begin(), ids.end(),
                     [&load](int32_t a, int32_t b) { return load.at(a) < load.at(b); });
    return ids;
  }

  // The most loaded broker not in `stuck` (ties by lowest id), or -1.
  static int32_t MostLoaded(const std::map<int32_t, int>& load, const std::set<int32_t>& stuck) {
    int32_t best = -1;
    for (const auto& [id, n] : load) {
      if (stuck.count(id) == 0 && (best < 0 || n > load.at(best))) best = id;
    }
    return best;
  }

  std::vector<BalancePartition>& partitions_;
  std::map<int32_t, const BalanceBroker*> brokers_;
  std::map<int32_t, int> replicas_;  // eligible brokers only
  std::map<int32_t, int> leaders_;   // eligible brokers only
  std::vector<bool> had_distinct_racks_;
};

}  // namespace

absl::StatusOr<std::vector<ReplicaMove>> PlanBalance(const std::vector<BalanceBroker>& brokers,
                                                     std::vector<BalancePartition> partitions) {
  std::sort(partitions.begin(), partitions.end(),
            [](const BalancePartition& a, const BalancePartition& b) {
              return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
            });
  const std::vector<BalancePartition> before = partitions;
  Planner planner(brokers, &partitions);
  if (absl::Status s = planner.Drain(); !s.ok()) return s;
  planner.BalanceReplicas();
  planner.BalanceLeaders();

  std::vector<ReplicaMove> moves;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (partitions[i].replicas == before[i].replicas) continue;
    ReplicaMove m{partitions[i].topic,
                  partitions[i].partition,
                  before[i].replicas,
                  partitions[i].replicas,
                  {}};
    for (int32_t b : m.to) {
      if (std::find(m.from.begin(), m.from.end(), b) == m.from.end()) m.added.push_back(b);
    }
    moves.push_back(std::move(m));
  }
  return moves;
}

}  // namespace runnel::coordinator::placement
