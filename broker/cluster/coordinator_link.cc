#include "broker/cluster/coordinator_link.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"

namespace runnel::cluster {

namespace {
std::unique_ptr<grpc::ClientContext> NewContext(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}
}  // namespace

CoordinatorLink::CoordinatorLink(CoordinatorLinkOptions options, MetadataCache* cache,
                                 Listener listener)
    : options_(std::move(options)), cache_(cache), listener_(std::move(listener)) {
  // gRPC's default reconnect backoff grows to two minutes; a broker must
  // notice a restarted coordinator within a heartbeat or two.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Re-resolution after a failure is otherwise limited to every 30 s.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
  channel_ = grpc::CreateCustomChannel(options_.coordinator_address,
                                       grpc::InsecureChannelCredentials(), args);
  coordinator_ = runnel::v1::Coordinator::NewStub(channel_);
  admin_ = runnel::v1::Admin::NewStub(channel_);
  groups_ = runnel::v1::Groups::NewStub(channel_);
}

CoordinatorLink::~CoordinatorLink() { Stop(); }

void CoordinatorLink::Start(const std::string& advertised_address) {
  advertised_address_ = advertised_address;
  thread_ = std::thread([this] { Run(); });
}

void CoordinatorLink::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool CoordinatorLink::WaitUntilReady(absl::Duration timeout) {
  return ready_.WaitForNotificationWithTimeout(timeout);
}

bool CoordinatorLink::SessionValid() const {
  if (broker_epoch_.load() == 0) return false;
  absl::MutexLock lock(&session_mu_);
  return absl::Now() - session_confirmed_at_ < session_timeout_;
}

void CoordinatorLink::ConfirmSession(absl::Time sent) {
  absl::MutexLock lock(&session_mu_);
  session_confirmed_at_ = std::max(session_confirmed_at_, sent);
}

absl::StatusOr<runnel::v1::PartitionInfo> CoordinatorLink::AlterPartition(
    runnel::v1::AlterPartitionRequest request) {
  request.set_broker_id(options_.broker_id);
  request.set_broker_epoch(broker_epoch_.load());
  runnel::v1::AlterPartitionResponse resp;
  auto ctx = NewContext(options_.rpc_timeout);
  absl::Status s = FromGrpcStatus(coordinator_->AlterPartition(ctx.get(), request, &resp));
  if (!s.ok()) return s;
  return resp.partition();
}

absl::Status CoordinatorLink::Register() {
  runnel::v1::RegisterBrokerRequest req;
  req.set_broker_id(options_.broker_id);
  req.set_address(advertised_address_);
  req.set_rack(options_.rack);
  runnel::v1::RegisterBrokerResponse resp;
  auto ctx = NewContext(options_.rpc_timeout);
  absl::Status s = FromGrpcStatus(coordinator_->RegisterBroker(ctx.get(), req, &resp));
  if (!s.ok()) return s;
  broker_epoch_ = resp.broker_epoch();
  {
    absl::MutexLock lock(&session_mu_);
    if (resp.session_timeout_ms() > 0) {
      session_timeout_ = absl::Milliseconds(resp.session_timeout_ms());
    }
    // Confirmed only once metadata fetched after this registration is in.
    session_confirmed_at_ = absl::InfinitePast();
  }
  RLOG(INFO) << "registered with coordinator" << Kv("broker_id", options_.broker_id)
             << Kv("broker_epoch", resp.broker_epoch()) << Kv("cluster_id", resp.cluster_id());
  return absl::OkStatus();
}

absl::Status CoordinatorLink::Heartbeat() {
  runnel::v1::BrokerHeartbeatRequest req;
  req.set_broker_id(options_.broker_id);
  req.set_broker_epoch(broker_epoch_.load());
  req.set_metadata_version(cache_->Snapshot()->version());
  if (options_.fill_heartbeat) options_.fill_heartbeat(&req);
  runnel::v1::BrokerHeartbeatResponse resp;
  auto ctx = NewContext(options_.rpc_timeout);
  const absl::Time sent = absl::Now();
  absl::Status s = FromGrpcStatus(coordinator_->BrokerHeartbeat(ctx.get(), req, &resp));
  if (!s.ok()) return s;
  ConfirmSession(sent);
  if (resp.metadata_version() != cache_->Snapshot()->version()) return FetchMetadata();
  return absl::OkStatus();
}

absl::Status CoordinatorLink::FetchMetadata() {
  absl::MutexLock lock(&fetch_mu_);
  runnel::v1::ClusterMetadata md;
  auto ctx = NewContext(options_.rpc_timeout);
  absl::Status s = FromGrpcStatus(
      coordinator_->GetClusterMetadata(ctx.get(), runnel::v1::GetClusterMetadataRequest(), &md));
  if (!s.ok()) return s;
  if (cache_->Update(std::move(md)) && listener_) listener_(cache_->Snapshot());
  return absl::OkStatus();
}

absl::Status CoordinatorLink::RefreshNow() { return FetchMetadata(); }

absl::Status CoordinatorLink::HandOffLeadership(absl::Time deadline, absl::Duration retry) {
  while (true) {
    const int64_t epoch = broker_epoch_.load();
    if (epoch == 0) return absl::FailedPreconditionError("not registered with the coordinator");
    runnel::v1::ControlledShutdownRequest req;
    req.set_broker_id(options_.broker_id);
    req.set_broker_epoch(epoch);
    runnel::v1::ControlledShutdownResponse resp;
    auto ctx = NewContext(
        std::min(options_.rpc_timeout, std::max(deadline - absl::Now(), absl::Milliseconds(500))));
    // Best effort: without the coordinator nobody can take over anyway, and
    // the session timeout fails the partitions over as after a crash.
    if (absl::Status s = FromGrpcStatus(coordinator_->ControlledShutdown(ctx.get(), req, &resp));
        !s.ok()) {
      return s;
    }
    // Stop acting as leader now rather than at the next heartbeat.
    if (absl::Status s = FetchMetadata(); !s.ok()) return s;
    const int32_t led = resp.partitions_still_led();
    if (led == 0) return absl::OkStatus();
    if (led == resp.partitions_without_successor()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "still leading ", led, " partition(s) with no other live replica to take over"));
    }
    if (absl::Now() + retry >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "still leading ", led, " partition(s) whose other replicas are not in sync"));
    }
    absl::SleepFor(retry);
  }
}

void CoordinatorLink::Run() {
  bool warned = false;
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      if (stop_) return;
    }
    absl::Status s;
    if (broker_epoch_.load() == 0) {
      const absl::Time sent = absl::Now();
      s = Register();
      if (s.ok()) s = FetchMetadata();
      if (s.ok()) ConfirmSession(sent);
    } else {
      s = Heartbeat();
      if (absl::IsFailedPrecondition(s)) {
        // The coordinator fenced this session: register again for a new epoch.
        RLOG(WARN) << "session fenced by coordinator; re-registering" << Kv("error", s.message());
        broker_epoch_ = 0;
        {
          absl::MutexLock lock(&session_mu_);
          session_confirmed_at_ = absl::InfinitePast();
        }
        continue;
      }
    }
    if (s.ok() && !ready_.HasBeenNotified()) {
      ready_.Notify();
      if (options_.on_ready) options_.on_ready();
    }
    if (!s.ok() && !warned) {
      RLOG(WARN) << "coordinator unreachable; serving from last metadata"
                 << Kv("coordinator", options_.coordinator_address) << Kv("error", s.message());
      warned = true;
    } else if (s.ok() && warned) {
      RLOG(INFO) << "coordinator reachable again";
      warned = false;
    }
    absl::MutexLock lock(&stop_mu_);
    stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.heartbeat_interval);
  }
}

}  // namespace runnel::cluster
