#include "client/producer.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

namespace {

// Encoded size of a record, close enough for batching decisions and buffer
// accounting: payload bytes plus a generous allowance for the varint framing.
size_t EstimateSize(const ProducerRecord& r) {
  size_t size = 32 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& [k, v] : r.headers) size += 10 + k.size() + (v ? v->size() : 0);
  return size;
}

// How long the producer trusts its cached partition count of a topic before
// asking the MetadataCache again (which refreshes on demand, e.g. after a
// NOT_LEADER). Short enough to notice a re-created topic soon.
constexpr absl::Duration kTopicRecheck = absl::Seconds(1);

absl::Status Cancelled() {
  return absl::CancelledError("producer closed before the record was sent");
}

}  // namespace

// One Produce RPC and the batches it carries, per partition in send order.
struct Producer::InFlight {
  std::string address;
  std::unique_ptr<v1::Broker::Stub> stub;
  grpc::ClientContext context;
  v1::ProduceRequest request;
  v1::ProduceResponse response;
  grpc::Status status;
  size_t bytes = 0;
  std::vector<std::pair<PartitionQueue*, std::vector<Batch>>> batches;
};

Producer::Producer(ProducerOptions options)
    : Producer(options, std::make_shared<MetadataCache>(options.client)) {}

Producer::Producer(ProducerOptions options, std::shared_ptr<MetadataCache> metadata)
    : options_(std::move(options)),
      metadata_(std::move(metadata)),
      sticky_(absl::Uniform<uint64_t>(absl::BitGen())),
      sender_([this] { RunSender(); }) {}

Producer::~Producer() { Close(absl::ZeroDuration()).IgnoreError(); }

absl::Status Producer::Close(absl::Duration timeout) {
  if (OnSenderThread()) {
    return absl::FailedPreconditionError(
        "Close called from a delivery callback: it would wait for itself");
  }
  absl::Status result;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return absl::OkStatus();
    if (timeout > absl::ZeroDuration()) {
      const absl::Time now = absl::Now();
      for (auto& [tp, q] : queues_) SealLocked(*q, now);
      result = AwaitSealedLocked(now + timeout);
    }
    closing_ = true;
    sender_cv_.Signal();
  }
  // The sender cancels what is left and runs its callbacks before it exits.
  sender_.join();
  return result;
}

absl::Status Producer::AwaitSealedLocked(absl::Time deadline) {
  const uint64_t target = next_sequence_;
  bool timed_out = false;
  while (!incomplete_.empty() && *incomplete_.begin() < target && !timed_out) {
    timed_out = space_cv_.WaitWithDeadline(&mu_, deadline);
  }
  absl::Status result = first_failure_;
  first_failure_ = absl::OkStatus();
  if (!incomplete_.empty() && *incomplete_.begin() < target) {
    return absl::DeadlineExceededError(
        absl::StrCat(pending_,
                     " records still undelivered when the close timeout ran out; they fail with "
                     "CANCELLED"));
  }
  return result;
}

std::future<absl::StatusOr<RecordMetadata>> Producer::SendFuture(ProducerRecord record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  std::future<absl::StatusOr<RecordMetadata>> future = promise->get_future();
  absl::Status s = Send(std::move(record), [promise](const absl::StatusOr<RecordMetadata>& r) {
    promise->set_value(r);
  });
  if (!s.ok()) promise->set_value(s);
  return future;
}

bool Producer::OnSenderThread() const { return std::this_thread::get_id() == sender_.get_id(); }

absl::StatusOr<Producer::TopicEntry*> Producer::Topic(const std::string& topic, absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end() && now - it->second.checked_at < kTopicRecheck) return &it->second;
  }
  if (absl::Status s = ValidateTopicName(topic); !s.ok()) return s;
  absl::StatusOr<v1::TopicInfo> info = metadata_->Topic(topic);
  if (!info.ok()) return info.status();
  const int32_t count = info->partitions_size();
  if (count == 0) {
    return absl::UnavailableError(absl::StrCat("topic '", topic, "' has no partitions"));
  }
  absl::MutexLock lock(&mu_);
  TopicEntry& entry = topics_[topic];
  entry.num_partitions = count;
  entry.checked_at = now;
  return &entry;
}

Producer::PartitionQueue& Producer::QueueLocked(TopicEntry& entry, const std::string& topic,
                                                int32_t partition) {
  if (static_cast<size_t>(partition) >= entry.queues.size()) {
    entry.queues.resize(static_cast<size_t>(partition) + 1, nullptr);
  }
  PartitionQueue*& queue = entry.queues[static_cast<size_t>(partition)];
  if (queue == nullptr) {
    TopicPartition tp{topic, partition};
    auto owned = std::make_unique<PartitionQueue>(tp, options_.compression);
    queue = owned.get();
    queues_.emplace(std::move(tp), std::move(owned));
  }
  return *queue;
}

absl::Status Producer::Send(ProducerRecord record, DeliveryCallback on_delivery) {
  const size_t size = EstimateSize(record);
  if (size + runnel::batch::kHeaderSize > options_.max_request_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("record of ", size,
                                                   " bytes exceeds the maximum request size of ",
                                                   options_.max_request_bytes, " bytes"));
  }
  if (size > options_.buffer_memory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record of ", size, " bytes exceeds the buffer memory of ", options_.buffer_memory,
        " bytes"));
  }
  absl::Time now = absl::Now();
  absl::StatusOr<TopicEntry*> topic = Topic(record.topic, now);
  if (!topic.ok()) return topic.status();
  const int64_t timestamp = record.timestamp_ms.value_or(absl::ToUnixMillis(now));

  absl::MutexLock lock(&mu_);
  const int32_t num_partitions = (*topic)->num_partitions;
  if (record.partition && (*record.partition < 0 || *record.partition >= num_partitions)) {
    return PartitionOutOfRange(record.topic, *record.partition, num_partitions);
  }
  if (closing_) return absl::FailedPreconditionError("the producer is closed");
  // A callback (on the sender thread) must not wait for the sender: it may
  // overfill the buffer instead.
  if (buffered_ > 0 && buffered_ + size > options_.buffer_memory && !OnSenderThread()) {
    ++blocked_senders_;
    WakeSenderLocked(absl::InfinitePast());  // seal open batches: they free space
    const absl::Time deadline = now + options_.max_block;
    bool timed_out = false;
    while (buffered_ > 0 && buffered_ + size > options_.buffer_memory && !closing_ &&
           !timed_out) {
      timed_out = space_cv_.WaitWithDeadline(&mu_, deadline);
    }
    --blocked_senders_;
    if (closing_) return absl::FailedPreconditionError("the producer is closed");
    if (buffered_ > 0 && buffered_ + size > options_.buffer_memory) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "producer buffer of ", options_.buffer_memory, " bytes still full after ",
          absl::FormatDuration(options_.max_block), ": the brokers are not keeping up"));
    }
    now = absl::Now();
  }

  int32_t partition;
  if (record.partition) {
    partition = *record.partition;
  } else if (record.key) {
    partition = PartitionForKey(*record.key, num_partitions);
  } else {
    partition = sticky_.Partition(record.topic, num_partitions);
  }
  PartitionQueue& q = QueueLocked(**topic, record.topic, partition);
  if (!q.builder.empty() && q.builder.estimated_size() + size > options_.batch_bytes) {
    SealLocked(q, now);
  }
  if (q.builder.empty()) {
    q.opened_at = now;
    if (!q.in_flight) WakeSenderLocked(now + options_.linger);
  }
  q.num_partitions = num_partitions;
  q.builder.Append(timestamp, record.key, record.value, record.headers);
  q.open_records.push_back({std::move(on_delivery), timestamp});
  q.open_buffered += size;
  buffered_ += size;
  ++pending_;
  if (q.builder.estimated_size() >= options_.batch_bytes) SealLocked(q, now);
  return absl::OkStatus();
}

void Producer::WakeSenderLocked(absl::Time by) {
  // An awake sender looks at everything before it sleeps again.
  if (sender_wake_at_ != absl::InfinitePast() && by < sender_wake_at_) {
    sender_wake_at_ = absl::InfinitePast();
    sender_cv_.Signal();
  }
}

void Producer::SealLocked(PartitionQueue& q, absl::Time now) {
  if (q.builder.empty()) return;
  Batch batch;
  absl::StatusOr<std::string> bytes = q.builder.Build();
  if (bytes.ok()) {
    batch.bytes = std::move(*bytes);
  } else {
    batch.build_error = bytes.status();
  }
  batch.records = std::move(q.open_records);
  q.open_records.clear();
  q.open_records.reserve(batch.records.size());  // the next batch is likely alike
  batch.buffered = q.open_buffered;
  q.open_buffered = 0;
  batch.created_at = q.opened_at;
  batch.sequence = next_sequence_++;
  incomplete_.insert(batch.sequence);
  q.ready.push_back(std::move(batch));
  sticky_.OnBatchSealed(q.tp.topic, q.tp.partition, q.num_partitions);
  if (!q.in_flight) WakeSenderLocked(std::max(now, q.retry_at));
}

absl::Status Producer::Flush() {
  if (OnSenderThread()) {
    return absl::FailedPreconditionError(
        "Flush called from a delivery callback: it would wait for itself");
  }
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  for (auto& [tp, q] : queues_) SealLocked(*q, now);
  return AwaitSealedLocked(absl::InfiniteFuture());
}

size_t Producer::pending_records() const {
  absl::MutexLock lock(&mu_);
  return pending_;
}

// ---------------------------------------------------------------------------
// The sender thread

void Producer::RunSender() {
  bool cancelled = false;  // in-flight RPCs were cancelled for closing
  while (true) {
    std::vector<Completed> done;
    std::vector<PartitionQueue*> sendable;
    std::vector<grpc::ClientContext*> to_cancel;
    bool exit = false;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        const absl::Time now = absl::Now();
        HandleResponsesLocked(now, &done);
        if (closing_) {
          if (!cancelled) {
            cancelled = true;
            for (auto& [call, owned] : in_flight_) to_cancel.push_back(&call->context);
          }
          if (in_flight_.empty()) {
            for (auto& [tp, q] : queues_) {
              SealLocked(*q, now);
              FailLocked(*q, {}, Cancelled(), &done);
            }
            exit = true;
          }
        } else {
          absl::Time wake = absl::InfiniteFuture();
          CollectLocked(now, &sendable, &done, &wake);
          if (done.empty() && sendable.empty()) {
            sender_wake_at_ = wake;
            sender_cv_.WaitWithDeadline(&mu_, wake);
            sender_wake_at_ = absl::InfinitePast();
            continue;
          }
        }
        if (!done.empty() || !sendable.empty() || !to_cancel.empty() || exit) break;
        sender_cv_.Wait(&mu_);  // closing: wait for the cancelled RPCs
      }
    }
    // Cancelled calls finish through their callbacks, on gRPC's threads.
    for (grpc::ClientContext* context : to_cancel) context->TryCancel();
    if (!sendable.empty()) SendRequests(sendable, &done);
    Finish(&done);
    if (exit) return;
  }
}

void Producer::CollectLocked(absl::Time now, std::vector<PartitionQueue*>* sendable,
                             std::vector<Completed>* done, absl::Time* wake) {
  // Under memory pressure everything goes now: open batches only free their
  // buffer space once delivered.
  const bool seal_all = blocked_senders_ > 0;
  for (auto& [tp, owned] : queues_) {
    PartitionQueue& q = *owned;
    if (q.in_flight) continue;  // its response wakes us
    if (!q.builder.empty()) {
      const absl::Time due = q.opened_at + options_.linger;
      if (seal_all || due <= now) {
        SealLocked(q, now);
      } else {
        *wake = std::min(*wake, due);
      }
    }
    while (!q.ready.empty()) {
      Batch& front = q.ready.front();
      if (!front.build_error.ok()) {
        const absl::Status error = front.build_error;
        done->push_back({q.tp, std::move(front), error});
      } else if (now - front.created_at >= options_.delivery_timeout) {
        const std::string why =
            front.last_error.ok() ? "" : absl::StrCat(": ", front.last_error.message());
        done->push_back({q.tp, std::move(front),
                         absl::DeadlineExceededError(absl::StrCat(
                             "delivery to ", ToString(q.tp), " timed out after ",
                             absl::FormatDuration(options_.delivery_timeout), why))});
      } else {
        break;
      }
      q.ready.pop_front();
    }
    if (q.ready.empty()) continue;
    if (q.retry_at > now) {
      *wake = std::min(*wake, q.retry_at);
      continue;
    }
    // Its last leader has all the requests in flight it may: a response wakes us.
    if (!q.leader_address.empty()) {
      auto busy = in_flight_per_broker_.find(q.leader_address);
      if (busy != in_flight_per_broker_.end() &&
          busy->second >= options_.max_in_flight_requests) {
        continue;
      }
    }
    sendable->push_back(&q);
  }
}

void Producer::SendRequests(const std::vector<PartitionQueue*>& sendable,
                            std::vector<Completed>* done) {
  // Leaders first, without the lock (a lookup may refresh metadata). Only
  // this thread takes batches from `ready` or changes in_flight and retry_at,
  // so the partitions stay sendable meanwhile.
  std::map<std::string, std::vector<PartitionQueue*>> by_leader;
  std::vector<std::pair<PartitionQueue*, absl::Status>> no_leader;
  for (PartitionQueue* q : sendable) {
    absl::StatusOr<PartitionLeader> leader = metadata_->Leader(q->tp.topic, q->tp.partition);
    if (leader.ok()) {
      by_leader[leader->address].push_back(q);
    } else {
      no_leader.emplace_back(q, leader.status());
    }
  }

  std::vector<std::unique_ptr<InFlight>> calls;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto& [q, status] : no_leader) {
      if (IsRetriable(status)) {
        RetryLaterLocked(*q, {}, status, now, done);
      } else {
        FailLocked(*q, {}, status, done);
      }
    }
    for (auto& [address, queues] : by_leader) {
      for (PartitionQueue* q : queues) q->leader_address = address;
      int& outstanding = in_flight_per_broker_[address];
      size_t next = 0;
      while (next < queues.size() && outstanding < options_.max_in_flight_requests) {
        auto call = std::make_unique<InFlight>();
        call->address = address;
        // Whole partitions (all their ready batches that fit) per request;
        // a partition that does not fit waits for the next request.
        for (; next < queues.size(); ++next) {
          PartitionQueue* q = queues[next];
          if (call->bytes > 0 && call->bytes + q->ready.front().bytes.size() >
                                     options_.max_request_bytes) {
            break;
          }
          std::vector<Batch> taken;
          while (!q->ready.empty() &&
                 (taken.empty() || call->bytes + q->ready.front().bytes.size() <=
                                       options_.max_request_bytes)) {
            call->bytes += q->ready.front().bytes.size();
            taken.push_back(std::move(q->ready.front()));
            q->ready.pop_front();
          }
          q->in_flight = true;
          call->batches.emplace_back(q, std::move(taken));
        }
        ++outstanding;
        calls.push_back(std::move(call));
      }
    }
  }
  for (std::unique_ptr<InFlight>& call : calls) StartCall(std::move(call));
}

void Producer::StartCall(std::unique_ptr<InFlight> call) {
  v1::ProduceRequest& proto = call->request;
  proto.set_acks(options_.acks);
  proto.set_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(metadata_->options().request_timeout)));
  for (const auto& [q, batches] : call->batches) {
    v1::ProducePartitionData* data = proto.add_partitions();
    data->set_topic(q->tp.topic);
    data->set_partition(q->tp.partition);
    std::string* records = data->mutable_records();
    size_t total = 0;
    for (const Batch& b : batches) total += b.bytes.size();
    records->reserve(total);
    for (const Batch& b : batches) records->append(b.bytes);
  }
  call->stub = v1::Broker::NewStub(metadata_->Channel(call->address));
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + metadata_->options().request_timeout +
                                                metadata_->options().connect_timeout));
  InFlight* raw = call.get();
  {
    absl::MutexLock lock(&mu_);
    in_flight_.emplace(raw, std::move(call));
  }
  raw->stub->async()->Produce(&raw->context, &raw->request, &raw->response,
                              [this, raw](grpc::Status status) {
                                absl::MutexLock lock(&mu_);
                                raw->status = std::move(status);
                                finished_.push_back(raw);
                                sender_cv_.Signal();
                              });
}

void Producer::HandleResponsesLocked(absl::Time now, std::vector<Completed>* done) {
  std::vector<InFlight*> finished;
  finished.swap(finished_);
  for (InFlight* raw : finished) {
    std::unique_ptr<InFlight> call = std::move(in_flight_[raw]);
    in_flight_.erase(raw);
    --in_flight_per_broker_[call->address];
    for (auto& [q, batches] : call->batches) q->in_flight = false;

    if (!call->status.ok()) {
      absl::Status s = FromGrpcStatus(call->status);
      s = absl::Status(s.code(),
                       absl::StrCat("produce to broker ", call->address, ": ", s.message()));
      for (auto& [q, batches] : call->batches) {
        if (IsRetriable(s)) {
          metadata_->Invalidate(q->tp.topic);
          RetryLaterLocked(*q, std::move(batches), s, now, done);
        } else {
          FailLocked(*q, std::move(batches), s, done);
        }
      }
      continue;
    }
    std::map<TopicPartition, const v1::ProducePartitionResponse*> results;
    for (const v1::ProducePartitionResponse& r : call->response.partitions()) {
      results[{r.topic(), r.partition()}] = &r;
    }
    for (auto& [q, batches] : call->batches) {
      auto it = results.find(q->tp);
      if (it == results.end()) {
        FailLocked(*q, std::move(batches),
                   absl::InternalError(absl::StrCat("broker ", call->address,
                                                    " did not answer for ", ToString(q->tp))),
                   done);
        continue;
      }
      const v1::ProducePartitionResponse& r = *it->second;
      absl::Status s = PartitionError(r.error_code(), r.error_message(), q->tp.topic,
                                      q->tp.partition);
      if (s.ok()) {
        q->failures = 0;
        int64_t base = r.base_offset();
        for (Batch& b : batches) {
          const int64_t count = static_cast<int64_t>(b.records.size());
          done->push_back({q->tp, std::move(b), base});
          base += count;
        }
      } else if (IsRetriable(s)) {
        if (NeedsMetadataRefresh(r.error_code())) metadata_->Invalidate(q->tp.topic);
        RetryLaterLocked(*q, std::move(batches), s, now, done);
      } else {
        FailLocked(*q, std::move(batches), s, done);
      }
    }
  }
}

void Producer::RetryLaterLocked(PartitionQueue& q, std::vector<Batch> batches,
                                const absl::Status& why, absl::Time now,
                                std::vector<Completed>* done) {
  if (closing_) {
    FailLocked(q, std::move(batches), Cancelled(), done);
    return;
  }
  // They were the partition's oldest batches: back to the front, in order.
  for (auto it = batches.rbegin(); it != batches.rend(); ++it) q.ready.push_front(std::move(*it));
  if (!q.ready.empty()) q.ready.front().last_error = why;
  q.retry_at = now + RetryBackoff(metadata_->options(), q.failures++);
}

void Producer::FailLocked(PartitionQueue& q, std::vector<Batch> batches, const absl::Status& why,
                          std::vector<Completed>* done) {
  // A partition's later batches fail too: sending them would reorder records
  // around the failed ones. (Empty `batches`: fail what waits in the queue.)
  for (Batch& b : batches) done->push_back({q.tp, std::move(b), why});
  while (!q.ready.empty()) {
    done->push_back({q.tp, std::move(q.ready.front()), why});
    q.ready.pop_front();
  }
}

void Producer::Finish(std::vector<Completed>* done) {
  if (done->empty()) return;
  size_t records = 0;
  size_t bytes = 0;
  absl::Status failure;
  for (Completed& c : *done) {
    records += c.batch.records.size();
    bytes += c.batch.buffered;
    if (!c.base_offset.ok()) {
      if (failure.ok()) failure = c.base_offset.status();
      const absl::StatusOr<RecordMetadata> outcome(c.base_offset.status());
      for (Pending& p : c.batch.records) {
        if (p.callback) p.callback(outcome);
      }
      continue;
    }
    // One metadata object, updated per record, spares an allocation each.
    absl::StatusOr<RecordMetadata> outcome(RecordMetadata{c.tp.topic, c.tp.partition, -1, 0});
    for (size_t i = 0; i < c.batch.records.size(); ++i) {
      Pending& p = c.batch.records[i];
      if (!p.callback) continue;
      outcome->offset =
          options_.acks == v1::ACKS_NONE ? -1 : *c.base_offset + static_cast<int64_t>(i);
      outcome->timestamp_ms = p.timestamp_ms;
      p.callback(outcome);
    }
  }
  absl::MutexLock lock(&mu_);
  pending_ -= records;
  buffered_ -= bytes;
  for (const Completed& c : *done) incomplete_.erase(c.batch.sequence);
  if (!failure.ok() && first_failure_.ok()) first_failure_ = failure;
  space_cv_.SignalAll();
  done->clear();
}

}  // namespace runnel::client
