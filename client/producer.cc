#include "client/producer.h"

#include <algorithm>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

namespace {

// Encoded size of a record, close enough for batching decisions: payload
// bytes plus a generous allowance for the varint framing.
size_t EstimateSize(const ProducerRecord& r) {
  size_t size = 32 + (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
  for (const auto& [k, v] : r.headers) size += 10 + k.size() + (v ? v->size() : 0);
  return size;
}

}  // namespace

Producer::Producer(ProducerOptions options)
    : Producer(options, std::make_shared<MetadataCache>(options.client)) {}

Producer::Producer(ProducerOptions options, std::shared_ptr<MetadataCache> metadata)
    : options_(std::move(options)),
      metadata_(std::move(metadata)),
      sticky_(absl::Uniform<uint64_t>(absl::BitGen())) {}

Producer::~Producer() {
  std::vector<Completion> done;
  {
    absl::MutexLock lock(&mu_);
    const absl::Status cancelled =
        absl::CancelledError("producer destroyed before the record was sent");
    for (auto& [tp, batch] : open_) {
      for (Pending& p : batch.records) done.emplace_back(std::move(p.callback), cancelled);
    }
    for (SealedBatch& batch : sealed_) {
      for (Pending& p : batch.records) done.emplace_back(std::move(p.callback), cancelled);
    }
  }
  for (auto& [callback, result] : done) {
    if (callback) callback(result);
  }
}

absl::Status Producer::Send(ProducerRecord record, DeliveryCallback on_delivery) {
  if (absl::Status s = ValidateTopicName(record.topic); !s.ok()) return s;
  const size_t size = EstimateSize(record);
  if (size + runnel::batch::kHeaderSize > options_.max_request_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("record of ", size,
                                                   " bytes exceeds the maximum request size of ",
                                                   options_.max_request_bytes, " bytes"));
  }
  absl::StatusOr<v1::TopicInfo> topic = metadata_->Topic(record.topic);
  if (!topic.ok()) return topic.status();
  const int32_t num_partitions = topic->partitions_size();
  if (num_partitions == 0) {
    return absl::UnavailableError(absl::StrCat("topic '", record.topic, "' has no partitions"));
  }
  if (record.partition && (*record.partition < 0 || *record.partition >= num_partitions)) {
    return PartitionOutOfRange(record.topic, *record.partition, num_partitions);
  }
  const int64_t timestamp = record.timestamp_ms.value_or(absl::ToUnixMillis(absl::Now()));

  bool send_now = false;
  {
    absl::MutexLock lock(&mu_);
    int32_t partition;
    if (record.partition) {
      partition = *record.partition;
    } else if (record.key) {
      partition = PartitionForKey(*record.key, num_partitions);
    } else {
      partition = sticky_.Partition(record.topic, num_partitions);
    }
    TopicPartition tp{record.topic, partition};
    auto it = open_.try_emplace(tp, options_.compression).first;
    if (!it->second.builder.empty() &&
        it->second.builder.estimated_size() + size > options_.batch_bytes) {
      SealLocked(tp);
      it = open_.try_emplace(tp, options_.compression).first;
    }
    OpenBatch& batch = it->second;
    batch.num_partitions = num_partitions;
    batch.builder.Append(timestamp, record.key, record.value, record.headers);
    batch.records.push_back({std::move(on_delivery), timestamp});
    ++pending_;
    if (batch.builder.estimated_size() >= options_.batch_bytes) SealLocked(tp);
    send_now = !sealed_.empty();
  }
  // Failures of these records reach their callbacks and the next Flush.
  if (send_now) SendSealed(/*seal_all=*/false, /*flushing=*/false).IgnoreError();
  return absl::OkStatus();
}

absl::Status Producer::Flush() { return SendSealed(/*seal_all=*/true, /*flushing=*/true); }

size_t Producer::pending_records() const {
  absl::MutexLock lock(&mu_);
  return pending_;
}

void Producer::SealLocked(const TopicPartition& tp) {
  auto it = open_.find(tp);
  if (it == open_.end()) return;
  OpenBatch& open = it->second;
  if (!open.builder.empty()) {
    SealedBatch sealed;
    sealed.tp = tp;
    absl::StatusOr<std::string> bytes = open.builder.Build();
    if (bytes.ok()) {
      sealed.bytes = std::move(*bytes);
    } else {
      sealed.build_error = bytes.status();
    }
    sealed.records = std::move(open.records);
    sealed.sealed_at = absl::Now();
    sealed.sequence = next_sequence_++;
    sealed_.push_back(std::move(sealed));
    sticky_.OnBatchSealed(tp.topic, tp.partition, open.num_partitions);
  }
  open_.erase(it);
}

absl::Status Producer::SendSealed(bool seal_all, bool flushing) {
  std::vector<Completion> done;
  absl::Status result;
  {
    absl::MutexLock send_lock(&send_mu_);
    std::deque<SealedBatch> batches;
    {
      absl::MutexLock lock(&mu_);
      if (seal_all) {
        std::vector<TopicPartition> tps;
        for (const auto& [tp, batch] : open_) tps.push_back(tp);
        for (const TopicPartition& tp : tps) SealLocked(tp);
      }
      batches.swap(sealed_);
    }
    done = Deliver(std::move(batches));
    absl::MutexLock lock(&mu_);
    pending_ -= done.size();
    for (const Completion& c : done) {
      if (!c.second.ok() && first_failure_.ok()) first_failure_ = c.second.status();
    }
    if (flushing) {
      result = first_failure_;
      first_failure_ = absl::OkStatus();
    }
  }
  for (auto& [callback, outcome] : done) {
    if (callback) callback(outcome);
  }
  return result;
}

void Producer::Complete(const SealedBatch& batch, const absl::StatusOr<int64_t>& base_offset,
                        std::vector<Completion>* done) {
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const Pending& p = batch.records[i];
    if (!base_offset.ok()) {
      done->emplace_back(p.callback, base_offset.status());
      continue;
    }
    RecordMetadata meta;
    meta.topic = batch.tp.topic;
    meta.partition = batch.tp.partition;
    meta.offset = options_.acks == v1::ACKS_NONE ? -1 : *base_offset + static_cast<int64_t>(i);
    meta.timestamp_ms = p.timestamp_ms;
    done->emplace_back(p.callback, std::move(meta));
  }
}

std::vector<Producer::Completion> Producer::Deliver(std::deque<SealedBatch> batches) {
  std::vector<Completion> done;
  std::vector<SealedBatch> todo(std::make_move_iterator(batches.begin()),
                                std::make_move_iterator(batches.end()));
  for (int backoff_round = 0; !todo.empty();) {
    // One request per leader address; a partition's batches go in seal
    // order, and once one of them must wait, the later ones wait too.
    struct Request {
      size_t bytes = 0;
      std::map<TopicPartition, std::vector<SealedBatch>> batches;
    };
    std::map<std::string, Request> requests;
    std::vector<SealedBatch> next;
    std::set<TopicPartition> blocked;
    bool back_off = false;
    auto retry_later = [&](SealedBatch& b, const absl::Status& why) {
      b.last_error = why;
      blocked.insert(b.tp);
      next.push_back(std::move(b));
      back_off = true;
    };

    for (SealedBatch& b : todo) {
      if (!b.build_error.ok()) {
        Complete(b, b.build_error, &done);
        continue;
      }
      if (blocked.count(b.tp) > 0) {
        next.push_back(std::move(b));
        continue;
      }
      absl::StatusOr<PartitionLeader> leader = metadata_->Leader(b.tp.topic, b.tp.partition);
      if (!leader.ok()) {
        if (IsRetriable(leader.status())) {
          retry_later(b, leader.status());
        } else {
          Complete(b, leader.status(), &done);
        }
        continue;
      }
      Request& request = requests[leader->address];
      if (request.bytes > 0 && request.bytes + b.bytes.size() > options_.max_request_bytes) {
        blocked.insert(b.tp);
        next.push_back(std::move(b));
        continue;
      }
      request.bytes += b.bytes.size();
      request.batches[b.tp].push_back(std::move(b));
    }

    for (auto& [address, request] : requests) {
      v1::ProduceRequest proto;
      proto.set_acks(options_.acks);
      proto.set_timeout_ms(
          static_cast<int32_t>(absl::ToInt64Milliseconds(metadata_->options().request_timeout)));
      for (const auto& [tp, list] : request.batches) {
        v1::ProducePartitionData* data = proto.add_partitions();
        data->set_topic(tp.topic);
        data->set_partition(tp.partition);
        for (const SealedBatch& b : list) data->mutable_records()->append(b.bytes);
      }
      std::unique_ptr<v1::Broker::Stub> stub = v1::Broker::NewStub(metadata_->Channel(address));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + metadata_->options().request_timeout +
                                              metadata_->options().connect_timeout));
      v1::ProduceResponse response;
      grpc::Status rpc = stub->Produce(&context, proto, &response);
      if (!rpc.ok()) {
        absl::Status s = FromGrpcStatus(rpc);
        s = absl::Status(s.code(), absl::StrCat("produce to broker ", address, ": ", s.message()));
        for (auto& [tp, list] : request.batches) {
          if (IsRetriable(s)) metadata_->Invalidate(tp.topic);
          for (SealedBatch& b : list) {
            if (IsRetriable(s)) {
              retry_later(b, s);
            } else {
              Complete(b, s, &done);
            }
          }
        }
        continue;
      }
      std::map<TopicPartition, const v1::ProducePartitionResponse*> results;
      for (const v1::ProducePartitionResponse& r : response.partitions()) {
        results[{r.topic(), r.partition()}] = &r;
      }
      for (auto& [tp, list] : request.batches) {
        auto it = results.find(tp);
        if (it == results.end()) {
          absl::Status s = absl::InternalError(
              absl::StrCat("broker ", address, " did not answer for ", ToString(tp)));
          for (SealedBatch& b : list) Complete(b, s, &done);
          continue;
        }
        const v1::ProducePartitionResponse& r = *it->second;
        absl::Status s = PartitionError(r.error_code(), r.error_message(), tp.topic, tp.partition);
        if (s.ok()) {
          int64_t base = r.base_offset();
          for (SealedBatch& b : list) {
            Complete(b, base, &done);
            base += static_cast<int64_t>(b.records.size());
          }
        } else if (IsRetriable(s)) {
          if (NeedsMetadataRefresh(r.error_code())) metadata_->Invalidate(tp.topic);
          for (SealedBatch& b : list) retry_later(b, s);
        } else {
          for (SealedBatch& b : list) Complete(b, s, &done);
        }
      }
    }

    // Batches that waited too long fail; the rest go again, in seal order.
    todo.clear();
    const absl::Time now = absl::Now();
    for (SealedBatch& b : next) {
      if (now - b.sealed_at < options_.delivery_timeout) {
        todo.push_back(std::move(b));
        continue;
      }
      std::string why = b.last_error.ok() ? "" : absl::StrCat(": ", b.last_error.message());
      Complete(b,
               absl::DeadlineExceededError(absl::StrCat(
                   "delivery to ", ToString(b.tp), " timed out after ",
                   absl::FormatDuration(options_.delivery_timeout), why)),
               &done);
    }
    std::sort(todo.begin(), todo.end(), [](const SealedBatch& a, const SealedBatch& b) {
      return a.sequence < b.sequence;
    });
    if (back_off && !todo.empty()) {
      absl::SleepFor(RetryBackoff(metadata_->options(), backoff_round++));
    } else {
      backoff_round = 0;
    }
  }
  return done;
}

}  // namespace runnel::client
