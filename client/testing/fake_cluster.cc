#include "client/testing/fake_cluster.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/types.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client::testing {

namespace v1 = runnel::v1;
namespace batch = runnel::batch;

namespace {

struct Partition {
  int leader = 1;
  int leader_epoch = 0;
  std::vector<std::pair<int64_t, std::string>> batches;  // (last offset, bytes)
  int64_t next_offset = 0;
};

struct Topic {
  uint64_t id = 0;
  std::vector<Partition> partitions;
  int replication_factor = 1;
  std::map<std::string, std::string> configs;
};

using ErrorKey = std::tuple<FakeCluster::Rpc, std::string, int>;

}  // namespace

// What every RPC to a down broker answers.
const grpc::Status kDown(grpc::StatusCode::UNAVAILABLE, "fake broker is down");

struct FakeCluster::State {
  mutable absl::Mutex mu;
  int num_brokers = 0;
  std::vector<std::string> addresses;  // by broker id - 1; fixed before serving
  std::map<int, bool> down ABSL_GUARDED_BY(mu);
  int coordinator_unreachable ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, Topic> topics ABSL_GUARDED_BY(mu);
  uint64_t next_topic_id ABSL_GUARDED_BY(mu) = 1;
  std::map<ErrorKey, std::deque<std::pair<v1::ErrorCode, std::string>>> errors ABSL_GUARDED_BY(mu);
  uint64_t appends ABSL_GUARDED_BY(mu) = 0;  // bumps wake long polls
  int produce_calls ABSL_GUARDED_BY(mu) = 0;
  int fetch_calls ABSL_GUARDED_BY(mu) = 0;  // Fetch calls and FetchStream answers
  int fetch_streams ABSL_GUARDED_BY(mu) = 0;
  bool streaming ABSL_GUARDED_BY(mu) = true;  // FetchStream implemented
  int metadata_calls ABSL_GUARDED_BY(mu) = 0;

  // An injected error for this request, or NONE.
  v1::ErrorCode TakeError(Rpc rpc, const std::string& topic, int partition, std::string* message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = errors.find({rpc, topic, partition});
    if (it == errors.end() || it->second.empty()) return v1::ERROR_CODE_NONE;
    auto [code, text] = it->second.front();
    it->second.pop_front();
    *message = text;
    return code;
  }

  // NONE if `broker` leads the partition, else the error to answer with.
  v1::ErrorCode CheckLeader(int broker, const std::string& topic, int partition,
                            std::string* message, Partition** out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto t = topics.find(topic);
    if (t == topics.end() || partition < 0 ||
        partition >= static_cast<int>(t->second.partitions.size())) {
      *message = absl::StrCat("unknown topic or partition ", topic, "-", partition);
      return v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION;
    }
    Partition& p = t->second.partitions[partition];
    if (p.leader != broker) {
      *message = absl::StrCat("broker ", broker, " is not the leader of ", topic, "-", partition);
      return v1::ERROR_CODE_NOT_LEADER;
    }
    *out = &p;
    return v1::ERROR_CODE_NONE;
  }

  int64_t Append(Partition& p, std::string bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(bytes);
    const int64_t base = p.next_offset;
    batch::SetBaseOffset(bytes.data(), base);
    batch::SetPartitionLeaderEpoch(bytes.data(), p.leader_epoch);
    p.next_offset = base + header->last_offset_delta + 1;
    p.batches.emplace_back(p.next_offset - 1, std::move(bytes));
    ++appends;
    return base;
  }

  v1::TopicInfo Describe(const std::string& name, const Topic& t) const {
    v1::TopicInfo info;
    info.set_name(name);
    info.set_topic_id(t.id);
    info.set_replication_factor(t.replication_factor);
    for (const auto& [k, v] : t.configs) (*info.mutable_configs())[k] = v;
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const Partition& p = t.partitions[i];
      v1::PartitionInfo* pi = info.add_partitions();
      pi->set_partition(static_cast<int32_t>(i));
      pi->set_leader(p.leader);
      pi->set_leader_epoch(p.leader_epoch);
      pi->set_partition_epoch(p.leader_epoch);
      int first = p.leader > 0 ? p.leader : 1;
      for (int r = 0; r < t.replication_factor; ++r) {
        int id = (first - 1 + r) % num_brokers + 1;
        pi->add_replicas(id);
        pi->add_isr(id);
      }
    }
    return info;
  }

  v1::BrokerInfo BrokerInfo(int id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    v1::BrokerInfo b;
    b.set_id(id);
    b.set_address(addresses[id - 1]);
    auto it = down.find(id);
    b.set_state(it != down.end() && it->second ? v1::BROKER_STATE_FENCED : v1::BROKER_STATE_ALIVE);
    b.set_broker_epoch(1);
    return b;
  }

  bool IsDown(int broker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = down.find(broker);
    return it != down.end() && it->second;
  }

  // What an Admin RPC meets before its work: a down broker, or a broker that
  // cannot reach the coordinator (the next coordinator_unreachable calls).
  grpc::Status AdminGate(int broker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (IsDown(broker)) return kDown;
    if (coordinator_unreachable > 0) {
      --coordinator_unreachable;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "coordinator unreachable from this broker: connection refused");
    }
    return grpc::Status::OK;
  }

  // New partitions are led like at creation: partition p by broker (p % brokers) + 1.
  void Grow(Topic& t, int total) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const size_t before = t.partitions.size();
    t.partitions.resize(total);
    for (size_t i = before; i < t.partitions.size(); ++i) {
      t.partitions[i].leader = static_cast<int>(i) % num_brokers + 1;
    }
  }

  // Partition count of a topic, -1 if unknown.
  int32_t PartitionCount(const std::string& topic) const {
    absl::MutexLock lock(&mu);
    auto it = topics.find(topic);
    return it == topics.end() ? -1 : static_cast<int32_t>(it->second.partitions.size());
  }
};

namespace {

using State = FakeCluster::State;
using Rpc = FakeCluster::Rpc;

class BrokerService final : public v1::Broker::Service {
 public:
  BrokerService(std::shared_ptr<State> state, int id) : state_(std::move(state)), id_(id) {}

  grpc::Status Produce(grpc::ServerContext*, const v1::ProduceRequest* request,
                       v1::ProduceResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->IsDown(id_)) return kDown;
    ++state_->produce_calls;
    if (request->partitions_size() == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no partitions");
    }
    for (const v1::ProducePartitionData& data : request->partitions()) {
      v1::ProducePartitionResponse* r = response->add_partitions();
      r->set_topic(data.topic());
      r->set_partition(data.partition());
      std::string message;
      Partition* p = nullptr;
      v1::ErrorCode code =
          state_->TakeError(Rpc::kProduce, data.topic(), data.partition(), &message);
      if (code == v1::ERROR_CODE_NONE) {
        code = state_->CheckLeader(id_, data.topic(), data.partition(), &message, &p);
      }
      absl::StatusOr<std::vector<absl::string_view>> batches;
      if (code == v1::ERROR_CODE_NONE) {
        batches = batch::SplitBatches(data.records(), 1 << 20);
        if (!batches.ok()) {
          code = v1::ERROR_CODE_CORRUPT_BATCH;
          message = std::string(batches.status().message());
        }
      }
      if (code != v1::ERROR_CODE_NONE) {
        r->set_error_code(code);
        r->set_error_message(message);
        continue;
      }
      r->set_base_offset(p->next_offset);
      for (absl::string_view b : *batches) state_->Append(*p, std::string(b));
    }
    return grpc::Status::OK;
  }

  grpc::Status Fetch(grpc::ServerContext* context, const v1::FetchRequest* request,
                     v1::FetchResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->IsDown(id_)) return kDown;
    ++state_->fetch_calls;
    const absl::Time deadline = absl::Now() + absl::Milliseconds(request->max_wait_ms());
    while (true) {
      response->Clear();
      bool news = FillFetch(*request, response);
      if (news || absl::Now() >= deadline || context->IsCancelled()) break;
      const uint64_t seen = state_->appends;
      auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
        return state_->appends != seen;
      };
      state_->mu.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(10));
    }
    return grpc::Status::OK;
  }

  // As a real broker: Fetch after Fetch, sending only the news, each
  // partition continuing after its last answer and dropped after an error.
  grpc::Status FetchStream(grpc::ServerContext* context, const v1::FetchRequest* request,
                           grpc::ServerWriter<v1::FetchResponse>* writer) override {
    v1::FetchRequest next = *request;
    {
      absl::MutexLock lock(&state_->mu);
      if (!state_->streaming) {
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "fake broker without FetchStream");
      }
      ++state_->fetch_streams;
    }
    while (next.partitions_size() > 0 && !context->IsCancelled()) {
      v1::FetchResponse news;
      {
        absl::MutexLock lock(&state_->mu);
        if (state_->IsDown(id_)) return kDown;
        v1::FetchResponse answer;
        const uint64_t seen = state_->appends;
        if (!FillFetch(next, &answer)) {
          auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
            return state_->appends != seen;
          };
          state_->mu.AwaitWithTimeout(absl::Condition(&changed), absl::Milliseconds(10));
          continue;
        }
        ++state_->fetch_calls;
        v1::FetchRequest rest = next;
        rest.clear_partitions();
        for (int i = 0; i < answer.partitions_size(); ++i) {
          v1::FetchPartitionResponse* r = answer.mutable_partitions(i);
          const bool failed = r->error_code() != v1::ERROR_CODE_NONE;
          const int64_t after = failed ? -1 : batch::NextOffsetAfter(r->records());
          if (failed || after >= 0) news.add_partitions()->Swap(r);
          if (failed) continue;  // no more of this partition
          v1::FetchPartition* p = rest.add_partitions();
          *p = next.partitions(i);
          if (after >= 0) p->set_fetch_offset(after);
        }
        next = std::move(rest);
      }
      if (!writer->Write(news)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status ListOffsets(grpc::ServerContext*, const v1::ListOffsetsRequest* request,
                           v1::ListOffsetsResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->IsDown(id_)) return kDown;
    for (const v1::ListOffsetsPartition& q : request->partitions()) {
      v1::ListOffsetsPartitionResponse* r = response->add_partitions();
      r->set_topic(q.topic());
      r->set_partition(q.partition());
      r->set_timestamp_ms(-1);
      std::string message;
      Partition* p = nullptr;
      v1::ErrorCode code = state_->TakeError(Rpc::kListOffsets, q.topic(), q.partition(), &message);
      if (code == v1::ERROR_CODE_NONE) {
        code = state_->CheckLeader(id_, q.topic(), q.partition(), &message, &p);
      }
      if (code != v1::ERROR_CODE_NONE) {
        r->set_error_code(code);
        r->set_error_message(message);
        continue;
      }
      r->set_offset(q.spec() == v1::OFFSET_SPEC_EARLIEST    ? 0
                    : q.spec() == v1::OFFSET_SPEC_TIMESTAMP ? OffsetForTime(*p, q.timestamp_ms())
                                                            : p->next_offset);
      r->set_leader_epoch(p->leader_epoch);
    }
    return grpc::Status::OK;
  }

  grpc::Status Metadata(grpc::ServerContext*, const v1::MetadataRequest* request,
                        v1::MetadataResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->IsDown(id_)) return kDown;
    ++state_->metadata_calls;
    for (int id = 1; id <= state_->num_brokers; ++id) {
      *response->add_brokers() = state_->BrokerInfo(id);
    }
    response->set_cluster_id("fake-cluster");
    for (const std::string& name : request->topics()) {
      auto it = state_->topics.find(name);
      if (it == state_->topics.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("topic '", name, "' not found"));
      }
      *response->add_topics() = state_->Describe(name, it->second);
    }
    if (request->topics_size() == 0) {
      for (const auto& [name, t] : state_->topics) {
        *response->add_topics() = state_->Describe(name, t);
      }
    }
    return grpc::Status::OK;
  }

 private:
  // The first offset whose record's timestamp is at least `timestamp`, else the log end.
  static int64_t OffsetForTime(const Partition& p, int64_t timestamp) {
    for (const auto& [last, bytes] : p.batches) {
      std::vector<batch::Record> records;
      batch::DecodeRecords(bytes, &records).IgnoreError();
      for (const batch::Record& r : records) {
        if (r.timestamp >= timestamp) return r.offset;
      }
    }
    return p.next_offset;
  }

  // Fills one Fetch answer; true if it holds records or an error.
  bool FillFetch(const v1::FetchRequest& request, v1::FetchResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    bool news = false;
    for (const v1::FetchPartition& q : request.partitions()) {
      v1::FetchPartitionResponse* r = response->add_partitions();
      r->set_topic(q.topic());
      r->set_partition(q.partition());
      std::string message;
      Partition* p = nullptr;
      v1::ErrorCode code = state_->TakeError(Rpc::kFetch, q.topic(), q.partition(), &message);
      if (code == v1::ERROR_CODE_NONE) {
        code = state_->CheckLeader(id_, q.topic(), q.partition(), &message, &p);
      }
      if (code == v1::ERROR_CODE_NONE && q.current_leader_epoch() >= 0 &&
          q.current_leader_epoch() != p->leader_epoch) {
        code = q.current_leader_epoch() < p->leader_epoch ? v1::ERROR_CODE_FENCED_LEADER_EPOCH
                                                          : v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH;
        message =
            absl::StrCat("leader epoch ", q.current_leader_epoch(), " is not ", p->leader_epoch);
      }
      if (code == v1::ERROR_CODE_NONE &&
          (q.fetch_offset() < 0 || q.fetch_offset() > p->next_offset)) {
        code = v1::ERROR_CODE_OFFSET_OUT_OF_RANGE;
        message = absl::StrCat("offset ", q.fetch_offset(), " is out of range for ", q.topic(), "-",
                               q.partition(), ": valid offsets are 0 to ", p->next_offset);
      }
      if (code != v1::ERROR_CODE_NONE) {
        r->set_error_code(code);
        r->set_error_message(message);
        news = true;
        continue;
      }
      r->set_high_watermark(p->next_offset);
      r->set_log_start_offset(0);
      const size_t limit = q.max_bytes() > 0 ? q.max_bytes() : 1 << 20;
      for (const auto& [last, bytes] : p->batches) {
        if (last < q.fetch_offset()) continue;
        if (!r->records().empty() && r->records().size() + bytes.size() > limit) break;
        r->mutable_records()->append(bytes);
        news = true;
      }
    }
    return news;
  }

  std::shared_ptr<State> state_;
  const int id_;
};

class AdminService final : public v1::Admin::Service {
 public:
  AdminService(std::shared_ptr<State> state, int id) : state_(std::move(state)), id_(id) {}

  grpc::Status CreateTopic(grpc::ServerContext*, const v1::CreateTopicRequest* request,
                           v1::CreateTopicResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    if (absl::Status s = ValidateTopicName(request->name()); !s.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
    }
    if (request->partitions() < 1) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("partitions must be at least 1, got ", request->partitions()));
    }
    const int rf = std::max(1, request->replication_factor());
    if (rf > state_->num_brokers) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("replication factor ", rf, " exceeds the ",
                                       state_->num_brokers, " live brokers"));
    }
    if (state_->topics.count(request->name()) > 0) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          absl::StrCat("topic '", request->name(), "' already exists"));
    }
    Topic& t = state_->topics[request->name()];
    t.id = state_->next_topic_id++;
    t.replication_factor = rf;
    t.configs.insert(request->configs().begin(), request->configs().end());
    state_->Grow(t, request->partitions());
    *response->mutable_topic() = state_->Describe(request->name(), t);
    return grpc::Status::OK;
  }

  grpc::Status CreatePartitions(grpc::ServerContext*, const v1::CreatePartitionsRequest* request,
                                v1::CreatePartitionsResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    auto it = state_->topics.find(request->name());
    if (it == state_->topics.end()) return NotFound(request->name());
    const int current = static_cast<int>(it->second.partitions.size());
    if (request->total_count() <= current) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("topic '", request->name(), "' has ", current,
                       " partitions; the new count must be larger, got ", request->total_count()));
    }
    state_->Grow(it->second, request->total_count());
    *response->mutable_topic() = state_->Describe(it->first, it->second);
    return grpc::Status::OK;
  }

  grpc::Status DeleteTopic(grpc::ServerContext*, const v1::DeleteTopicRequest* request,
                           v1::DeleteTopicResponse*) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    if (state_->topics.erase(request->name()) == 0) return NotFound(request->name());
    return grpc::Status::OK;
  }

  grpc::Status ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest*,
                          v1::ListTopicsResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    for (const auto& [name, t] : state_->topics) response->add_names(name);
    return grpc::Status::OK;
  }

  grpc::Status DescribeTopic(grpc::ServerContext*, const v1::DescribeTopicRequest* request,
                             v1::DescribeTopicResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    auto it = state_->topics.find(request->name());
    if (it == state_->topics.end()) return NotFound(request->name());
    *response->mutable_topic() = state_->Describe(it->first, it->second);
    return grpc::Status::OK;
  }

  // Applies the change without checking keys or values (the coordinator's job).
  grpc::Status AlterTopicConfig(grpc::ServerContext*, const v1::AlterTopicConfigRequest* request,
                                v1::AlterTopicConfigResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    auto it = state_->topics.find(request->name());
    if (it == state_->topics.end()) return NotFound(request->name());
    for (const std::string& key : request->reset()) it->second.configs.erase(key);
    for (const auto& [key, value] : request->set()) it->second.configs[key] = value;
    *response->mutable_topic() = state_->Describe(it->first, it->second);
    return grpc::Status::OK;
  }

  grpc::Status DescribeCluster(grpc::ServerContext*, const v1::DescribeClusterRequest*,
                               v1::DescribeClusterResponse* response) override {
    absl::MutexLock lock(&state_->mu);
    if (grpc::Status s = state_->AdminGate(id_); !s.ok()) return s;
    response->set_cluster_id("fake-cluster");
    for (int id = 1; id <= state_->num_brokers; ++id) {
      v1::BrokerSummary* s = response->add_brokers();
      *s->mutable_broker() = state_->BrokerInfo(id);
      for (const auto& [name, t] : state_->topics) {
        const v1::TopicInfo info = state_->Describe(name, t);
        for (const v1::PartitionInfo& p : info.partitions()) {
          if (p.leader() == id) {
            s->set_partitions_led(s->partitions_led() + 1);
          } else if (std::count(p.replicas().begin(), p.replicas().end(), id) > 0) {
            s->set_partitions_followed(s->partitions_followed() + 1);
          }
        }
      }
    }
    return grpc::Status::OK;
  }

 private:
  static grpc::Status NotFound(const std::string& name) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("topic '", name, "' not found"));
  }

  std::shared_ptr<State> state_;
  const int id_;
};

}  // namespace

struct FakeCluster::Broker {
  BrokerService broker_service;
  AdminService admin_service;
  FakeGroupsService groups_service;
  std::unique_ptr<grpc::Server> server;

  int port = 0;  // when listening on loopback

  Broker(const std::shared_ptr<State>& state, const std::shared_ptr<FakeGroups>& groups, int id,
         bool listen)
      : broker_service(state, id), admin_service(state, id), groups_service(groups, [state, id] {
          absl::MutexLock lock(&state->mu);
          return state->IsDown(id);
        }) {
    grpc::ServerBuilder builder;
    if (listen) builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&broker_service);
    builder.RegisterService(&admin_service);
    builder.RegisterService(&groups_service);
    server = builder.BuildAndStart();
  }
};

FakeCluster::FakeCluster(int num_brokers, bool listen_on_loopback)
    : state_(std::make_shared<State>()),
      groups_(std::make_shared<FakeGroups>(
          [state = state_](const std::string& topic) { return state->PartitionCount(topic); })) {
  state_->num_brokers = num_brokers;
  for (int id = 1; id <= num_brokers; ++id) {
    brokers_.push_back(std::make_unique<Broker>(state_, groups_, id, listen_on_loopback));
    state_->addresses.push_back(listen_on_loopback
                                    ? absl::StrCat("127.0.0.1:", brokers_.back()->port)
                                    : absl::StrCat("fake-broker-", id, ":9092"));
  }
}

FakeCluster::~FakeCluster() {
  for (auto& b : brokers_) b->server->Shutdown(std::chrono::system_clock::now());
}

std::string FakeCluster::Address(int broker_id) const {
  return state_->addresses.at(broker_id - 1);
}

ClientOptions FakeCluster::Options() const {
  ClientOptions options;
  options.bootstrap = Address(1);
  options.retry_backoff = absl::Milliseconds(1);
  options.retry_backoff_max = absl::Milliseconds(5);
  options.topic_propagation_timeout = absl::Seconds(1);
  std::map<std::string, grpc::Server*> servers;
  for (size_t i = 0; i < brokers_.size(); ++i) {
    servers[state_->addresses[i]] = brokers_[i]->server.get();
  }
  options.channel_factory = [servers](const std::string& address,
                                      const grpc::ChannelArguments& args) {
    auto it = servers.find(address);
    if (it != servers.end()) {
      grpc::ChannelArguments copy = args;
      return it->second->InProcessChannel(copy);
    }
    // Unknown addresses fail like an unreachable host, without a socket.
    return grpc::CreateCustomChannel("unix:/nonexistent/runnel-fake.sock",
                                     grpc::InsecureChannelCredentials(), args);
  };
  return options;
}

void FakeCluster::CreateTopic(const std::string& name, int partitions) {
  absl::MutexLock lock(&state_->mu);
  Topic& t = state_->topics[name];
  t.id = state_->next_topic_id++;
  state_->Grow(t, partitions);
}

void FakeCluster::AddPartitions(const std::string& name, int total_count) {
  absl::MutexLock lock(&state_->mu);
  state_->Grow(state_->topics.at(name), total_count);
}

void FakeCluster::SetLeader(const std::string& topic, int partition, int broker_id) {
  absl::MutexLock lock(&state_->mu);
  Partition& p = state_->topics.at(topic).partitions.at(partition);
  p.leader = broker_id;
  ++p.leader_epoch;
}

void FakeCluster::SetBrokerDown(int broker_id, bool down) {
  absl::MutexLock lock(&state_->mu);
  state_->down[broker_id] = down;
}

void FakeCluster::SetCoordinatorUnreachable(int calls) {
  absl::MutexLock lock(&state_->mu);
  state_->coordinator_unreachable = calls;
}

void FakeCluster::InjectError(Rpc rpc, const std::string& topic, int partition, v1::ErrorCode code,
                              const std::string& message, int times) {
  absl::MutexLock lock(&state_->mu);
  for (int i = 0; i < times; ++i)
    state_->errors[{rpc, topic, partition}].emplace_back(code, message);
}

void FakeCluster::AppendBatch(const std::string& topic, int partition, std::string bytes) {
  absl::MutexLock lock(&state_->mu);
  state_->Append(state_->topics.at(topic).partitions.at(partition), std::move(bytes));
}

void FakeCluster::Append(const std::string& topic, int partition,
                         const std::vector<std::string>& values, int64_t timestamp_ms) {
  batch::BatchBuilder builder;
  for (const std::string& v : values) builder.Append(timestamp_ms, std::nullopt, v);
  AppendBatch(topic, partition, *builder.Build());
}

std::vector<batch::Record> FakeCluster::Records(const std::string& topic, int partition) const {
  absl::MutexLock lock(&state_->mu);
  std::vector<batch::Record> out;
  for (const auto& [last, bytes] : state_->topics.at(topic).partitions.at(partition).batches) {
    batch::DecodeRecords(bytes, &out).IgnoreError();
  }
  return out;
}

int64_t FakeCluster::HighWatermark(const std::string& topic, int partition) const {
  absl::MutexLock lock(&state_->mu);
  return state_->topics.at(topic).partitions.at(partition).next_offset;
}

int FakeCluster::BatchCount(const std::string& topic, int partition) const {
  absl::MutexLock lock(&state_->mu);
  return static_cast<int>(state_->topics.at(topic).partitions.at(partition).batches.size());
}

int FakeCluster::produce_calls() const {
  absl::MutexLock lock(&state_->mu);
  return state_->produce_calls;
}

int FakeCluster::fetch_calls() const {
  absl::MutexLock lock(&state_->mu);
  return state_->fetch_calls;
}

int FakeCluster::fetch_streams() const {
  absl::MutexLock lock(&state_->mu);
  return state_->fetch_streams;
}

void FakeCluster::SetStreamingSupported(bool supported) {
  absl::MutexLock lock(&state_->mu);
  state_->streaming = supported;
}

int FakeCluster::metadata_calls() const {
  absl::MutexLock lock(&state_->mu);
  return state_->metadata_calls;
}

}  // namespace runnel::client::testing
