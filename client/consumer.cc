#include "client/consumer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "client/fetched_records.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

namespace {

int32_t Millis(absl::Duration d) {
  return static_cast<int32_t>(std::max<int64_t>(0, absl::ToInt64Milliseconds(d)));
}

absl::Status WithContext(const absl::Status& s, absl::string_view what) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

// The offset after the last whole batch in a Fetch answer's record bytes, or
// -1 if there is none.
int64_t EndOffset(absl::string_view records) {
  std::vector<absl::string_view> batches = runnel::batch::SplitStoredBatches(records);
  if (batches.empty()) return -1;
  absl::StatusOr<runnel::batch::BatchHeader> last = runnel::batch::ParseHeader(batches.back());
  return last.ok() ? last->last_offset() + 1 : -1;
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
    : options_(std::move(options)), metadata_(std::move(metadata)) {}

absl::Status Consumer::Assign(const std::vector<PartitionAssignment>& assignments) {
  std::map<TopicPartition, PartitionState> next;
  std::vector<PartitionAssignment> to_resolve;
  for (const PartitionAssignment& a : assignments) {
    if (absl::Status s = ValidateTopicName(a.topic); !s.ok()) return s;
    absl::StatusOr<v1::TopicInfo> topic = metadata_->Topic(a.topic);
    if (!topic.ok()) return topic.status();
    if (a.partition < 0 || a.partition >= topic->partitions_size()) {
      return PartitionOutOfRange(a.topic, a.partition, topic->partitions_size());
    }
    TopicPartition tp{a.topic, a.partition};
    if (!next.emplace(tp, PartitionState()).second) {
      return absl::InvalidArgumentError(absl::StrCat("partition ", ToString(tp),
                                                     " is assigned twice"));
    }
    if (a.start.kind == StartOffset::Kind::kOffset) {
      if (a.start.offset < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid start offset ", a.start.offset, " for ", ToString(tp)));
      }
      next[tp].position = a.start.offset;
    } else {
      to_resolve.push_back(a);
    }
  }
  std::map<TopicPartition, int64_t> resolved;
  if (absl::Status s = ResolveStarts(to_resolve, &resolved); !s.ok()) return s;
  for (const auto& [tp, offset] : resolved) next[tp].position = offset;
  DropPrefetch();
  partitions_ = std::move(next);
  deferred_error_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::Status Consumer::ResolveStarts(const std::vector<PartitionAssignment>& partitions,
                                     std::map<TopicPartition, int64_t>* positions) {
  const ClientOptions& client = metadata_->options();
  return RetryLoop(client, [&]() -> absl::Status {
    absl::Status retry;  // the last retriable failure of this attempt
    std::map<std::string, v1::ListOffsetsRequest> requests;  // by leader address
    for (const PartitionAssignment& a : partitions) {
      if (positions->count({a.topic, a.partition}) > 0) continue;
      absl::StatusOr<PartitionLeader> leader = metadata_->Leader(a.topic, a.partition);
      if (!leader.ok()) {
        if (!IsRetriable(leader.status())) return leader.status();
        retry = leader.status();
        continue;
      }
      v1::ListOffsetsPartition* p = requests[leader->address].add_partitions();
      p->set_topic(a.topic);
      p->set_partition(a.partition);
      p->set_spec(a.start.kind == StartOffset::Kind::kEarliest ? v1::OFFSET_SPEC_EARLIEST
                                                               : v1::OFFSET_SPEC_LATEST);
    }
    for (const auto& [address, request] : requests) {
      std::unique_ptr<v1::Broker::Stub> stub = v1::Broker::NewStub(metadata_->Channel(address));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + client.request_timeout));
      v1::ListOffsetsResponse response;
      grpc::Status rpc = stub->ListOffsets(&context, request, &response);
      if (!rpc.ok()) {
        absl::Status s = WithContext(FromGrpcStatus(rpc), absl::StrCat("list offsets on broker ",
                                                                       address));
        if (!IsRetriable(s)) return s;
        for (const v1::ListOffsetsPartition& p : request.partitions()) {
          metadata_->Invalidate(p.topic());
        }
        retry = s;
        continue;
      }
      for (const v1::ListOffsetsPartitionResponse& r : response.partitions()) {
        absl::Status s = PartitionError(r.error_code(), r.error_message(), r.topic(),
                                        r.partition());
        if (s.ok()) {
          (*positions)[{r.topic(), r.partition()}] = r.offset();
        } else if (IsRetriable(s)) {
          if (NeedsMetadataRefresh(r.error_code())) metadata_->Invalidate(r.topic());
          retry = s;
        } else {
          return s;
        }
      }
    }
    for (const PartitionAssignment& a : partitions) {
      if (positions->count({a.topic, a.partition}) == 0 && retry.ok()) {
        retry = absl::UnavailableError(absl::StrCat("no offset returned for ", a.topic, "-",
                                                    a.partition));
      }
    }
    return retry;
  });
}

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(absl::Duration timeout) {
  if (!deferred_error_.ok()) {
    absl::Status s = deferred_error_;
    deferred_error_ = absl::OkStatus();
    return s;
  }
  if (partitions_.empty()) return absl::FailedPreconditionError("no partitions assigned");
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<ConsumerRecord> records;
  while (true) {
    const absl::Duration max_wait =
        std::clamp(deadline - absl::Now(), absl::ZeroDuration(), options_.fetch_max_wait);
    bool back_off = false;
    absl::Status s = FetchRound(max_wait, &records, &back_off);
    if (!s.ok()) {
      if (records.empty()) return s;
      deferred_error_ = s;  // after the records already taken
      return records;
    }
    if (!records.empty()) {
      backoff_round_ = 0;
      return records;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return records;
    if (back_off) {
      absl::SleepFor(std::min(left, RetryBackoff(metadata_->options(), backoff_round_++)));
    } else {
      backoff_round_ = 0;
    }
  }
}

absl::Status Consumer::RetriableFailure(const TopicPartition& tp, const absl::Status& status) {
  PartitionState& state = partitions_[tp];
  if (++state.failures <= metadata_->options().max_retries) return absl::OkStatus();
  return WithContext(status, absl::StrCat(ToString(tp), " failed ", state.failures,
                                          " times in a row"));
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

Consumer::~Consumer() { DropPrefetch(); }

void Consumer::DropPrefetch() {
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
      call->request.set_max_wait_ms(Millis(max_wait));
      call->request.set_min_bytes(options_.fetch_min_bytes);
      call->request.set_max_bytes(options_.fetch_max_bytes);
      call->request.set_replica_id(-1);
    }
    v1::FetchPartition* p = call->request.add_partitions();
    p->set_topic(tp.topic);
    p->set_partition(tp.partition);
    p->set_fetch_offset(offset);
    fetch->offsets[tp] = offset;
    p->set_max_bytes(options_.max_partition_fetch_bytes);
    p->set_current_leader_epoch(leader->leader_epoch);
    p->set_last_fetched_epoch(-1);
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

absl::Status Consumer::FetchRound(absl::Duration max_wait, std::vector<ConsumerRecord>* records,
                                  bool* back_off) {
  // A prefetched round (started when the previous Poll returned records, so
  // that the broker reads the next records while the caller handles these)
  // is used as is: positions only change through Poll, or through Seek and
  // Assign, which drop it.
  std::unique_ptr<PendingFetch> fetch = std::move(prefetch_);
  const bool prefetched = fetch != nullptr;
  if (!prefetched) {
    if (absl::Status s = StartFetch(max_wait, /*prefetch=*/false, {}, &fetch, back_off);
        !s.ok()) {
      return s;
    }
    if (fetch == nullptr) return absl::OkStatus();
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
      const int64_t after = EndOffset(r.records());
      if (after > it->second.position) next[tp] = after;
    }
  }
  if (!next.empty()) {
    StartFetch(options_.fetch_max_wait, /*prefetch=*/true, next, &prefetch_, back_off)
        .IgnoreError();
  }
  absl::Status s = ProcessFetch(*fetch, cancelled, records, back_off);
  if (prefetch_ != nullptr) {
    // Decoding disagreed (an error, corrupt data): the prefetch asked for the
    // wrong offsets.
    bool stale = !s.ok();
    for (const auto& [tp, offset] : prefetch_->offsets) {
      auto it = partitions_.find(tp);
      stale |= it == partitions_.end() || it->second.position != offset;
    }
    if (stale) DropPrefetch();
  }
  return s;
}

absl::Status Consumer::ProcessFetch(PendingFetch& fetch, bool cancelled,
                                    std::vector<ConsumerRecord>* records, bool* back_off) {
  for (const auto& call : fetch.calls) {
    if (!call->status.ok()) {
      if (cancelled && call->status.error_code() == grpc::StatusCode::CANCELLED) continue;
      absl::Status s = WithContext(FromGrpcStatus(call->status),
                                   absl::StrCat("fetch from broker ", call->address));
      if (!IsRetriable(s)) return s;
      *back_off = true;
      for (const v1::FetchPartition& p : call->request.partitions()) {
        metadata_->Invalidate(p.topic());
        if (absl::Status f = RetriableFailure({p.topic(), p.partition()}, s); !f.ok()) return f;
      }
      continue;
    }
    for (const v1::FetchPartitionResponse& r : call->response.partitions()) {
      TopicPartition tp{r.topic(), r.partition()};
      auto it = partitions_.find(tp);
      if (it == partitions_.end()) continue;  // not ours
      PartitionState& state = it->second;
      absl::Status s = PartitionError(r.error_code(), r.error_message(), tp.topic, tp.partition);
      if (s.ok()) {
        state.failures = 0;
        state.high_watermark = r.high_watermark();
        std::vector<runnel::batch::Record> decoded;
        absl::Status d =
            DecodeFetchedRecords(r.records(), options_.check_crcs, &state.position, &decoded);
        records->reserve(records->size() + decoded.size());
        for (runnel::batch::Record& rec : decoded) {
          records->push_back(ConsumerRecord{tp.topic, tp.partition, rec.offset, rec.timestamp,
                                            std::move(rec.key), std::move(rec.value),
                                            std::move(rec.headers)});
        }
        if (!d.ok()) return WithContext(d, ToString(tp));
      } else if (r.error_code() == v1::ERROR_CODE_OFFSET_OUT_OF_RANGE || !IsRetriable(s)) {
        return s;
      } else {
        if (NeedsMetadataRefresh(r.error_code())) metadata_->Invalidate(tp.topic);
        *back_off = true;
        if (absl::Status f = RetriableFailure(tp, s); !f.ok()) return f;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::Position(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", ToString(tp), " is not assigned"));
  }
  return it->second.position;
}

absl::Status Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", ToString(tp), " is not assigned"));
  }
  if (offset < 0) return absl::InvalidArgumentError(absl::StrCat("invalid offset ", offset));
  DropPrefetch();  // it reads from the old position
  it->second.position = offset;
  it->second.failures = 0;
  deferred_error_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::HighWatermark(const TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("partition ", ToString(tp), " is not assigned"));
  }
  return it->second.high_watermark;
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

}  // namespace runnel::client
