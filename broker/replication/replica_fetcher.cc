#include "broker/replication/replica_fetcher.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "broker/replication/throttle.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::replication {

// Fetches every partition followed from one leader broker, on its own thread.
class ReplicaFetcherManager::Fetcher {
 public:
  Fetcher(const ReplicaFetcherOptions& options, ReplicaManager* replicas, int32_t leader_id,
          std::string address)
      : options_(options), replicas_(replicas), leader_id_(leader_id),
        address_(std::move(address)) {
    // gRPC's default reconnect backoff grows to two minutes; a restarted
    // leader must be found again within a second.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Re-resolution after a failure is otherwise limited to every 30 s.
    args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
    args.SetMaxReceiveMessageSize(options_.max_grpc_message_bytes);
    stub_ = runnel::v1::Broker::NewStub(
        grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
    thread_ = std::thread([this] { Run(); });
  }

  ~Fetcher() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      if (call_ != nullptr) call_->TryCancel();
    }
    thread_.join();
  }

  const std::string& address() const { return address_; }

  void SetPartitions(std::vector<FollowedPartition> partitions) {
    absl::MutexLock lock(&mu_);
    partitions_ = std::move(partitions);
  }

 private:
  // Sleeps up to `d`; returns false if stopping.
  bool Pause(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
    return !stop_;
  }

  void Run() {
    bool warned = false;
    while (true) {
      std::vector<FollowedPartition> partitions;
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        partitions = partitions_;
      }
      const int64_t epoch = options_.broker_epoch ? options_.broker_epoch() : 0;
      const absl::Time now = absl::Now();
      SyncBuckets(partitions, now);
      // The earliest time a throttled partition left out of this fetch may
      // be fetched again.
      absl::Time throttled_until = absl::InfiniteFuture();
      runnel::v1::FetchRequest req;
      req.set_replica_id(options_.broker_id);
      req.set_replica_broker_epoch(epoch);
      req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(options_.max_wait)));
      req.set_min_bytes(1);
      req.set_max_bytes(options_.max_bytes);
      std::vector<std::pair<const FollowedPartition*, FollowerPosition>> sent;
      for (const FollowedPartition& p : partitions) {
        auto pos = replicas_->FollowerFetchPosition(p.id, p.leader_epoch);
        if (!pos.ok()) continue;  // no longer following it at this epoch
        int64_t allowance = 0;
        if (auto bucket = buckets_.find(p.id); bucket != buckets_.end()) {
          allowance = bucket->second.Allowance(now);
          if (allowance == 0) {
            throttled_until = std::min(throttled_until, bucket->second.ReadyAt(now));
            continue;
          }
        }
        auto* fp = req.add_partitions();
        if (allowance > 0) {
          fp->set_max_bytes(static_cast<int32_t>(std::min<int64_t>(allowance, INT32_MAX)));
        }
        fp->set_topic(p.topic);
        fp->set_partition(p.partition);
        fp->set_fetch_offset(pos->fetch_offset);
        fp->set_current_leader_epoch(p.leader_epoch);
        if (pos->last_fetched_epoch) fp->set_last_fetched_epoch(*pos->last_fetched_epoch);
        sent.emplace_back(&p, *pos);
      }
      if (epoch == 0 || sent.empty()) {
        const absl::Duration pause = epoch != 0 && throttled_until != absl::InfiniteFuture()
                                         ? throttled_until - now
                                         : options_.error_backoff;
        if (!Pause(std::max(pause, absl::Milliseconds(1)))) return;
        continue;
      }
      if (throttled_until != absl::InfiniteFuture()) {
        // Do not let the long poll hold a throttled partition past its turn.
        const absl::Duration wait =
            std::clamp(throttled_until - now, absl::Milliseconds(1), options_.max_wait);
        req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(wait)));
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.max_wait + absl::Seconds(10)));
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        call_ = &ctx;
      }
      runnel::v1::FetchResponse resp;
      grpc::Status status = stub_->Fetch(&ctx, req, &resp);
      {
        absl::MutexLock lock(&mu_);
        call_ = nullptr;
      }
      if (!status.ok()) {
        if (!warned) {
          RLOG(WARN) << "replica fetch failed" << Kv("leader", leader_id_)
                     << Kv("address", address_) << Kv("error", status.error_message());
          warned = true;
        }
        if (!Pause(options_.error_backoff)) return;
        continue;
      }
      warned = false;
      bool partition_error = false;
      for (int i = 0; i < resp.partitions_size() && i < static_cast<int>(sent.size()); ++i) {
        const FollowedPartition& p = *sent[i].first;
        if (auto bucket = buckets_.find(p.id); bucket != buckets_.end()) {
          bucket->second.Consume(static_cast<int64_t>(resp.partitions(i).records().size()));
        }
        absl::Status s =
            replicas_->ApplyFollowerFetch(p.id, p.leader_epoch, sent[i].second, resp.partitions(i));
        if (!s.ok()) {
          RLOG(DEBUG) << "replica fetch partition error" << Kv("topic", p.topic)
                      << Kv("partition", p.partition) << Kv("leader", leader_id_)
                      << Kv("error", s.ToString());
          partition_error = true;
        }
      }
      if (partition_error && !Pause(options_.error_backoff)) return;
    }
  }

  // Keeps one token bucket per throttled partition (a reassignment copy to
  // this broker), with its current rate; drops the others.
  void SyncBuckets(const std::vector<FollowedPartition>& partitions, absl::Time now) {
    std::set<storage::PartitionId> throttled;
    for (const FollowedPartition& p : partitions) {
      if (p.throttle_bytes_per_second <= 0) continue;
      throttled.insert(p.id);
      auto [it, inserted] = buckets_.try_emplace(p.id, p.throttle_bytes_per_second, now);
      if (!inserted && it->second.rate() != p.throttle_bytes_per_second) {
        it->second.SetRate(p.throttle_bytes_per_second, now);
      }
    }
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = throttled.count(it->first) > 0 ? std::next(it) : buckets_.erase(it);
    }
  }

  const ReplicaFetcherOptions& options_;
  ReplicaManager* const replicas_;
  const int32_t leader_id_;
  const std::string address_;
  std::unique_ptr<runnel::v1::Broker::Stub> stub_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;  // the fetch in flight
  std::vector<FollowedPartition> partitions_ ABSL_GUARDED_BY(mu_);
  // Used by the fetch thread only.
  std::map<storage::PartitionId, TokenBucket> buckets_;
  std::thread thread_;
};

ReplicaFetcherManager::ReplicaFetcherManager(ReplicaFetcherOptions options,
                                             ReplicaManager* replicas)
    : options_(std::move(options)), replicas_(replicas) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { Stop(); }

void ReplicaFetcherManager::Update(const FollowSet& follow) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    auto f = follow.find(it->first);
    if (f == follow.end() || f->second.first != it->second->address()) {
      it = fetchers_.erase(it);  // joins its thread
    } else {
      ++it;
    }
  }
  for (const auto& [leader, entry] : follow) {
    auto& slot = fetchers_[leader];
    if (slot == nullptr) {
      slot = std::make_unique<Fetcher>(options_, replicas_, leader, entry.first);
    }
    slot->SetPartitions(entry.second);
  }
}

void ReplicaFetcherManager::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  fetchers_.clear();
}

}  // namespace runnel::replication
