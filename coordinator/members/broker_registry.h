// BrokerRegistry: which brokers belong to the cluster and which of them are
// alive. A broker registers (getting a new broker epoch), then heartbeats; one
// not heard from for the session timeout is FENCED and must register again.
//
// Durable: each broker's record (address, rack, state, epoch) is committed
// through the VersionedStore, so every registration, fence and unfence bumps
// the metadata version, and broker epochs never go backwards across
// coordinator restarts. Register and Fence take `also`: other writes (the
// partition elections the change causes) to commit in the same atomic write,
// so that no reader or restart ever sees one without the other. Last-heard
// times are memory only: on load, every alive broker gets a fresh session
// rather than being fenced for the coordinator's own downtime.
//
// Time comes from an injected Clock so tests control it.
// Ownership: does not own the VersionedStore, which must outlive it.
// Thread-safety: not thread-safe; the Coordinator serialises all calls.
#ifndef RUNNEL_COORDINATOR_MEMBERS_BROKER_REGISTRY_H_
#define RUNNEL_COORDINATOR_MEMBERS_BROKER_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/store/versioned_store.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::members {

// The current time. Production passes absl::Now; tests pass a fake.
using Clock = std::function<absl::Time()>;

class BrokerRegistry {
 public:
  // Loads every broker ever registered from `store`.
  static absl::StatusOr<std::unique_ptr<BrokerRegistry>> Load(store::VersionedStore* store,
                                                              absl::Duration session_timeout,
                                                              Clock clock);

  // Registers broker `id` (or re-registers it after a restart or a fence) and
  // returns its new epoch. AlreadyExists if a live broker with an unexpired
  // session holds `id` at another address; the same address re-registering is
  // a restarted broker and is accepted. `also` is committed with it.
  absl::StatusOr<int64_t> Register(int32_t id, const std::string& address, const std::string& rack,
                                   store::WriteBatch also = store::WriteBatch());

  // Renews the session of broker `id` at `epoch`. FailedPrecondition when
  // the broker is unknown, fenced, its session has already expired (it is
  // fenced now), or `epoch` is not its current epoch.
  absl::Status Heartbeat(int32_t id, int64_t epoch);

  // Whether broker `id` at `epoch` holds a live session, without renewing it:
  // the same FailedPrecondition errors as Heartbeat, and an expired session
  // counts as fenced.
  absl::Status CheckSession(int32_t id, int64_t epoch) const;

  // The alive brokers whose session has expired, ascending: those that
  // ExpireSessions would fence now.
  std::vector<int32_t> ExpiredBrokers() const;
  // Fences the alive brokers among `ids`, in one commit with `also`.
  // Commits nothing when there is nothing to fence and `also` is empty.
  absl::Status Fence(const std::vector<int32_t>& ids, store::WriteBatch also = store::WriteBatch());
  // Fences every alive broker whose session has expired, in one commit.
  // Returns their ids, ascending (empty when nothing changed).
  absl::StatusOr<std::vector<int32_t>> ExpireSessions();

  // Every registered broker by ascending id, with millis_since_heartbeat set.
  std::vector<v1::BrokerInfo> Brokers() const;
  // The alive brokers with unexpired sessions, by ascending id.
  std::vector<v1::BrokerInfo> LiveBrokers() const;
  // Their ids.
  std::set<int32_t> LiveIds() const;

  absl::Duration session_timeout() const { return session_timeout_; }

 private:
  struct Member {
    v1::BrokerInfo info;  // as persisted; millis_since_heartbeat unused
    absl::Time last_heard;
  };

  BrokerRegistry(store::VersionedStore* store, absl::Duration session_timeout, Clock clock)
      : store_(store), session_timeout_(session_timeout), clock_(std::move(clock)) {}

  bool Expired(const Member& m, absl::Time now) const;
  bool Live(const Member& m, absl::Time now) const;
  // Persists the members' records (and `also`) in one commit, then applies
  // them in memory, so memory never runs ahead of the store.
  absl::Status Commit(const std::vector<Member>& updated,
                      store::WriteBatch also = store::WriteBatch());
  v1::BrokerInfo Snapshot(const Member& m, absl::Time now) const;

  store::VersionedStore* store_;
  absl::Duration session_timeout_;
  Clock clock_;
  std::map<int32_t, Member> members_;
};

}  // namespace runnel::coordinator::members

#endif  // RUNNEL_COORDINATOR_MEMBERS_BROKER_REGISTRY_H_
