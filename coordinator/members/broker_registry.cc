#include "coordinator/members/broker_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/errors.h"
#include "coordinator/store/keys.h"

namespace runnel::coordinator::members {

absl::StatusOr<std::unique_ptr<BrokerRegistry>> BrokerRegistry::Load(store::VersionedStore* store,
                                                                     absl::Duration session_timeout,
                                                                     Clock clock) {
  std::unique_ptr<BrokerRegistry> registry(
      new BrokerRegistry(store, session_timeout, std::move(clock)));
  absl::StatusOr<std::vector<store::KeyValue>> records = store->Scan(store::kBrokerPrefix);
  if (!records.ok()) return records.status();
  // Everyone alive gets a full session from now: the coordinator being down
  // is no evidence that the brokers are.
  const absl::Time now = registry->clock_();
  for (const auto& [key, value] : *records) {
    Member m;
    if (!m.info.ParseFromString(value)) return CorruptMetadataError(key, "not a BrokerInfo");
    if (store::BrokerKey(m.info.id()) != key) {
      return CorruptMetadataError(key, absl::StrCat("holds broker id ", m.info.id()));
    }
    m.last_heard = now;
    registry->members_[m.info.id()] = std::move(m);
  }
  return registry;
}

bool BrokerRegistry::Expired(const Member& m, absl::Time now) const {
  return now - m.last_heard > session_timeout_;
}

bool BrokerRegistry::Live(const Member& m, absl::Time now) const {
  // An expired session not yet fenced by ExpireSessions is not live either.
  return m.info.state() == v1::BROKER_STATE_ALIVE && !Expired(m, now);
}

absl::Status BrokerRegistry::Commit(const std::vector<Member>& updated, store::WriteBatch also) {
  store::WriteBatch& batch = also;
  for (const Member& m : updated) {
    batch.Put(store::BrokerKey(m.info.id()), m.info.SerializeAsString());
  }
  absl::Status s = store_->Commit(std::move(batch));
  if (!s.ok()) return s;
  for (const Member& m : updated) members_[m.info.id()] = m;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> BrokerRegistry::Register(int32_t id, const std::string& address,
                                                 const std::string& rack, store::WriteBatch also) {
  if (id < 0) return absl::InvalidArgumentError(absl::StrCat("broker id must be >= 0, got ", id));
  if (address.empty()) return absl::InvalidArgumentError("broker address must not be empty");
  const absl::Time now = clock_();
  int64_t epoch = 1;
  auto it = members_.find(id);
  if (it != members_.end()) {
    const Member& old = it->second;
    // An id is only "taken" while its holder could still be alive; the same
    // address means the holder itself restarted.
    if (Live(old, now) && old.info.address() != address) {
      return BrokerIdInUseError(id, old.info.address());
    }
    epoch = old.info.broker_epoch() + 1;
  }
  Member m;
  m.info.set_id(id);
  m.info.set_address(address);
  m.info.set_rack(rack);
  m.info.set_state(v1::BROKER_STATE_ALIVE);
  m.info.set_broker_epoch(epoch);
  m.last_heard = now;
  absl::Status s = Commit({m}, std::move(also));
  if (!s.ok()) return s;
  return epoch;
}

absl::Status BrokerRegistry::Heartbeat(int32_t id, int64_t epoch) {
  absl::Status session = CheckSession(id, epoch);
  if (session.ok()) {
    members_[id].last_heard = clock_();
    return session;
  }
  // An expired session is fenced here too, so the outcome does not depend on
  // whether the periodic ExpireSessions has run yet.
  const std::vector<int32_t> expired = ExpiredBrokers();
  if (std::find(expired.begin(), expired.end(), id) != expired.end()) {
    if (absl::Status s = Fence({id}); !s.ok()) return s;
  }
  return session;
}

absl::Status BrokerRegistry::CheckSession(int32_t id, int64_t epoch) const {
  auto it = members_.find(id);
  if (it == members_.end()) return BrokerNotRegisteredError(id);
  const Member& m = it->second;
  if (m.info.state() == v1::BROKER_STATE_FENCED) return BrokerFencedError(id);
  if (epoch != m.info.broker_epoch()) {
    return StaleBrokerEpochError(id, epoch, m.info.broker_epoch());
  }
  if (Expired(m, clock_())) return BrokerFencedError(id);
  return absl::OkStatus();
}

std::vector<int32_t> BrokerRegistry::ExpiredBrokers() const {
  const absl::Time now = clock_();
  std::vector<int32_t> ids;
  for (const auto& [id, m] : members_) {
    if (m.info.state() == v1::BROKER_STATE_ALIVE && Expired(m, now)) ids.push_back(id);
  }
  return ids;
}

absl::Status BrokerRegistry::Fence(const std::vector<int32_t>& ids, store::WriteBatch also) {
  std::vector<Member> fenced;
  for (int32_t id : ids) {
    auto it = members_.find(id);
    if (it == members_.end() || it->second.info.state() != v1::BROKER_STATE_ALIVE) continue;
    fenced.push_back(it->second);
    fenced.back().info.set_state(v1::BROKER_STATE_FENCED);
  }
  if (fenced.empty() && also.empty()) return absl::OkStatus();
  return Commit(fenced, std::move(also));
}

absl::StatusOr<std::vector<int32_t>> BrokerRegistry::ExpireSessions() {
  std::vector<int32_t> ids = ExpiredBrokers();
  if (ids.empty()) return ids;
  absl::Status s = Fence(ids);
  if (!s.ok()) return s;
  return ids;
}

v1::BrokerInfo BrokerRegistry::Snapshot(const Member& m, absl::Time now) const {
  v1::BrokerInfo info = m.info;
  info.set_millis_since_heartbeat(absl::ToInt64Milliseconds(now - m.last_heard));
  return info;
}

std::vector<v1::BrokerInfo> BrokerRegistry::Brokers() const {
  const absl::Time now = clock_();
  std::vector<v1::BrokerInfo> out;
  for (const auto& [id, m] : members_) out.push_back(Snapshot(m, now));
  return out;
}

std::vector<v1::BrokerInfo> BrokerRegistry::LiveBrokers() const {
  const absl::Time now = clock_();
  std::vector<v1::BrokerInfo> out;
  for (const auto& [id, m] : members_) {
    if (Live(m, now)) out.push_back(Snapshot(m, now));
  }
  return out;
}

std::set<int32_t> BrokerRegistry::LiveIds() const {
  const absl::Time now = clock_();
  std::set<int32_t> ids;
  for (const auto& [id, m] : members_) {
    if (Live(m, now)) ids.insert(id);
  }
  return ids;
}

}  // namespace runnel::coordinator::members
