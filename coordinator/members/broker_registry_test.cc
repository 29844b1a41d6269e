#include "coordinator/members/broker_registry.h"

#include <memory>

#include "coordinator/store/fault_injecting_store.h"
#include "coordinator/store/memory_store.h"
#include "coordinator/store/versioned_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::members {
namespace {

constexpr absl::Duration kSession = absl::Seconds(6);

class BrokerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Simulates a coordinator restart: new VersionedStore and registry over the
  // same stored data.
  void Reopen() {
    registry_.reset();
    auto vs = store::VersionedStore::Open(&faulty_);
    ASSERT_TRUE(vs.ok());
    vstore_ = std::move(*vs);
    auto registry = BrokerRegistry::Load(vstore_.get(), kSession, [this] { return now_; });
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
  }

  std::vector<int32_t> LiveIds() const {
    std::vector<int32_t> ids;
    for (const auto& b : registry_->LiveBrokers()) ids.push_back(b.id());
    return ids;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  store::MemoryStore mem_;
  store::FaultInjectingStore faulty_{&mem_};
  std::unique_ptr<store::VersionedStore> vstore_;
  std::unique_ptr<BrokerRegistry> registry_;
};

TEST_F(BrokerRegistryTest, RegisterAssignsEpochOneAndRecordsBroker) {
  auto epoch = registry_->Register(1, "127.0.0.1:9092", "rack-a");
  ASSERT_TRUE(epoch.ok()) << epoch.status();
  EXPECT_EQ(*epoch, 1);
  auto brokers = registry_->Brokers();
  ASSERT_EQ(brokers.size(), 1u);
  EXPECT_EQ(brokers[0].id(), 1);
  EXPECT_EQ(brokers[0].address(), "127.0.0.1:9092");
  EXPECT_EQ(brokers[0].rack(), "rack-a");
  EXPECT_EQ(brokers[0].state(), v1::BROKER_STATE_ALIVE);
  EXPECT_EQ(brokers[0].broker_epoch(), 1);
}

TEST_F(BrokerRegistryTest, EveryRegistrationBumpsEpochAndMetadataVersion) {
  const int64_t v0 = vstore_->version();
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", ""), 1);
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", ""), 2);
  EXPECT_EQ(*registry_->Register(2, "127.0.0.1:9093", ""), 1);
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", ""), 3);
  EXPECT_EQ(vstore_->version(), v0 + 4);
}

TEST_F(BrokerRegistryTest, RejectsInvalidRegistration) {
  auto bad_id = registry_->Register(-1, "127.0.0.1:9092", "");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_id.status()));
  EXPECT_EQ(bad_id.status().message(), "broker id must be >= 0, got -1");
  EXPECT_TRUE(absl::IsInvalidArgument(registry_->Register(1, "", "").status()));
  EXPECT_TRUE(registry_->Brokers().empty());
}

TEST_F(BrokerRegistryTest, LiveIdAtAnotherAddressIsRefused) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  auto clash = registry_->Register(1, "127.0.0.1:9999", "");
  EXPECT_TRUE(absl::IsAlreadyExists(clash.status()));
  EXPECT_EQ(clash.status().message(), "broker id 1 is held by a live broker at 127.0.0.1:9092");
  EXPECT_EQ(registry_->Brokers()[0].broker_epoch(), 1);
}

TEST_F(BrokerRegistryTest, IdOfExpiredOrFencedBrokerCanMoveAddress) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  now_ += kSession + absl::Milliseconds(1);  // expired, not yet fenced
  auto moved = registry_->Register(1, "127.0.0.1:9999", "");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 2);
  EXPECT_EQ(registry_->Brokers()[0].address(), "127.0.0.1:9999");

  now_ += kSession + absl::Milliseconds(1);
  ASSERT_TRUE(registry_->ExpireSessions().ok());
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", ""), 3);
}

TEST_F(BrokerRegistryTest, HeartbeatKeepsSessionAlive) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  for (int i = 0; i < 10; ++i) {
    now_ += absl::Seconds(5);
    ASSERT_TRUE(registry_->Heartbeat(1, 1).ok());
    auto fenced = registry_->ExpireSessions();
    ASSERT_TRUE(fenced.ok());
    EXPECT_TRUE(fenced->empty());
  }
  now_ += absl::Seconds(2);
  EXPECT_EQ(registry_->Brokers()[0].millis_since_heartbeat(), 2000);
  EXPECT_EQ(LiveIds(), std::vector<int32_t>{1});
}

TEST_F(BrokerRegistryTest, HeartbeatRefusals) {
  auto unknown = registry_->Heartbeat(7, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(unknown)) << unknown;
  EXPECT_EQ(unknown.message(), "broker 7 is not registered: register first");

  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());  // epoch 2
  auto stale = registry_->Heartbeat(1, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(stale));
  EXPECT_EQ(stale.message(), "broker 1 epoch 1 is not the current epoch 2: register again");
  EXPECT_TRUE(absl::IsFailedPrecondition(registry_->Heartbeat(1, 3)));
  EXPECT_TRUE(registry_->Heartbeat(1, 2).ok());
}

TEST_F(BrokerRegistryTest, SessionExpiryFencesOnlySilentBrokers) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  ASSERT_TRUE(registry_->Register(2, "127.0.0.1:9093", "").ok());
  ASSERT_TRUE(registry_->Register(3, "127.0.0.1:9094", "").ok());
  now_ += absl::Seconds(4);
  ASSERT_TRUE(registry_->Heartbeat(2, 1).ok());
  now_ += absl::Seconds(2);  // exactly the timeout for 1 and 3: not yet expired
  EXPECT_TRUE(registry_->ExpireSessions()->empty());
  now_ += absl::Milliseconds(1);
  const int64_t version = vstore_->version();
  auto fenced = registry_->ExpireSessions();
  ASSERT_TRUE(fenced.ok());
  EXPECT_EQ(*fenced, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(vstore_->version(), version + 1);  // one commit for the lot
  EXPECT_EQ(LiveIds(), std::vector<int32_t>{2});
  EXPECT_EQ(registry_->Brokers()[0].state(), v1::BROKER_STATE_FENCED);

  auto hb = registry_->Heartbeat(1, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(hb));
  EXPECT_EQ(hb.message(), "broker 1 is fenced (session expired): register again");

  // Re-registering unfences with a new epoch.
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", ""), 2);
  EXPECT_EQ(LiveIds(), (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(registry_->ExpireSessions()->empty());
}

TEST_F(BrokerRegistryTest, LateHeartbeatFencesEvenBeforeExpirySweep) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  now_ += kSession + absl::Seconds(1);
  EXPECT_TRUE(LiveIds().empty());
  EXPECT_TRUE(absl::IsFailedPrecondition(registry_->Heartbeat(1, 1)));
  EXPECT_EQ(registry_->Brokers()[0].state(), v1::BROKER_STATE_FENCED);
}

TEST_F(BrokerRegistryTest, CheckSessionValidatesWithoutRenewing) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  EXPECT_TRUE(registry_->CheckSession(1, 1).ok());
  EXPECT_EQ(registry_->CheckSession(1, 2).message(),
            "broker 1 epoch 2 is not the current epoch 1: register again");
  EXPECT_EQ(registry_->CheckSession(4, 1).message(), "broker 4 is not registered: register first");
  now_ += kSession - absl::Seconds(1);
  EXPECT_TRUE(registry_->CheckSession(1, 1).ok());
  now_ += absl::Seconds(2);  // the check above did not extend the session
  auto expired = registry_->CheckSession(1, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(expired));
  EXPECT_EQ(expired.message(), "broker 1 is fenced (session expired): register again");
  EXPECT_EQ(registry_->ExpiredBrokers(), std::vector<int32_t>{1});
  EXPECT_EQ(registry_->Brokers()[0].state(), v1::BROKER_STATE_ALIVE);  // a check changes nothing
}

TEST_F(BrokerRegistryTest, OtherWritesCommitAtomicallyWithRegistrationAndFence) {
  store::WriteBatch with_register;
  with_register.Put("test/a", "1");
  const int64_t v0 = vstore_->version();
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "", std::move(with_register)).ok());
  EXPECT_EQ(*mem_.Get("test/a"), "1");
  EXPECT_EQ(vstore_->version(), v0 + 1);

  store::WriteBatch failing;
  failing.Put("test/b", "1");
  faulty_.set_fail_writes(true);
  EXPECT_FALSE(registry_->Fence({1}, std::move(failing)).ok());
  faulty_.set_fail_writes(false);
  EXPECT_TRUE(absl::IsNotFound(mem_.Get("test/b").status()));
  EXPECT_EQ(LiveIds(), std::vector<int32_t>{1});

  store::WriteBatch with_fence;
  with_fence.Put("test/b", "2");
  ASSERT_TRUE(registry_->Fence({1}, std::move(with_fence)).ok());
  EXPECT_EQ(*mem_.Get("test/b"), "2");
  EXPECT_TRUE(LiveIds().empty());
  EXPECT_EQ(vstore_->version(), v0 + 2);
  // Fencing nobody with nothing else to write commits nothing.
  ASSERT_TRUE(registry_->Fence({1, 9}).ok());
  EXPECT_EQ(vstore_->version(), v0 + 2);
}

TEST_F(BrokerRegistryTest, RestartKeepsBrokersAndEpochsAndGivesFreshSessions) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "r1").ok());
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "r1").ok());  // epoch 2
  ASSERT_TRUE(registry_->Register(2, "127.0.0.1:9093", "r2").ok());
  now_ += kSession + absl::Seconds(1);
  ASSERT_TRUE(registry_->ExpireSessions().ok());                     // both fenced
  ASSERT_TRUE(registry_->Register(2, "127.0.0.1:9093", "r2").ok());  // 2 alive, epoch 2

  // The coordinator is down for much longer than a session.
  now_ += absl::Minutes(10);
  Reopen();
  auto brokers = registry_->Brokers();
  ASSERT_EQ(brokers.size(), 2u);
  EXPECT_EQ(brokers[0].state(), v1::BROKER_STATE_FENCED);
  EXPECT_EQ(brokers[0].rack(), "r1");
  EXPECT_EQ(brokers[1].state(), v1::BROKER_STATE_ALIVE);
  EXPECT_EQ(brokers[1].millis_since_heartbeat(), 0);
  // Broker 2 was not fenced for the coordinator's downtime...
  EXPECT_TRUE(registry_->ExpireSessions()->empty());
  EXPECT_TRUE(registry_->Heartbeat(2, 2).ok());
  // ...and epochs carry on from where they were.
  EXPECT_EQ(*registry_->Register(1, "127.0.0.1:9092", "r1"), 3);
}

TEST_F(BrokerRegistryTest, FailedPersistChangesNothing) {
  ASSERT_TRUE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  faulty_.set_fail_writes(true);
  EXPECT_FALSE(registry_->Register(1, "127.0.0.1:9092", "").ok());
  EXPECT_FALSE(registry_->Register(2, "127.0.0.1:9093", "").ok());
  now_ += kSession + absl::Seconds(1);
  EXPECT_FALSE(registry_->ExpireSessions().ok());
  faulty_.set_fail_writes(false);
  auto brokers = registry_->Brokers();
  ASSERT_EQ(brokers.size(), 1u);
  EXPECT_EQ(brokers[0].broker_epoch(), 1);
  EXPECT_EQ(brokers[0].state(), v1::BROKER_STATE_ALIVE);
}

TEST_F(BrokerRegistryTest, CorruptRecordRefusesToLoad) {
  ASSERT_TRUE(mem_.Put("broker/0000000001", "\xff\xff not a proto").ok());
  auto vs = store::VersionedStore::Open(&mem_);
  ASSERT_TRUE(vs.ok());
  auto registry = BrokerRegistry::Load(vs->get(), kSession, [this] { return now_; });
  EXPECT_TRUE(absl::IsDataLoss(registry.status())) << registry.status();
}

}  // namespace
}  // namespace runnel::coordinator::members
