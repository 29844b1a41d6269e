#include "coordinator/members/broker_registry.h"

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

absl::Status BrokerRegistry::Commit(const std::vector<Member>& updated) {
  store::WriteBatch batch;
  for (const Member& m : updated) {
    batch.Put(store::BrokerKey(m.info.id()), m.info.SerializeAsString());
  }
  absl::Status s = store_->Commit(std::move(batch));
  if (!s.ok()) return s;
  for (const Member& m : updated) members_[m.info.id()] = m;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> BrokerRegistry::Register(int32_t id, const std::string& address,
                                                 const std::string& rack) {
  if (id < 0) return absl::InvalidArgumentError(absl::StrCat("broker id must be >= 0, got ", id));
  if (address.empty()) return absl::InvalidArgumentError("broker address must not be empty");
  const absl::Time now = clock_();
  int64_t epoch = 1;
  auto it = members_.find(id);
  if (it != members_.end()) {
    const Member& old = it->second;
    // An id is only "taken" while its holder could still be alive; the same
    // address means the holder itself restarted.
    if (old.info.state() == v1::BROKER_STATE_ALIVE && !Expired(old, now) &&
        old.info.address() != address) {
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
  absl::Status s = Commit({m});
  if (!s.ok()) return s;
  return epoch;
}

absl::Status BrokerRegistry::Heartbeat(int32_t id, int64_t epoch) {
  auto it = members_.find(id);
  if (it == members_.end()) return BrokerNotRegisteredError(id);
  Member& m = it->second;
  if (m.info.state() == v1::BROKER_STATE_FENCED) return BrokerFencedError(id);
  if (epoch != m.info.broker_epoch()) {
    return StaleBrokerEpochError(id, epoch, m.info.broker_epoch());
  }
  const absl::Time now = clock_();
  if (Expired(m, now)) {
    // Decide expiry here too, so the outcome does not depend on whether the
    // periodic ExpireSessions has run yet.
    Member fenced = m;
    fenced.info.set_state(v1::BROKER_STATE_FENCED);
    absl::Status s = Commit({fenced});
    if (!s.ok()) return s;
    return BrokerFencedError(id);
  }
  m.last_heard = now;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> BrokerRegistry::ExpireSessions() {
  const absl::Time now = clock_();
  std::vector<Member> fenced;
  for (const auto& [id, m] : members_) {
    if (m.info.state() == v1::BROKER_STATE_ALIVE && Expired(m, now)) {
      fenced.push_back(m);
      fenced.back().info.set_state(v1::BROKER_STATE_FENCED);
    }
  }
  std::vector<int32_t> ids;
  if (fenced.empty()) return ids;
  absl::Status s = Commit(fenced);
  if (!s.ok()) return s;
  for (const Member& m : fenced) ids.push_back(m.info.id());
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
    // An expired session not yet fenced by ExpireSessions is not live either.
    if (m.info.state() == v1::BROKER_STATE_ALIVE && !Expired(m, now)) {
      out.push_back(Snapshot(m, now));
    }
  }
  return out;
}

}  // namespace runnel::coordinator::members
