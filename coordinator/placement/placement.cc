#include "coordinator/placement/placement.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "coordinator/errors.h"

namespace runnel::coordinator::placement {
namespace {

// Numbers the racks; each broker without a rack gets a rack of its own, so it
// never collides with another broker.
std::vector<int> RackIds(const std::vector<Candidate>& brokers) {
  std::map<std::string, int> ids;
  std::vector<int> out;
  int next = 0;
  for (const Candidate& b : brokers) {
    if (b.rack.empty()) {
      out.push_back(next++);
      continue;
    }
    auto [it, inserted] = ids.emplace(b.rack, next);
    if (inserted) ++next;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::vector<int32_t>>> PlaceReplicas(int32_t partitions,
                                                                int32_t replication_factor,
                                                                std::vector<Candidate> brokers) {
  if (partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("partitions must be >= 1, got ", partitions));
  }
  if (replication_factor < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication factor must be >= 1, got ", replication_factor));
  }
  const int n = static_cast<int>(brokers.size());
  if (replication_factor > n) return NotEnoughBrokersError(replication_factor, n);

  std::sort(brokers.begin(), brokers.end(),
            [](const Candidate& a, const Candidate& b) { return a.broker_id < b.broker_id; });
  const std::vector<int> rack = RackIds(brokers);

  std::vector<std::vector<int32_t>> placement;
  placement.reserve(partitions);
  int cursor = 0;  // where the round-robin tie-break starts
  for (int32_t p = 0; p < partitions; ++p) {
    // Position after `start` in the rotation: smaller wins ties.
    auto rotation = [n](int i, int start) { return (i - start + n) % n; };

    int leader = 0;
    for (int i = 1; i < n; ++i) {
      auto key = [&](int j) {
        return std::make_tuple(brokers[j].leaders, brokers[j].replicas, rotation(j, cursor));
      };
      if (key(i) < key(leader)) leader = i;
    }

    std::vector<int> chosen = {leader};
    std::vector<bool> taken(n, false);
    std::vector<bool> rack_used(n, false);  // rack ids are < n
    taken[leader] = true;
    rack_used[rack[leader]] = true;
    while (static_cast<int32_t>(chosen.size()) < replication_factor) {
      int best = -1;
      auto key = [&](int j) {
        return std::make_tuple(rack_used[rack[j]], brokers[j].replicas, rotation(j, leader + 1));
      };
      for (int i = 0; i < n; ++i) {
        if (!taken[i] && (best < 0 || key(i) < key(best))) best = i;
      }
      chosen.push_back(best);
      taken[best] = true;
      rack_used[rack[best]] = true;
    }

    std::vector<int32_t> replicas;
    for (int i : chosen) {
      replicas.push_back(brokers[i].broker_id);
      ++brokers[i].replicas;
    }
    ++brokers[leader].leaders;
    placement.push_back(std::move(replicas));
    cursor = (leader + 1) % n;
  }
  return placement;
}

}  // namespace runnel::coordinator::placement
