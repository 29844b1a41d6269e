// Consumer: reads records from partitions it is given, either explicitly
// (Assign) or by a consumer group it joins (Subscribe).
//
// Fetching. Poll() long-polls the leader of every partition the consumer
// owns with Fetch, one request per leader in parallel, and returns records in
// offset order per partition, advancing each partition's position past what
// it returns. When a Poll returns records, the consumer at once sends the next
// Fetch for the new positions (as Kafka's consumer does), so that brokers
// read the next records while the caller processes these; Seek, Pause and
// changes of the partitions discard it. Leader changes and restarting
// brokers are handled inside Poll by a metadata refresh and backoff; a
// partition that fails more than max_retries times in a row makes Poll
// return the error. Records are never lost to an error: if some partitions
// returned records and another failed in the same round, Poll returns the
// records and the next Poll the error.
//
// Manual assignment. Assign() sets where each partition starts (an offset,
// or earliest/latest resolved with ListOffsets). OFFSET_OUT_OF_RANGE is
// returned by Poll as OUT_OF_RANGE with the broker's message (which names
// the valid range); the position is left unchanged so the caller can Seek.
//
// Consumer groups (ConsumerOptions::group_id; guide: docs/cpp-client.md).
// Subscribe() joins the group; the coordinator spreads the subscribed
// topics' partitions over the group's members, and moves them as members
// come and go (proto/runnel/v1/groups.proto). Partitions change hands only inside Poll
// (and Unsubscribe/Close), on the caller's thread, in this order:
//  - revoked (owned, no longer in the target): the prefetch is dropped, the
//    positions are committed if enable_auto_commit, then the listener's
//    on_partitions_revoked runs (commit there when committing by hand: the
//    partitions are still owned, so the commit is accepted), then the
//    partitions stop being fetched and reported to the coordinator, which
//    only then hands them to their new owner;
//  - assigned (in the target, not owned): each starts at the group's
//    committed offset (FetchOffsets), else per auto_offset_reset; then
//    on_partitions_assigned runs (Seek there to start elsewhere);
//  - lost (the coordinator removed this member: session lapsed, or Poll was
//    not called for max_poll_interval): on_partitions_lost runs (default:
//    on_partitions_revoked) without any commit, which would be refused, and
//    the consumer joins again; records of lost partitions that were not
//    committed will be read again by their new owner.
// Only partitions that move are revoked and assigned, whatever the assignor.
// A committed offset that is out of the log (retention) is reset per
// auto_offset_reset too. Commit offsets with CommitSync/CommitAsync, or let
// auto-commit do it (every auto_commit_interval, from Poll, for the records
// earlier Polls returned; before a revocation; on Close).
//
// Threading. Like Kafka's, the Consumer is for one thread: the caller's.
// Every method, the rebalance listener and commit callbacks run on it
// (callbacks inside Poll, CommitSync, Unsubscribe or Close). While
// subscribed, an internal heartbeat thread keeps the group session alive
// however long the caller takes between polls; it only talks to the
// coordinator and records its answers, never touching partitions,
// positions or callbacks (client/group_membership.h). The rule for the
// caller: call Poll at least every rebalance_timeout while the group
// rebalances (or the coordinator removes the member), and at least every
// max_poll_interval always (or the consumer leaves the group itself). A
// listener may call Commit*, Seek*, Position, Committed, Pause and Resume,
// not Poll, Subscribe, Unsubscribe, Assign or Close (FAILED_PRECONDITION).
#ifndef RUNNEL_CLIENT_CONSUMER_H_
#define RUNNEL_CLIENT_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/consumer_records.h"
#include "client/fetch_streams.h"
#include "client/group_membership.h"
#include "client/metadata_cache.h"
#include "client/options.h"
#include "client/types.h"
#include "proto/runnel/v1/broker.pb.h"
#include "proto/runnel/v1/groups.pb.h"

namespace runnel::client {

// Where a partition's consumption starts.
struct StartOffset {
  enum class Kind { kOffset, kEarliest, kLatest };
  Kind kind = Kind::kLatest;
  int64_t offset = 0;  // for kOffset

  static StartOffset At(int64_t offset) { return {Kind::kOffset, offset}; }
  static StartOffset Earliest() { return {Kind::kEarliest, 0}; }
  static StartOffset Latest() { return {Kind::kLatest, 0}; }
};

struct PartitionAssignment {
  std::string topic;
  int32_t partition = 0;
  StartOffset start;
};

// Told when group partitions change hands; see the header comment for when
// each runs. Each receives the partitions concerned, sorted; none runs with
// an empty list. Unset members do nothing, except on_partitions_lost, which
// falls back to on_partitions_revoked.
struct RebalanceListener {
  std::function<void(const std::vector<TopicPartition>&)> on_partitions_revoked;
  std::function<void(const std::vector<TopicPartition>&)> on_partitions_assigned;
  std::function<void(const std::vector<TopicPartition>&)> on_partitions_lost;
};

// A next-offset to commit and the application metadata to keep with it.
struct OffsetAndMetadata {
  int64_t offset = 0;
  std::string metadata;
};

// The outcome of an asynchronous commit and the offsets it carried.
using CommitCallback =
    std::function<void(const absl::Status&, const std::map<TopicPartition, int64_t>&)>;

class Consumer {
 public:
  explicit Consumer(ConsumerOptions options);
  // Shares `metadata`; its ClientOptions apply.
  Consumer(ConsumerOptions options, std::shared_ptr<MetadataCache> metadata);

  // Close() (errors ignored), which may run the rebalance listener: keep
  // what it references alive until the consumer is gone.
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // --- Manual assignment ---

  // Replaces the assignment. Checks that each topic exists (TopicNotFound)
  // and each partition is in range (PartitionOutOfRange), rejects duplicates,
  // and resolves earliest/latest starts with ListOffsets (retrying retriable
  // errors). An explicit offset is not checked here: a bad one surfaces as
  // OUT_OF_RANGE from Poll. On error the previous assignment is kept.
  // FAILED_PRECONDITION while subscribed.
  absl::Status Assign(const std::vector<PartitionAssignment>& assignments);

  // --- Consumer groups ---

  // Joins group options.group_id consuming `topics` (which need not exist
  // yet), or changes the subscription if already subscribed; an empty list
  // is Unsubscribe. The first join is synchronous, so refusals come back
  // here: INVALID_ARGUMENT for a missing or bad group id, a bad topic name or
  // assignor, or an assignor other than the group's; UNAVAILABLE if the
  // coordinator cannot be reached within max_retries. Partitions arrive in
  // later Polls. FAILED_PRECONDITION while partitions are assigned with
  // Assign (Assign({}) first) or after Close.
  absl::Status Subscribe(const std::vector<std::string>& topics, RebalanceListener listener = {});

  // Gives up every partition (auto-commit, then on_partitions_revoked) and
  // leaves the group at once, so that other members take the partitions
  // without waiting for the session timeout. Returns the commit's error, if
  // any; the consumer leaves the group regardless.
  absl::Status Unsubscribe();

  // The subscribed topics, sorted (empty when not subscribed).
  std::vector<std::string> subscription() const { return subscription_; }

  // The member id and generation from the latest heartbeat answer (empty and
  // 0 while not a member).
  std::string member_id() const;
  int64_t generation() const;

  // Commits offsets for the group, fenced by the coordinator: only
  // partitions this member owns are accepted. The first form commits the
  // position of every owned partition (the records Poll returned so far);
  // the second the given next-offsets. Retries transport failures. ABORTED
  // when the member is not in the group right now (rejoining after a
  // rebalance) or the coordinator refused a partition (UNKNOWN_MEMBER_ID,
  // STALE_GENERATION: it moved); FAILED_PRECONDITION when not subscribed.
  absl::Status CommitSync();
  absl::Status CommitSync(const std::map<TopicPartition, int64_t>& offsets);
  // The second form with application metadata stored beside each offset (at
  // most 4096 bytes; Admin::FetchGroupOffsets returns it), e.g. where a
  // stream processor's state snapshot for that position lives.
  absl::Status CommitSync(const std::map<TopicPartition, OffsetAndMetadata>& offsets);

  // The same without waiting and without retries. `callback` (may be null)
  // runs on the caller's thread inside a later Poll, CommitSync,
  // Unsubscribe or Close, in completion order; or at once, inside this call,
  // when there is nothing to send or the commit cannot be sent (the errors
  // above). Two asynchronous commits in flight may land in either order;
  // commit again (or CommitSync) where that matters.
  void CommitAsync(CommitCallback callback = nullptr);
  void CommitAsync(const std::map<TopicPartition, int64_t>& offsets,
                   CommitCallback callback = nullptr);

  // The group's committed offsets for `partitions` (any partitions, owned or
  // not), -1 where none is committed. FAILED_PRECONDITION without a group_id.
  absl::StatusOr<std::map<TopicPartition, int64_t>> Committed(
      const std::vector<TopicPartition>& partitions);

  // --- Reading ---

  // Returns the next records, waiting up to `timeout` for at least one. An
  // empty result means none arrived in time. While subscribed, also moves
  // partitions (see the header comment), auto-commits and runs the commit
  // callbacks that are due; the error of a failed partition move or of a
  // refused membership (e.g. INVALID_ARGUMENT) is returned. Without a
  // subscription, FAILED_PRECONDITION when no partition is assigned.
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // Poll without copying: the same records, as views into the fetched data
  // that the returned object owns (see consumer_records.h). Everything else
  // (group duties, errors, positions) is as for Poll.
  absl::StatusOr<ConsumerRecords> PollViews(absl::Duration timeout);

  // The offset of the next record Poll returns for an owned partition
  // (resolving auto_offset_reset first for a newly assigned partition
  // without a committed offset).
  absl::StatusOr<int64_t> Position(const TopicPartition& tp);

  // Moves an owned partition's position. NOT_FOUND for a partition not owned.
  absl::Status Seek(const TopicPartition& tp, int64_t offset);
  // Moves the given owned partitions (all owned ones when empty) to their
  // log start, log end, or the first offset whose record timestamp is at
  // least `timestamp_ms` (the log end if there is none), with ListOffsets.
  absl::Status SeekToBeginning(const std::vector<TopicPartition>& partitions = {});
  absl::Status SeekToEnd(const std::vector<TopicPartition>& partitions = {});
  absl::Status SeekToTimestamp(int64_t timestamp_ms,
                               const std::vector<TopicPartition>& partitions = {});

  // Stops fetching from owned partitions until Resume; their positions and
  // ownership stay. A paused partition that moves to another member is not
  // paused when it comes back. NOT_FOUND for a partition not owned.
  absl::Status Pause(const std::vector<TopicPartition>& partitions);
  absl::Status Resume(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> paused() const;

  // The high watermark from the partition's latest fetch, -1 before any.
  absl::StatusOr<int64_t> HighWatermark(const TopicPartition& tp) const;

  // The partitions the consumer owns (assigned or given by the group), sorted.
  std::vector<TopicPartition> assignment() const;

  // Leaves the group cleanly if subscribed (as Unsubscribe), waits for
  // asynchronous commits and runs their callbacks, and cancels fetches.
  // Afterwards every call fails with FAILED_PRECONDITION. Returns the
  // first error of the final commit. Idempotent.
  absl::Status Close();

  MetadataCache& metadata() { return *metadata_; }

 private:
  struct PartitionState {
    int64_t position = 0;
    int64_t high_watermark = -1;
    int failures = 0;  // consecutive retriable failures
    bool paused = false;
    bool resolved = true;  // false: position awaits auto_offset_reset
  };
  struct PendingFetch;   // one round of Fetch calls in flight; in consumer.cc
  struct PendingCommit;  // one asynchronous CommitOffsets; in consumer.cc

  // Common checks: not closed, not inside a rebalance callback (`what` names the call).
  absl::Status CheckUsable(absl::string_view what) const;

  // Group mode: matches the owned partitions to the coordinator's target.
  absl::Status Reconcile();
  // Gives up `partitions` (auto-commit if `commit`, callback, stop fetching and reporting).
  absl::Status Revoke(const std::vector<TopicPartition>& partitions, bool commit, bool lost);
  // Starts newly assigned partitions at their committed offsets.
  absl::Status TakeOver(const std::vector<TopicPartition>& partitions);
  // Positions of partitions awaiting auto_offset_reset.
  absl::Status ResolvePositions();
  void ReportOwned();
  void Notify(const std::function<void(const std::vector<TopicPartition>&)>& callback,
              const std::vector<TopicPartition>& partitions);
  // Unsubscribe and Close: revoke all (or report lost), then leave.
  absl::Status LeaveGroup();

  // Positions of every owned partition that differ from their last commit.
  std::map<TopicPartition, int64_t> UncommittedPositions() const;
  absl::Status CommitPrecondition() const;
  absl::Status NotAMember() const;
  runnel::v1::CommitOffsetsRequest CommitRequest(
      const GroupMembership::State& state, const std::map<TopicPartition, int64_t>& offsets) const;
  // Commits `offsets` now, retrying transport failures.
  absl::Status CommitOffsetsNow(const std::map<TopicPartition, int64_t>& offsets,
                                const std::map<TopicPartition, std::string>* metadata = nullptr);
  // Starts an asynchronous commit; `callback` gets its outcome later.
  void StartAsyncCommit(const std::map<TopicPartition, int64_t>& offsets, CommitCallback callback);
  absl::StatusOr<std::map<TopicPartition, int64_t>> FetchCommitted(
      const std::vector<TopicPartition>& partitions);
  // Applies a CommitOffsets outcome (fencing the member if told so) and
  // returns the first error.
  absl::Status ApplyCommit(const std::string& member_id,
                           const std::map<TopicPartition, int64_t>& offsets,
                           const absl::StatusOr<runnel::v1::CommitOffsetsResponse>& response);
  void MaybeAutoCommit();
  void DeliverCommitCallbacks();
  void AwaitAsyncCommits();

  absl::Status SeekTo(const std::vector<TopicPartition>& partitions, runnel::v1::OffsetSpec spec,
                      int64_t timestamp_ms);
  absl::StatusOr<std::vector<TopicPartition>> Owned(
      const std::vector<TopicPartition>& partitions) const;

  absl::StatusOr<ConsumerRecords> PollOnce(absl::Duration timeout);
  // One parallel round of Fetch calls (the prefetched one if any); appends
  // records (and hands them what they point into), returns a fatal error.
  // Sets *back_off when a retriable failure happened, *idle when no
  // partition could be fetched at all.
  absl::Status FetchRound(absl::Duration max_wait, ConsumerRecords* records, bool* back_off,
                          bool* idle);
  // FetchRound through fetch streams (ConsumerOptions::stream_fetches):
  // (re)starts a stream per leader for the partitions it should serve from
  // their positions, then applies what the streams delivered within
  // max_wait.
  absl::Status StreamRound(absl::Duration max_wait, ConsumerRecords* records, bool* back_off,
                           bool* idle);
  // Starts Fetch calls for every fetchable partition, from its position or
  // from its offset in `next`; *out stays null when no partition has a
  // reachable leader. A prefetch gives up quietly instead of counting failures.
  absl::Status StartFetch(absl::Duration max_wait, bool prefetch,
                          const std::map<TopicPartition, int64_t>& next,
                          std::unique_ptr<PendingFetch>* out, bool* back_off);
  // Applies a settled round's answers to the partitions.
  absl::Status ProcessFetch(PendingFetch& fetch, bool cancelled, ConsumerRecords* records,
                            bool* back_off);
  // Applies one partition's answer; sets *failed if it carried an error.
  absl::Status ProcessPartition(const runnel::v1::FetchPartitionResponse& r,
                                ConsumerRecords* records, bool* back_off, bool* failed);
  // A fetch call (or stream) to `address` for `request` failed with `status`.
  absl::Status FetchCallFailed(const std::string& address, const runnel::v1::FetchRequest& request,
                               const grpc::Status& status, bool* back_off);
  static void CancelAndWait(PendingFetch& fetch);
  void DropInFlightFetches();

  // Counts a retriable failure of `tp`; returns it once max_retries is exceeded.
  absl::Status RetriableFailure(const TopicPartition& tp, const absl::Status& status);

  const ConsumerOptions options_;
  std::shared_ptr<MetadataCache> metadata_;
  std::map<TopicPartition, PartitionState> partitions_;
  absl::Status deferred_error_;  // to return from the next Poll
  std::unique_ptr<PendingFetch> prefetch_;  // the next round, already in flight
  // Fetch streams (StreamRound), and for each running one (by broker
  // address) the partitions it serves with the offset its next answer starts
  // at, kept as the request it would be restarted with. A stream runs iff it
  // has an entry here.
  std::unique_ptr<FetchStreams> streams_;
  std::map<std::string, runnel::v1::FetchRequest> stream_positions_;
  bool streams_unsupported_ = false;  // a broker answered UNIMPLEMENTED
  int backoff_round_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();  // no Fetch round before this (backoff)
  bool closed_ = false;
  bool in_callback_ = false;

  // Group state (subscribed iff membership_ is set).
  std::shared_ptr<ForwardingTarget> coordinator_;
  std::unique_ptr<GroupMembership> membership_;
  std::vector<std::string> subscription_;
  RebalanceListener listener_;
  uint64_t reconciled_version_ = 0;
  bool reconciled_ = false;  // the owned partitions match State version reconciled_version_
  std::map<TopicPartition, int64_t> committed_;  // our last accepted commit per owned partition
  absl::Time next_auto_commit_ = absl::InfiniteFuture();

  // Asynchronous commits: completions come from gRPC's threads.
  absl::Mutex commits_mu_;
  std::vector<std::unique_ptr<PendingCommit>> commits_done_ ABSL_GUARDED_BY(commits_mu_);
  int commits_in_flight_ ABSL_GUARDED_BY(commits_mu_) = 0;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_CONSUMER_H_
