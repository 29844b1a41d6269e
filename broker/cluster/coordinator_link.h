// CoordinatorLink: this broker's session with the coordinator. It registers
// the broker (obtaining a broker epoch), heartbeats in the background, pulls
// the cluster metadata whenever the coordinator's version moves, and
// re-registers if the coordinator fenced the session.
//
// The broker keeps serving from its last metadata while the coordinator is
// unreachable; the link just keeps retrying. But once no heartbeat has
// succeeded for a session timeout (measured from when the last successful
// one was SENT), SessionValid() turns false: the coordinator has probably
// fenced this broker and elected other leaders, so the broker must stop
// taking writes as leader (docs/replication.md, "Stale leader").
//
// Heartbeats also carry what CoordinatorLinkOptions::fill_heartbeat adds
// (the high watermarks of led partitions, for consumer-group lag), and
// HandOffLeadership drives the broker's side of a controlled shutdown.
//
// Ownership: owns its background thread and gRPC stubs; the MetadataCache and
// the listener must outlive it. Thread-safety: all public methods are
// thread-safe; the listener runs on the link's thread or on the caller of
// RefreshNow.
#ifndef RUNNEL_BROKER_CLUSTER_COORDINATOR_LINK_H_
#define RUNNEL_BROKER_CLUSTER_COORDINATOR_LINK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/cluster/metadata_cache.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/coordinator.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::cluster {

struct CoordinatorLinkOptions {
  // host:port of the coordinator.
  std::string coordinator_address = "127.0.0.1:9190";
  // This broker's id and rack.
  int32_t broker_id = 0;
  std::string rack;
  // Time between heartbeats; keep it well under the coordinator's session
  // timeout (default 6 s).
  absl::Duration heartbeat_interval = absl::Seconds(1);
  // Deadline of each call to the coordinator.
  absl::Duration rpc_timeout = absl::Seconds(5);
  // Optional: adds what the rest of the broker reports in each heartbeat
  // (the high watermarks of the partitions it leads). Runs on the link's
  // thread; keep it cheap.
  std::function<void(runnel::v1::BrokerHeartbeatRequest*)> fill_heartbeat;
  // Optional: called once, on the link's thread, when the broker is first
  // registered and has metadata (e.g. to report SERVING on gRPC health).
  std::function<void()> on_ready;
};

class CoordinatorLink {
 public:
  // Called with each newly installed metadata snapshot.
  using Listener = std::function<void(std::shared_ptr<const MetadataSnapshot>)>;

  CoordinatorLink(CoordinatorLinkOptions options, MetadataCache* cache, Listener listener);
  ~CoordinatorLink();  // Stops the background thread.

  // Starts registering and heartbeating in the background, advertising
  // `advertised_address` (known only once the server has bound its port).
  // Returns at once.
  void Start(const std::string& advertised_address);
  void Stop();

  // Pulls the metadata now (e.g. after this broker forwarded a CreateTopic),
  // so the next request sees it.
  absl::Status RefreshNow();

  // Waits until the broker is registered and has metadata, or `timeout`.
  bool WaitUntilReady(absl::Duration timeout);

  // Controlled shutdown: asks the coordinator to move this broker's
  // leaderships and ISR seats to other replicas (Coordinator.
  // ControlledShutdown), pulls the resulting metadata so that this broker
  // stops acting as leader at once, and repeats (every `retry`) while it
  // still leads partitions whose other replicas may yet catch up, until
  // `deadline`. OK once it leads nothing. Otherwise, at once:
  // FailedPrecondition when the partitions it still leads have no other live
  // replica that could ever take over (or it is not registered), or the
  // error of the call (coordinator unreachable: best effort, the session
  // timeout fails them over later); DeadlineExceeded at the deadline. The
  // messages say how many partitions it still leads.
  absl::Status HandOffLeadership(absl::Time deadline,
                                 absl::Duration retry = absl::Milliseconds(200));

  // 0 until registered.
  int64_t broker_epoch() const { return broker_epoch_.load(); }

  // True while this broker may act as a leader: registered, with metadata
  // fetched after that registration, and a heartbeat (or the registration)
  // that succeeded and was sent less than the coordinator's session timeout
  // ago.
  bool SessionValid() const;

  // Sends an AlterPartition for this broker (filling broker_id and
  // broker_epoch) and returns the committed partition state. Errors as in
  // coordinator.proto (FAILED_PRECONDITION: refresh, do not resend).
  absl::StatusOr<runnel::v1::PartitionInfo> AlterPartition(
      runnel::v1::AlterPartitionRequest request);

  // A stub for forwarding Admin calls to the coordinator.
  runnel::v1::Admin::Stub* admin_stub() { return admin_.get(); }
  // A stub for forwarding Groups calls to the coordinator.
  runnel::v1::Groups::Stub* groups_stub() { return groups_.get(); }

 private:
  void Run();
  absl::Status Register();
  absl::Status Heartbeat();
  void ConfirmSession(absl::Time sent);
  absl::Status FetchMetadata();

  CoordinatorLinkOptions options_;
  MetadataCache* const cache_;
  const Listener listener_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runnel::v1::Coordinator::Stub> coordinator_;
  std::unique_ptr<runnel::v1::Admin::Stub> admin_;
  std::unique_ptr<runnel::v1::Groups::Stub> groups_;

  std::string advertised_address_;  // set by Start, read by the link's thread
  std::atomic<int64_t> broker_epoch_{0};
  mutable absl::Mutex session_mu_;
  // Sending time of the last successful heartbeat or registration, and the
  // session timeout the coordinator announced.
  absl::Time session_confirmed_at_ ABSL_GUARDED_BY(session_mu_) = absl::InfinitePast();
  absl::Duration session_timeout_ ABSL_GUARDED_BY(session_mu_) = absl::Seconds(6);
  absl::Mutex fetch_mu_;  // serialises metadata pulls so listeners see versions in order
  absl::Notification ready_;
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace runnel::cluster

#endif  // RUNNEL_BROKER_CLUSTER_COORDINATOR_LINK_H_
