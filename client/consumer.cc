#include "client/consumer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "client/fetched_records.h"
#include "client/group_membership.h"
#include "client/list_offsets.h"
#include "client/rpc.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

namespace {

int32_t Millis(absl::Duration d) {
  return static_cast<int32_t>(std::max<int64_t>(0, absl::ToInt64Milliseconds(d)));
}

// The request-level fields of a consumer's Fetch (or FetchStream).
v1::FetchRequest NewFetchRequest(const ConsumerOptions& options, absl::Duration max_wait) {
  v1::FetchRequest request;
  request.set_max_wait_ms(Millis(max_wait));
  request.set_min_bytes(options.fetch_min_bytes);
  request.set_max_bytes(options.fetch_max_bytes);
  request.set_replica_id(-1);
  return request;
}

// Asks `request` for `tp` from `offset`, checking the leader epoch we know.
void AddFetchPartition(const ConsumerOptions& options, const TopicPartition& tp, int64_t offset,
                       int32_t leader_epoch, v1::FetchRequest* request) {
  v1::FetchPartition* p = request->add_partitions();
  p->set_topic(tp.topic);
  p->set_partition(tp.partition);
  p->set_fetch_offset(offset);
  p->set_max_bytes(options.max_partition_fetch_bytes);
  p->set_current_leader_epoch(leader_epoch);
  p->set_last_fetched_epoch(-1);
}

// A Fetch answer worth returning for at once: records or a partition error.
bool HasNews(const v1::FetchResponse& response) {
  for (const v1::FetchPartitionResponse& p : response.partitions()) {
    if (p.error_code() != v1::ERROR_CODE_NONE || !p.records().empty()) return true;
  }
  return false;
}

}  // namespace

Consumer::Consumer(ConsumerOptions options)
    : Consumer(options, std::make_shared<MetadataCache>(options.client)) {}

Consumer::Consumer(ConsumerOptions options, std::shared_ptr<MetadataCache> metadata)
    : options_(std::move(options)),
      metadata_(std::move(metadata)),
      coordinator_(std::make_shared<ForwardingTarget>(metadata_)) {}

Consumer::~Consumer() { Close().IgnoreError(); }

absl::Status Consumer::CheckUsable(absl::string_view what) const {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (in_callback_) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " cannot be called from a rebalance or commit callback"));
  }
  return absl::OkStatus();
}

absl::Status Consumer::Assign(const std::vector<PartitionAssignment>& assignments) {
  if (absl::Status s = CheckUsable("Assign"); !s.ok()) return s;
  if (membership_ != nullptr) {
    return absl::FailedPreconditionError(
        "Assign cannot be used while subscribed to a group: call Unsubscribe first");
  }
  std::map<TopicPartition, PartitionState> next;
  std::vector<OffsetQuery> to_resolve;
  for (const PartitionAssignment& a : assignments) {
    if (absl::Status s = ValidateTopicName(a.topic); !s.ok()) return s;
    absl::StatusOr<v1::TopicInfo> topic = metadata_->Topic(a.topic);
    if (!topic.ok()) return topic.status();
    if (a.partition < 0 || a.partition >= topic->partitions_size()) {
      return PartitionOutOfRange(a.topic, a.partition, topic->partitions_size());
    }
    TopicPartition tp{a.topic, a.partition};
    if (!next.emplace(tp, PartitionState()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition ", ToString(tp), " is assigned twice"));
    }
    if (a.start.kind == StartOffset::Kind::kOffset) {
      if (a.start.offset < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid start offset ", a.start.offset, " for ", ToString(tp)));
      }
      next[tp].position = a.start.offset;
    } else {
      to_resolve.push_back({tp, a.start.kind == StartOffset::Kind::kEarliest
                                    ? v1::OFFSET_SPEC_EARLIEST
                                    : v1::OFFSET_SPEC_LATEST});
    }
  }
  absl::StatusOr<std::map<TopicPartition, int64_t>> resolved = ListOffsets(*metadata_, to_resolve);
  if (!resolved.ok()) return resolved.status();
  for (const auto& [tp, offset] : *resolved) next[tp].position = offset;
  DropInFlightFetches();
  partitions_ = std::move(next);
  deferred_error_ = absl::OkStatus();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Consumer groups

absl::Status Consumer::Subscribe(const std::vector<std::string>& topics,
                                 RebalanceListener listener) {
  if (absl::Status s = CheckUsable("Subscribe"); !s.ok()) return s;
  if (options_.group_id.empty()) {
    return absl::InvalidArgumentError("Subscribe needs a group id (ConsumerOptions::group_id)");
  }
  if (absl::Status s = ValidateGroupId(options_.group_id); !s.ok()) return s;
  std::set<std::string> unique;
  for (const std::string& t : topics) {
    if (absl::Status s = ValidateTopicName(t); !s.ok()) return s;
    unique.insert(t);
  }
  if (unique.empty()) return Unsubscribe();
  if (membership_ == nullptr && !partitions_.empty()) {
    return absl::FailedPreconditionError(
        "Subscribe cannot be used while partitions are assigned with Assign: call Assign({}) "
        "first");
  }
  const std::string& assignor = options_.assignor;
  if (!IsKnownAssignor(assignor)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown assignor '", assignor, "': use range, roundrobin or cooperative-sticky"));
  }
  std::vector<std::string> sorted(unique.begin(), unique.end());
  listener_ = std::move(listener);
  if (membership_ != nullptr) {
    membership_->SetTopics(sorted);
    subscription_ = std::move(sorted);
    return absl::OkStatus();
  }
  auto membership = std::make_unique<GroupMembership>(options_, coordinator_);
  if (absl::Status s = membership->Join(sorted); !s.ok()) return s;
  membership_ = std::move(membership);
  subscription_ = std::move(sorted);
  reconciled_ = false;
  committed_.clear();
  next_auto_commit_ = options_.enable_auto_commit ? absl::Now() + options_.auto_commit_interval
                                                  : absl::InfiniteFuture();
  return absl::OkStatus();
}

absl::Status Consumer::Unsubscribe() {
  if (absl::Status s = CheckUsable("Unsubscribe"); !s.ok()) return s;
  if (membership_ == nullptr) return absl::OkStatus();
  return LeaveGroup();
}

absl::Status Consumer::LeaveGroup() {
  // Asynchronous commits land before the final one, which must win.
  AwaitAsyncCommits();
  DeliverCommitCallbacks();
  const GroupMembership::State state = membership_->state();
  absl::Status result = Revoke(assignment(), options_.enable_auto_commit && !state.fenced,
                               /*lost=*/state.fenced);
  membership_->Leave().IgnoreError();  // the session timeout removes us anyway
  membership_.reset();
  subscription_.clear();
  listener_ = RebalanceListener();
  committed_.clear();
  reconciled_ = false;
  next_auto_commit_ = absl::InfiniteFuture();
  return result;
}

std::string Consumer::member_id() const {
  return membership_ == nullptr ? "" : membership_->state().member_id;
}

int64_t Consumer::generation() const {
  return membership_ == nullptr ? 0 : membership_->state().generation;
}

void Consumer::Notify(const std::function<void(const std::vector<TopicPartition>&)>& callback,
                      const std::vector<TopicPartition>& partitions) {
  if (!callback || partitions.empty()) return;
  const bool outer = in_callback_;
  in_callback_ = true;
  callback(partitions);
  in_callback_ = outer;
}

void Consumer::ReportOwned() {
  std::set<TopicPartition> owned;
  for (const auto& [tp, state] : partitions_) owned.insert(tp);
  membership_->SetOwned(owned);
}

absl::Status Consumer::Reconcile() {
  const GroupMembership::State state = membership_->state();
  if (!state.error.ok()) return state.error;
  if (reconciled_ && state.version == reconciled_version_) return absl::OkStatus();
  if (state.fenced) {
    Revoke(assignment(), /*commit=*/false, /*lost=*/true).IgnoreError();
    membership_->Rejoin();
  } else {
    std::vector<TopicPartition> revoked;
    std::vector<TopicPartition> added;
    for (const auto& [tp, ps] : partitions_) {
      if (state.assignment.count(tp) == 0) revoked.push_back(tp);
    }
    for (const TopicPartition& tp : state.assignment) {
      if (partitions_.count(tp) == 0) added.push_back(tp);
    }
    // A failed commit does not hold the revocation back: the coordinator
    // waits for it, and the partition's new owner re-reads from the last
    // accepted commit (at-least-once).
    Revoke(revoked, options_.enable_auto_commit, /*lost=*/false).IgnoreError();
    if (absl::Status s = TakeOver(added); !s.ok()) {
      reconciled_ = false;
      return s;
    }
  }
  reconciled_version_ = state.version;
  reconciled_ = true;
  return absl::OkStatus();
}

absl::Status Consumer::Revoke(const std::vector<TopicPartition>& partitions, bool commit,
                              bool lost) {
  if (partitions.empty()) return absl::OkStatus();
  DropInFlightFetches();
  absl::Status result;
  if (commit) {
    // An older asynchronous commit landing after this one would move the
    // offsets back.
    AwaitAsyncCommits();
    std::map<TopicPartition, int64_t> offsets;
    const std::map<TopicPartition, int64_t> uncommitted = UncommittedPositions();
    for (const TopicPartition& tp : partitions) {
      auto it = uncommitted.find(tp);
      if (it != uncommitted.end()) offsets.insert(*it);
    }
    result = CommitOffsetsNow(offsets);
  }
  Notify(lost && listener_.on_partitions_lost ? listener_.on_partitions_lost
                                              : listener_.on_partitions_revoked,
         partitions);
  for (const TopicPartition& tp : partitions) {
    partitions_.erase(tp);
    committed_.erase(tp);
  }
  ReportOwned();
  return result;
}

absl::Status Consumer::TakeOver(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return absl::OkStatus();
  absl::StatusOr<std::map<TopicPartition, int64_t>> committed = FetchCommitted(partitions);
  if (!committed.ok()) return committed.status();
  DropInFlightFetches();
  for (const TopicPartition& tp : partitions) {
    PartitionState state;
    const int64_t offset = committed->at(tp);
    if (offset >= 0) {
      state.position = offset;
      committed_[tp] = offset;
    } else {
      state.resolved = false;
    }
    partitions_[tp] = state;
  }
  ReportOwned();
  Notify(listener_.on_partitions_assigned, partitions);
  return absl::OkStatus();
}

absl::Status Consumer::ResolvePositions() {
  std::vector<OffsetQuery> queries;
  const v1::OffsetSpec spec = options_.auto_offset_reset == OffsetReset::kEarliest
                                  ? v1::OFFSET_SPEC_EARLIEST
                                  : v1::OFFSET_SPEC_LATEST;
  for (const auto& [tp, state] : partitions_) {
    if (!state.resolved) queries.push_back({tp, spec});
  }
  if (queries.empty()) return absl::OkStatus();
  absl::StatusOr<std::map<TopicPartition, int64_t>> found = ListOffsets(*metadata_, queries);
  if (!found.ok()) return found.status();
  DropInFlightFetches();
  for (const auto& [tp, offset] : *found) {
    PartitionState& state = partitions_[tp];
    state.position = offset;
    state.resolved = true;
    state.failures = 0;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::FetchCommitted(
    const std::vector<TopicPartition>& partitions) {
  v1::FetchOffsetsRequest request;
  request.set_group_id(options_.group_id);
  const std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
  TopicPartitionsToProto(wanted, request.mutable_partitions());
  absl::StatusOr<v1::FetchOffsetsResponse> response = coordinator_->CallWithRetries(
      &v1::Groups::Stub::FetchOffsets, request, options_.client.request_timeout);
  if (!response.ok()) {
    return WithContext(response.status(),
                       absl::StrCat("fetch committed offsets of group '", options_.group_id, "'"));
  }
  std::map<TopicPartition, int64_t> out;
  for (const TopicPartition& tp : wanted) out[tp] = -1;
  for (const v1::PartitionOffset& o : response->offsets()) {
    TopicPartition tp{o.topic(), o.partition()};
    if (wanted.count(tp) > 0) out[tp] = o.offset();
  }
  return out;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::Committed(
    const std::vector<TopicPartition>& partitions) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (options_.group_id.empty()) {
    return absl::FailedPreconditionError(
        "committed offsets need a group id (ConsumerOptions::group_id)");
  }
  if (absl::Status s = ValidateGroupId(options_.group_id); !s.ok()) return s;
  return FetchCommitted(partitions);
}

// ---------------------------------------------------------------------------
// Commits

// One asynchronous CommitOffsets. Owned by the gRPC callback until it
// completes, then by commits_done_.
struct Consumer::PendingCommit {
  std::string address;
  std::string member_id;
  std::unique_ptr<v1::Groups::Stub> stub;
  grpc::ClientContext context;
  v1::CommitOffsetsRequest request;
  v1::CommitOffsetsResponse response;
  grpc::Status status;
  std::map<TopicPartition, int64_t> offsets;
  CommitCallback callback;
};

std::map<TopicPartition, int64_t> Consumer::UncommittedPositions() const {
  std::map<TopicPartition, int64_t> out;
  for (const auto& [tp, state] : partitions_) {
    if (!state.resolved) continue;
    auto it = committed_.find(tp);
    if (it == committed_.end() || it->second != state.position) out[tp] = state.position;
  }
  return out;
}

absl::Status Consumer::CommitPrecondition() const {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (membership_ == nullptr) {
    return absl::FailedPreconditionError(
        "offsets can only be committed by a group member: call Subscribe first");
  }
  return absl::OkStatus();
}

absl::Status Consumer::CommitSync() {
  if (absl::Status s = CommitPrecondition(); !s.ok()) return s;
  std::map<TopicPartition, int64_t> offsets;
  for (const auto& [tp, state] : partitions_) {
    if (state.resolved) offsets[tp] = state.position;
  }
  return CommitSync(offsets);
}

absl::Status Consumer::CommitSync(const std::map<TopicPartition, int64_t>& offsets) {
  if (absl::Status s = CommitPrecondition(); !s.ok()) return s;
  if (!in_callback_) DeliverCommitCallbacks();
  return CommitOffsetsNow(offsets);
}

absl::Status Consumer::CommitSync(const std::map<TopicPartition, OffsetAndMetadata>& offsets) {
  std::map<TopicPartition, int64_t> plain;
  std::map<TopicPartition, std::string> metadata;
  for (const auto& [tp, o] : offsets) {
    plain[tp] = o.offset;
    metadata[tp] = o.metadata;
  }
  if (absl::Status s = CommitPrecondition(); !s.ok()) return s;
  if (!in_callback_) DeliverCommitCallbacks();
  return CommitOffsetsNow(plain, &metadata);
}

absl::Status Consumer::CommitOffsetsNow(const std::map<TopicPartition, int64_t>& offsets,
                                        const std::map<TopicPartition, std::string>* metadata) {
  if (offsets.empty()) return absl::OkStatus();
  const GroupMembership::State state = membership_->state();
  if (state.member_id.empty()) return NotAMember();
  v1::CommitOffsetsRequest request = CommitRequest(state, offsets);
  if (metadata != nullptr) {
    for (v1::PartitionOffset& o : *request.mutable_offsets()) {
      auto it = metadata->find(TopicPartition{o.topic(), o.partition()});
      if (it != metadata->end()) o.set_metadata(it->second);
    }
  }
  absl::StatusOr<v1::CommitOffsetsResponse> response = coordinator_->CallWithRetries(
      &v1::Groups::Stub::CommitOffsets, request, options_.client.request_timeout);
  return ApplyCommit(state.member_id, offsets, response);
}

absl::Status Consumer::NotAMember() const {
  return absl::AbortedError(absl::StrCat("not a member of group '", options_.group_id,
                                         "' right now (rejoining): offsets not committed"));
}

v1::CommitOffsetsRequest Consumer::CommitRequest(
    const GroupMembership::State& state, const std::map<TopicPartition, int64_t>& offsets) const {
  v1::CommitOffsetsRequest request;
  request.set_group_id(options_.group_id);
  request.set_member_id(state.member_id);
  request.set_generation(state.generation);
  OffsetsToProto(offsets, request.mutable_offsets());
  return request;
}

absl::Status Consumer::ApplyCommit(const std::string& member_id,
                                   const std::map<TopicPartition, int64_t>& offsets,
                                   const absl::StatusOr<v1::CommitOffsetsResponse>& response) {
  if (!response.ok()) {
    return WithContext(response.status(),
                       absl::StrCat("commit offsets of group '", options_.group_id, "'"));
  }
  absl::Status first;
  for (const v1::PartitionCommitResult& r : response->results()) {
    const TopicPartition tp{r.topic(), r.partition()};
    if (r.error_code() == v1::ERROR_CODE_NONE) {
      auto offset = offsets.find(tp);
      if (offset != offsets.end() && partitions_.count(tp) > 0) committed_[tp] = offset->second;
      continue;
    }
    if (r.error_code() == v1::ERROR_CODE_UNKNOWN_MEMBER_ID && membership_ != nullptr) {
      membership_->Fence(member_id, r.error_message());
    }
    if (first.ok()) {
      first = WithContext(PartitionError(r.error_code(), r.error_message(), tp.topic, tp.partition),
                          absl::StrCat("commit of ", ToString(tp), " refused"));
    }
  }
  return first;
}

void Consumer::CommitAsync(CommitCallback callback) {
  std::map<TopicPartition, int64_t> offsets;
  for (const auto& [tp, state] : partitions_) {
    if (state.resolved) offsets[tp] = state.position;
  }
  CommitAsync(offsets, std::move(callback));
}

void Consumer::CommitAsync(const std::map<TopicPartition, int64_t>& offsets,
                           CommitCallback callback) {
  absl::Status now = CommitPrecondition();
  if (now.ok() && !offsets.empty() && membership_->state().member_id.empty()) now = NotAMember();
  if (!now.ok() || offsets.empty()) {
    if (callback) {
      const bool outer = in_callback_;
      in_callback_ = true;
      callback(now, offsets);
      in_callback_ = outer;
    }
    return;
  }
  StartAsyncCommit(offsets, std::move(callback));
}

void Consumer::StartAsyncCommit(const std::map<TopicPartition, int64_t>& offsets,
                                CommitCallback callback) {
  auto commit = std::make_unique<PendingCommit>();
  const GroupMembership::State state = membership_->state();
  commit->address = coordinator_->Current();
  commit->member_id = state.member_id;
  commit->offsets = offsets;
  commit->callback = std::move(callback);
  commit->request = CommitRequest(state, offsets);
  commit->stub = v1::Groups::NewStub(metadata_->Channel(commit->address));
  commit->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.client.request_timeout));
  {
    absl::MutexLock lock(&commits_mu_);
    ++commits_in_flight_;
  }
  PendingCommit* raw = commit.release();
  raw->stub->async()->CommitOffsets(&raw->context, &raw->request, &raw->response,
                                    [this, raw](grpc::Status status) {
                                      absl::MutexLock lock(&commits_mu_);
                                      raw->status = std::move(status);
                                      commits_done_.emplace_back(raw);
                                      --commits_in_flight_;
                                    });
}

void Consumer::MaybeAutoCommit() {
  const absl::Time now = absl::Now();
  if (now < next_auto_commit_) return;
  {
    absl::MutexLock lock(&commits_mu_);
    if (commits_in_flight_ > 0) {
      // Two commits in flight could land out of order: try again shortly.
      next_auto_commit_ = now + std::min(options_.auto_commit_interval, absl::Milliseconds(100));
      return;
    }
  }
  next_auto_commit_ = now + options_.auto_commit_interval;
  std::map<TopicPartition, int64_t> offsets = UncommittedPositions();
  if (!offsets.empty() && !membership_->state().member_id.empty()) {
    StartAsyncCommit(offsets, nullptr);
  }
}

void Consumer::DeliverCommitCallbacks() {
  std::vector<std::unique_ptr<PendingCommit>> done;
  {
    absl::MutexLock lock(&commits_mu_);
    done.swap(commits_done_);
  }
  for (const std::unique_ptr<PendingCommit>& c : done) {
    absl::StatusOr<v1::CommitOffsetsResponse> response = c->response;
    if (!c->status.ok()) {
      response = WithContext(FromGrpcStatus(c->status), "broker " + c->address);
      if (IsTransportFailure(response.status())) coordinator_->Failed(c->address);
    }
    const absl::Status status = ApplyCommit(c->member_id, c->offsets, response);
    if (c->callback) {
      const bool outer = in_callback_;
      in_callback_ = true;
      c->callback(status, c->offsets);
      in_callback_ = outer;
    }
  }
}

void Consumer::AwaitAsyncCommits() {
  absl::MutexLock lock(&commits_mu_);
  commits_mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &commits_in_flight_));
}

absl::Status Consumer::Close() {
  if (closed_) return absl::OkStatus();
  if (in_callback_) {
    return absl::FailedPreconditionError(
        "Close cannot be called from a rebalance or commit callback");
  }
  absl::Status result;
  if (membership_ != nullptr) result = LeaveGroup();
  AwaitAsyncCommits();
  DeliverCommitCallbacks();
  DropInFlightFetches();
  partitions_.clear();
  closed_ = true;
  return result;
}

// ---------------------------------------------------------------------------
// Polling

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(absl::Duration timeout) {
  absl::StatusOr<ConsumerRecords> views = PollViews(timeout);
  if (!views.ok()) return views.status();
  std::vector<ConsumerRecord> records;
  records.reserve(views->size());
  for (const ConsumerRecordView& v : *views) records.push_back(v.ToRecord());
  return records;
}

absl::StatusOr<ConsumerRecords> Consumer::PollViews(absl::Duration timeout) {
  if (absl::Status s = CheckUsable("Poll"); !s.ok()) return s;
  GroupMembership* membership = membership_.get();
  if (membership != nullptr) membership->PollStarted();
  absl::StatusOr<ConsumerRecords> result = PollOnce(timeout);
  if (membership != nullptr) membership->PollEnded();
  return result;
}

absl::StatusOr<ConsumerRecords> Consumer::PollOnce(absl::Duration timeout) {
  DeliverCommitCallbacks();
  if (!deferred_error_.ok()) {
    absl::Status s = deferred_error_;
    deferred_error_ = absl::OkStatus();
    return s;
  }
  if (membership_ == nullptr && partitions_.empty()) {
    return absl::FailedPreconditionError("no partitions assigned");
  }
  const absl::Time deadline = absl::Now() + timeout;
  ConsumerRecords records;
  while (true) {
    if (membership_ != nullptr) {
      if (absl::Status s = Reconcile(); !s.ok()) return s;
      MaybeAutoCommit();
    }
    if (absl::Status s = ResolvePositions(); !s.ok()) return s;
    // Still backing off from a failed round (maybe of an earlier Poll: short
    // polls must not retry faster than the backoff).
    if (absl::Time now = absl::Now(); now < retry_at_) {
      absl::SleepFor(std::min(deadline, retry_at_) - now);
      if (absl::Now() >= deadline) return records;
    }
    const absl::Duration max_wait =
        std::clamp(deadline - absl::Now(), absl::ZeroDuration(), options_.fetch_max_wait);
    bool back_off = false;
    bool idle = false;
    absl::Status s = FetchRound(max_wait, &records, &back_off, &idle);
    if (!s.ok()) {
      if (records.empty()) return s;
      deferred_error_ = s;  // after the records already taken
      return records;
    }
    if (!records.empty()) {
      backoff_round_ = 0;
      return records;
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) return records;
    if (idle) {
      // Nothing to fetch (no partitions yet, or all paused): wait for the
      // group to change, the next auto-commit, or the deadline.
      const absl::Time until = std::min(deadline, next_auto_commit_);
      if (membership_ != nullptr) {
        membership_->AwaitChange(reconciled_version_, until);
      } else {
        absl::SleepFor(until - now);
      }
      DeliverCommitCallbacks();
      continue;
    }
    if (back_off) {
      retry_at_ = now + RetryBackoff(metadata_->options(), backoff_round_++);
    } else {
      backoff_round_ = 0;
    }
  }
}

absl::Status Consumer::RetriableFailure(const TopicPartition& tp, const absl::Status& status) {
  PartitionState& state = partitions_[tp];
  if (++state.failures <= metadata_->options().max_retries) return absl::OkStatus();
  return WithContext(status,
                     absl::StrCat(ToString(tp), " failed ", state.failures, " times in a row"));
}

// One round of Fetch calls, one per leader, all in flight at once. The
// callbacks reference it, so it is destroyed only once outstanding is 0.
struct Consumer::PendingFetch {
  struct Call {
    std::string address;
    std::unique_ptr<v1::Broker::Stub> stub;
    grpc::ClientContext context;
    v1::FetchRequest request;
    v1::FetchResponse response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  std::map<TopicPartition, int64_t> offsets;  // where each partition's fetch starts
  absl::Mutex mu;
  size_t outstanding ABSL_GUARDED_BY(mu) = 0;
  bool answered ABSL_GUARDED_BY(mu) = false;  // some call brought news or failed

  bool Settled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding == 0 || answered; }
};

void Consumer::DropInFlightFetches() {
  if (streams_ != nullptr) streams_->StopAll();
  stream_positions_.clear();
  if (prefetch_ == nullptr) return;
  CancelAndWait(*prefetch_);
  prefetch_.reset();
}

void Consumer::CancelAndWait(PendingFetch& fetch) {
  for (const auto& call : fetch.calls) call->context.TryCancel();
  absl::MutexLock lock(&fetch.mu);
  fetch.mu.Await(absl::Condition(
      +[](PendingFetch* f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(f->mu) { return f->outstanding == 0; },
      &fetch));
}

absl::Status Consumer::StartFetch(absl::Duration max_wait, bool prefetch,
                                  const std::map<TopicPartition, int64_t>& next,
                                  std::unique_ptr<PendingFetch>* out, bool* back_off) {
  auto fetch = std::make_unique<PendingFetch>();
  std::map<std::string, PendingFetch::Call*> by_address;
  for (const auto& [tp, state] : partitions_) {
    if (state.paused || !state.resolved) continue;
    auto moved = next.find(tp);
    const int64_t offset = moved == next.end() ? state.position : moved->second;
    absl::StatusOr<PartitionLeader> leader = metadata_->Leader(tp.topic, tp.partition);
    if (!leader.ok()) {
      // A prefetch is only an optimisation: the next Poll fetches normally.
      if (prefetch) return absl::OkStatus();
      if (!IsRetriable(leader.status())) return leader.status();
      *back_off = true;
      if (absl::Status s = RetriableFailure(tp, leader.status()); !s.ok()) return s;
      continue;
    }
    PendingFetch::Call*& call = by_address[leader->address];
    if (call == nullptr) {
      fetch->calls.push_back(std::make_unique<PendingFetch::Call>());
      call = fetch->calls.back().get();
      call->address = leader->address;
      call->request = NewFetchRequest(options_, max_wait);
    }
    AddFetchPartition(options_, tp, offset, leader->leader_epoch, &call->request);
    fetch->offsets[tp] = offset;
  }
  if (fetch->calls.empty()) return absl::OkStatus();

  {
    absl::MutexLock lock(&fetch->mu);
    fetch->outstanding = fetch->calls.size();
  }
  const absl::Time deadline = absl::Now() + max_wait + metadata_->options().request_timeout;
  PendingFetch* f = fetch.get();
  for (const auto& c : fetch->calls) {
    PendingFetch::Call* call = c.get();
    call->stub = v1::Broker::NewStub(metadata_->Channel(call->address));
    call->context.set_deadline(absl::ToChronoTime(deadline));
    call->stub->async()->Fetch(&call->context, &call->request, &call->response,
                               [f, call](grpc::Status status) {
                                 absl::MutexLock lock(&f->mu);
                                 call->status = std::move(status);
                                 if (!call->status.ok() || HasNews(call->response)) {
                                   f->answered = true;
                                 }
                                 --f->outstanding;
                               });
  }
  *out = std::move(fetch);
  return absl::OkStatus();
}

absl::Status Consumer::FetchRound(absl::Duration max_wait, ConsumerRecords* records, bool* back_off,
                                  bool* idle) {
  if (options_.stream_fetches && !streams_unsupported_) {
    return StreamRound(max_wait, records, back_off, idle);
  }
  // A prefetched round (started when the previous Poll returned records, so
  // that the broker reads the next records while the caller handles these)
  // is used as is: positions only change through Poll, or through Seek and
  // Assign, which drop it.
  std::unique_ptr<PendingFetch> fetch = std::move(prefetch_);
  const bool prefetched = fetch != nullptr;
  if (!prefetched) {
    if (absl::Status s = StartFetch(max_wait, /*prefetch=*/false, {}, &fetch, back_off); !s.ok()) {
      return s;
    }
    if (fetch == nullptr) {
      *idle = !*back_off;
      return absl::OkStatus();
    }
  }
  bool settled = true;
  {
    absl::MutexLock lock(&fetch->mu);
    const absl::Condition condition(
        +[](PendingFetch* f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(f->mu) { return f->Settled(); },
        fetch.get());
    if (prefetched) {
      settled = fetch->mu.AwaitWithTimeout(condition, max_wait);
    } else {
      fetch->mu.Await(condition);
    }
  }
  if (!settled) {
    // The prefetch's long poll outlasts this Poll: keep it for the next one.
    prefetch_ = std::move(fetch);
    return absl::OkStatus();
  }
  // The first useful answer cancels the others' long polls (their partitions
  // keep their positions, so nothing is lost).
  bool cancelled = false;
  {
    absl::MutexLock lock(&fetch->mu);
    cancelled = fetch->outstanding > 0;
  }
  if (cancelled) CancelAndWait(*fetch);

  // Data came: fetch what follows before decoding this, so that the broker
  // reads the next records while we decode these. Where each partition
  // continues is in its last batch header; no need to decode for that.
  std::map<TopicPartition, int64_t> next;
  for (const auto& call : fetch->calls) {
    if (!call->status.ok()) continue;
    for (const v1::FetchPartitionResponse& r : call->response.partitions()) {
      if (r.error_code() != v1::ERROR_CODE_NONE || r.records().empty()) continue;
      TopicPartition tp{r.topic(), r.partition()};
      auto it = partitions_.find(tp);
      if (it == partitions_.end()) continue;
      const int64_t after = runnel::batch::NextOffsetAfter(r.records());
      if (after > it->second.position) next[tp] = after;
    }
  }
  if (!next.empty()) {
    StartFetch(options_.fetch_max_wait, /*prefetch=*/true, next, &prefetch_, back_off)
        .IgnoreError();
  }
  const size_t had = records->size();
  absl::Status s = ProcessFetch(*fetch, cancelled, records, back_off);
  // New records point into the answers: they keep the settled round alive.
  if (records->size() > had) {
    records->owned_.push_back(std::shared_ptr<const PendingFetch>(std::move(fetch)));
  }
  if (prefetch_ != nullptr) {
    // Decoding disagreed (an error, corrupt data): the prefetch asked for the
    // wrong offsets.
    bool stale = !s.ok();
    for (const auto& [tp, offset] : prefetch_->offsets) {
      auto it = partitions_.find(tp);
      stale |= it == partitions_.end() || it->second.position != offset;
    }
    if (stale) DropInFlightFetches();
  }
  return s;
}

absl::Status Consumer::ProcessFetch(PendingFetch& fetch, bool cancelled, ConsumerRecords* records,
                                    bool* back_off) {
  for (const auto& call : fetch.calls) {
    if (!call->status.ok()) {
      if (cancelled && call->status.error_code() == grpc::StatusCode::CANCELLED) continue;
      if (absl::Status s = FetchCallFailed(call->address, call->request, call->status, back_off);
          !s.ok()) {
        return s;
      }
      continue;
    }
    for (const v1::FetchPartitionResponse& r : call->response.partitions()) {
      bool failed = false;
      if (absl::Status s = ProcessPartition(r, records, back_off, &failed); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Consumer::FetchCallFailed(const std::string& address, const v1::FetchRequest& request,
                                       const grpc::Status& status, bool* back_off) {
  absl::Status s = WithContext(FromGrpcStatus(status), absl::StrCat("fetch from broker ", address));
  if (!IsRetriable(s)) return s;
  *back_off = true;
  for (const v1::FetchPartition& p : request.partitions()) {
    metadata_->Invalidate(p.topic());
    if (absl::Status f = RetriableFailure({p.topic(), p.partition()}, s); !f.ok()) return f;
  }
  return absl::OkStatus();
}

absl::Status Consumer::ProcessPartition(const v1::FetchPartitionResponse& r,
                                        ConsumerRecords* records, bool* back_off, bool* failed) {
  TopicPartition tp{r.topic(), r.partition()};
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return absl::OkStatus();  // not ours
  PartitionState& state = it->second;
  absl::Status s = PartitionError(r.error_code(), r.error_message(), tp.topic, tp.partition);
  *failed = !s.ok();
  if (s.ok()) {
    state.failures = 0;
    state.high_watermark = r.high_watermark();
    // Decoded in place, then labelled with the partition (the topic's view
    // points into the answer, which *records keeps).
    std::vector<ConsumerRecordView>& out = records->records_;
    const size_t first = out.size();
    absl::Status d = DecodeFetchedRecords(r.records(), options_.check_crcs, &state.position, &out,
                                          &records->decompressed_);
    for (size_t i = first; i < out.size(); ++i) {
      out[i].topic = r.topic();
      out[i].partition = r.partition();
    }
    if (!d.ok()) return WithContext(d, ToString(tp));
  } else if (r.error_code() == v1::ERROR_CODE_OFFSET_OUT_OF_RANGE && membership_ != nullptr) {
    // A group member's committed offset fell out of the log (retention):
    // auto_offset_reset applies, as for a partition without one.
    state.resolved = false;
  } else if (r.error_code() == v1::ERROR_CODE_OFFSET_OUT_OF_RANGE || !IsRetriable(s)) {
    return s;
  } else {
    if (NeedsMetadataRefresh(r.error_code())) metadata_->Invalidate(tp.topic);
    *back_off = true;
    if (absl::Status f = RetriableFailure(tp, s); !f.ok()) return f;
  }
  return absl::OkStatus();
}

absl::Status Consumer::StreamRound(absl::Duration max_wait, ConsumerRecords* records,
                                   bool* back_off, bool* idle) {
  if (streams_ == nullptr) {
    streams_ = std::make_unique<FetchStreams>(static_cast<size_t>(options_.fetch_buffer_bytes));
  }
  // What each leader should stream: every fetchable partition it leads,
  // from its position.
  std::map<std::string, v1::FetchRequest> wanted;
  for (const auto& [tp, state] : partitions_) {
    if (state.paused || !state.resolved) continue;
    absl::StatusOr<PartitionLeader> leader = metadata_->Leader(tp.topic, tp.partition);
    if (!leader.ok()) {
      if (!IsRetriable(leader.status())) return leader.status();
      *back_off = true;
      if (absl::Status s = RetriableFailure(tp, leader.status()); !s.ok()) return s;
      continue;
    }
    auto [it, added] = wanted.try_emplace(leader->address);
    if (added) it->second = NewFetchRequest(options_, options_.fetch_max_wait);
    AddFetchPartition(options_, tp, state.position, leader->leader_epoch, &it->second);
  }
  // A running stream stays only if it serves exactly what is wanted of its
  // broker, from exactly these positions; others are restarted.
  for (auto have = stream_positions_.begin(); have != stream_positions_.end();) {
    auto want = wanted.find(have->first);
    if (want != wanted.end() &&
        want->second.SerializeAsString() == have->second.SerializeAsString()) {
      ++have;
      continue;
    }
    streams_->Stop(have->first);
    have = stream_positions_.erase(have);
  }
  for (auto& [address, request] : wanted) {
    if (stream_positions_.count(address) > 0) continue;
    stream_positions_[address] = request;
    streams_->Start(metadata_->Channel(address), address, std::move(request));
  }
  if (stream_positions_.empty()) {
    *idle = !*back_off;
    return absl::OkStatus();
  }

  for (FetchStreams::Delivery& delivery : streams_->Take(max_wait)) {
    v1::FetchRequest& positions = stream_positions_[delivery.address];
    bool restart = false;
    if (delivery.answer != nullptr) {
      const size_t had = records->size();
      for (const v1::FetchPartitionResponse& r : delivery.answer->partitions()) {
        bool failed = false;
        if (absl::Status s = ProcessPartition(r, records, back_off, &failed); !s.ok()) return s;
        // The broker stops streaming a partition after an error: start over
        // once it is dealt with (metadata refreshed, position reset).
        restart |= failed;
      }
      // New records point into the answer: they keep it alive.
      if (records->size() > had) records->owned_.push_back(delivery.answer);
    }
    // The stream's next answers continue where these left each partition.
    for (v1::FetchPartition& p : *positions.mutable_partitions()) {
      auto it = partitions_.find({p.topic(), p.partition()});
      if (it != partitions_.end()) p.set_fetch_offset(it->second.position);
    }
    if (delivery.ended) {
      v1::FetchRequest request = std::move(positions);
      stream_positions_.erase(delivery.address);
      if (delivery.status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        streams_unsupported_ = true;  // an older broker: Fetch calls from now on
        continue;
      }
      if (!delivery.status.ok()) {
        if (absl::Status s = FetchCallFailed(delivery.address, request, delivery.status, back_off);
            !s.ok()) {
          return s;
        }
      } else if (delivery.answer == nullptr) {
        *back_off = true;  // ended with nothing more (the broker is stopping): do not spin
      }
    } else if (restart) {
      streams_->Stop(delivery.address);
      stream_positions_.erase(delivery.address);
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status NotAssigned(const TopicPartition& tp) {
  return absl::NotFoundError(absl::StrCat("partition ", ToString(tp), " is not assigned"));
}

}  // namespace

absl::StatusOr<int64_t> Consumer::Position(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return NotAssigned(tp);
  if (!it->second.resolved) {
    if (absl::Status s = ResolvePositions(); !s.ok()) return s;
  }
  return it->second.position;
}

absl::Status Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return NotAssigned(tp);
  if (offset < 0) return absl::InvalidArgumentError(absl::StrCat("invalid offset ", offset));
  DropInFlightFetches();  // it reads from the old position
  it->second.position = offset;
  it->second.resolved = true;
  it->second.failures = 0;
  deferred_error_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TopicPartition>> Consumer::Owned(
    const std::vector<TopicPartition>& partitions) const {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (partitions.empty()) return assignment();
  for (const TopicPartition& tp : partitions) {
    if (partitions_.count(tp) == 0) return NotAssigned(tp);
  }
  return partitions;
}

absl::Status Consumer::SeekTo(const std::vector<TopicPartition>& partitions, v1::OffsetSpec spec,
                              int64_t timestamp_ms) {
  absl::StatusOr<std::vector<TopicPartition>> owned = Owned(partitions);
  if (!owned.ok()) return owned.status();
  std::vector<OffsetQuery> queries;
  for (const TopicPartition& tp : *owned) queries.push_back({tp, spec, timestamp_ms});
  absl::StatusOr<std::map<TopicPartition, int64_t>> found = ListOffsets(*metadata_, queries);
  if (!found.ok()) return found.status();
  for (const auto& [tp, offset] : *found) {
    if (absl::Status s = Seek(tp, offset); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Consumer::SeekToBeginning(const std::vector<TopicPartition>& partitions) {
  return SeekTo(partitions, v1::OFFSET_SPEC_EARLIEST, 0);
}

absl::Status Consumer::SeekToEnd(const std::vector<TopicPartition>& partitions) {
  return SeekTo(partitions, v1::OFFSET_SPEC_LATEST, 0);
}

absl::Status Consumer::SeekToTimestamp(int64_t timestamp_ms,
                                       const std::vector<TopicPartition>& partitions) {
  return SeekTo(partitions, v1::OFFSET_SPEC_TIMESTAMP, timestamp_ms);
}

absl::Status Consumer::Pause(const std::vector<TopicPartition>& partitions) {
  absl::StatusOr<std::vector<TopicPartition>> owned = Owned(partitions);
  if (!owned.ok()) return owned.status();
  if (partitions.empty()) return absl::OkStatus();
  DropInFlightFetches();  // it may carry records of these
  for (const TopicPartition& tp : *owned) partitions_[tp].paused = true;
  return absl::OkStatus();
}

absl::Status Consumer::Resume(const std::vector<TopicPartition>& partitions) {
  absl::StatusOr<std::vector<TopicPartition>> owned = Owned(partitions);
  if (!owned.ok()) return owned.status();
  if (partitions.empty()) return absl::OkStatus();
  DropInFlightFetches();  // so that the next round fetches these too
  for (const TopicPartition& tp : *owned) partitions_[tp].paused = false;
  return absl::OkStatus();
}

std::vector<TopicPartition> Consumer::paused() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) {
    if (state.paused) out.push_back(tp);
  }
  return out;
}

absl::StatusOr<int64_t> Consumer::HighWatermark(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return NotAssigned(tp);
  return it->second.high_watermark;
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

}  // namespace runnel::client
