#include "coordinator/topics/topic_table.h"

#include <cstdlib>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "coordinator/store/fault_injecting_store.h"
#include "coordinator/store/memory_store.h"
#include "coordinator/store/rocksdb_store.h"
#include "coordinator/store/versioned_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::topics {
namespace {

std::vector<v1::BrokerInfo> LiveBrokers(int n) {
  std::vector<v1::BrokerInfo> out;
  for (int i = 1; i <= n; ++i) {
    v1::BrokerInfo b;
    b.set_id(i);
    b.set_address(absl::StrCat("127.0.0.1:", 9090 + i));
    b.set_state(v1::BROKER_STATE_ALIVE);
    out.push_back(b);
  }
  return out;
}

TopicSpec Spec(const std::string& name, int32_t partitions, int32_t rf = 1) {
  TopicSpec spec;
  spec.name = name;
  spec.partitions = partitions;
  spec.replication_factor = rf;
  return spec;
}

class TopicTableTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // A coordinator restart over the same stored data.
  void Reopen() {
    table_.reset();
    auto vs = store::VersionedStore::Open(&faulty_);
    ASSERT_TRUE(vs.ok());
    vstore_ = std::move(*vs);
    auto table = TopicTable::Load(vstore_.get());
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = std::move(*table);
  }

  store::MemoryStore mem_;
  store::FaultInjectingStore faulty_{&mem_};
  std::unique_ptr<store::VersionedStore> vstore_;
  std::unique_ptr<TopicTable> table_;
};

TEST_F(TopicTableTest, CreateSetsInitialPartitionState) {
  TopicSpec spec = Spec("orders", 4, 3);
  spec.configs["retention.ms"] = "86400000";
  auto topic = table_->Create(spec, LiveBrokers(3));
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ(topic->name(), "orders");
  EXPECT_EQ(topic->topic_id(), 1u);
  EXPECT_EQ(topic->replication_factor(), 3);
  EXPECT_EQ(topic->configs().at("retention.ms"), "86400000");
  ASSERT_EQ(topic->partitions_size(), 4);
  for (int p = 0; p < 4; ++p) {
    const v1::PartitionInfo& info = topic->partitions(p);
    EXPECT_EQ(info.partition(), p);
    ASSERT_EQ(info.replicas_size(), 3);
    EXPECT_EQ(info.leader(), info.replicas(0));
    EXPECT_EQ(info.leader_epoch(), 0);
    EXPECT_EQ(std::vector<int32_t>(info.isr().begin(), info.isr().end()),
              std::vector<int32_t>(info.replicas().begin(), info.replicas().end()));
    EXPECT_EQ(info.partition_epoch(), 0);
  }
  auto described = table_->Describe("orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->SerializeAsString(), topic->SerializeAsString());
}

TEST_F(TopicTableTest, ReplicationFactorZeroMeansOne) {
  auto topic = table_->Create(Spec("t", 2, 0), LiveBrokers(3));
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ(topic->replication_factor(), 1);
  EXPECT_EQ(topic->partitions(0).replicas_size(), 1);
}

TEST_F(TopicTableTest, InvalidSpecsAreRefusedWithoutSideEffects) {
  const int64_t version = vstore_->version();
  struct Case {
    TopicSpec spec;
    std::string message;
  };
  TopicSpec bad_config = Spec("t", 1);
  bad_config.configs["retention.msec"] = "1";
  TopicSpec bad_isr = Spec("t", 1, 2);
  bad_isr.configs["min.insync.replicas"] = "3";
  const std::vector<Case> cases = {
      {Spec("a b", 1), "invalid topic name 'a b': use 1-249 characters from [A-Za-z0-9._-]"},
      {Spec("..", 1), "invalid topic name '..': '.' and '..' are reserved"},
      {Spec("t", 0), "partitions must be >= 1, got 0"},
      {Spec("t", 10001), "partitions must be <= 10000, got 10001"},
      {Spec("t", 1, -1), "replication factor must be >= 1 (0 means 1), got -1"},
      {bad_config, "unknown topic config 'retention.msec'"},
      {bad_isr, "invalid value '3' for topic config 'min.insync.replicas'"},
  };
  for (const Case& c : cases) {
    auto topic = table_->Create(c.spec, LiveBrokers(3));
    EXPECT_TRUE(absl::IsInvalidArgument(topic.status())) << topic.status();
    EXPECT_EQ(topic.status().message().substr(0, c.message.size()), c.message);
  }
  EXPECT_TRUE(table_->Names().empty());
  EXPECT_EQ(vstore_->version(), version);
}

TEST_F(TopicTableTest, DuplicateNameIsAlreadyExists) {
  ASSERT_TRUE(table_->Create(Spec("t", 1), LiveBrokers(1)).ok());
  auto again = table_->Create(Spec("t", 5), LiveBrokers(1));
  EXPECT_TRUE(absl::IsAlreadyExists(again.status()));
  EXPECT_EQ(again.status().message(), "topic 't' already exists");
  EXPECT_EQ(table_->Describe("t")->partitions_size(), 1);
}

TEST_F(TopicTableTest, TooFewLiveBrokersIsFailedPrecondition) {
  auto topic = table_->Create(Spec("t", 1, 3), LiveBrokers(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(topic.status()));
  EXPECT_EQ(topic.status().message(), "replication factor 3 exceeds the 1 live broker(s)");
  EXPECT_TRUE(absl::IsFailedPrecondition(table_->Create(Spec("t", 1), {}).status()));
}

TEST_F(TopicTableTest, DeleteAndNotFound) {
  ASSERT_TRUE(table_->Create(Spec("t", 1), LiveBrokers(1)).ok());
  ASSERT_TRUE(table_->Delete("t").ok());
  EXPECT_TRUE(table_->Names().empty());
  auto described = table_->Describe("t");
  EXPECT_TRUE(absl::IsNotFound(described.status()));
  EXPECT_EQ(described.status().message(), "topic 't' not found");
  EXPECT_TRUE(absl::IsNotFound(table_->Delete("t")));
}

TEST_F(TopicTableTest, EveryChangeBumpsTheMetadataVersion) {
  const int64_t v = vstore_->version();
  ASSERT_TRUE(table_->Create(Spec("a", 1), LiveBrokers(1)).ok());
  ASSERT_TRUE(table_->Create(Spec("b", 1), LiveBrokers(1)).ok());
  ASSERT_TRUE(table_->Delete("a").ok());
  ASSERT_TRUE(table_->AlterConfigs("b", {{"retention.ms", "1"}}, {}).ok());
  EXPECT_EQ(vstore_->version(), v + 4);
}

std::map<std::string, std::string> Configs(const v1::TopicInfo& topic) {
  return std::map<std::string, std::string>(topic.configs().begin(), topic.configs().end());
}

TEST_F(TopicTableTest, AlterConfigsSetsAndResetsOverridesDurably) {
  TopicSpec spec = Spec("orders", 2, 1);
  spec.configs = {{"retention.ms", "1"}, {"cleanup.policy", "compact"}};
  auto created = table_->Create(spec, LiveBrokers(1));
  ASSERT_TRUE(created.ok()) << created.status();
  const int64_t version = vstore_->version();

  auto altered = table_->AlterConfigs(
      "orders", {{"retention.ms", "1000"}, {"max.message.bytes", "2000"}}, {"cleanup.policy"});
  ASSERT_TRUE(altered.ok()) << altered.status();
  const std::map<std::string, std::string> expected = {{"max.message.bytes", "2000"},
                                                       {"retention.ms", "1000"}};
  EXPECT_EQ(Configs(*altered), expected);
  EXPECT_EQ(vstore_->version(), version + 1);
  // Only the configs change: same id, same partitions.
  v1::TopicInfo rest = *altered;
  rest.mutable_configs()->clear();
  v1::TopicInfo created_rest = *created;
  created_rest.mutable_configs()->clear();
  EXPECT_EQ(rest.SerializeAsString(), created_rest.SerializeAsString());

  Reopen();
  auto described = table_->Describe("orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(Configs(*described), expected);
  EXPECT_EQ(vstore_->version(), version + 1);
}

TEST_F(TopicTableTest, AlterConfigsThatChangesNothingWritesNothing) {
  TopicSpec spec = Spec("t", 1);
  spec.configs["retention.ms"] = "5";
  ASSERT_TRUE(table_->Create(spec, LiveBrokers(1)).ok());
  const int64_t version = vstore_->version();
  auto same = table_->AlterConfigs("t", {{"retention.ms", "5"}}, {"cleanup.policy"});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(Configs(*same), (std::map<std::string, std::string>{{"retention.ms", "5"}}));
  EXPECT_EQ(vstore_->version(), version);
}

TEST_F(TopicTableTest, RefusedAlterConfigsChangesNothing) {
  TopicSpec spec = Spec("t", 1, 2);
  spec.configs["retention.ms"] = "5";
  ASSERT_TRUE(table_->Create(spec, LiveBrokers(2)).ok());
  const int64_t version = vstore_->version();
  struct Case {
    std::map<std::string, std::string> set;
    std::vector<std::string> reset;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"retention.ms", "abc"}}, {}, "invalid value 'abc' for topic config 'retention.ms': "},
      {{{"retention.ms", "10"}, {"retention.msec", "1"}},
       {},
       "unknown topic config 'retention.msec'"},
      {{}, {"segment.ms"}, "unknown topic config 'segment.ms'"},
      {{{"min.insync.replicas", "3"}},
       {},
       "invalid value '3' for topic config 'min.insync.replicas': expected an integer from 1 to "
       "the replication factor 2"},
      {{{"retention.ms", "10"}},
       {"retention.ms"},
       "topic config 'retention.ms' is both set and reset"},
  };
  for (const Case& c : cases) {
    auto altered = table_->AlterConfigs("t", c.set, c.reset);
    EXPECT_TRUE(absl::IsInvalidArgument(altered.status())) << altered.status();
    EXPECT_EQ(altered.status().message().substr(0, c.message.size()), c.message);
  }
  auto missing = table_->AlterConfigs("nope", {{"retention.ms", "1"}}, {});
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_EQ(missing.status().message(), "topic 'nope' not found");

  faulty_.set_fail_writes(true);
  EXPECT_TRUE(absl::IsUnavailable(table_->AlterConfigs("t", {{"retention.ms", "7"}}, {}).status()));
  faulty_.set_fail_writes(false);

  EXPECT_EQ(Configs(*table_->Describe("t")),
            (std::map<std::string, std::string>{{"retention.ms", "5"}}));
  EXPECT_EQ(vstore_->version(), version);
}

TEST_F(TopicTableTest, AnOverrideUnknownToThisVersionCanStillBeReset) {
  ASSERT_TRUE(table_->Create(Spec("t", 1), LiveBrokers(1)).ok());
  v1::TopicInfo stored;
  ASSERT_TRUE(stored.ParseFromString(*mem_.Get("topic/t")));
  (*stored.mutable_configs())["segment.ms"] = "1";  // as if written by a newer version
  ASSERT_TRUE(mem_.Put("topic/t", stored.SerializeAsString()).ok());
  Reopen();
  auto altered = table_->AlterConfigs("t", {}, {"segment.ms"});
  ASSERT_TRUE(altered.ok()) << altered.status();
  EXPECT_TRUE(altered->configs().empty());
}

TEST_F(TopicTableTest, TopicIdsAreNeverReused) {
  EXPECT_EQ(table_->Create(Spec("t", 1), LiveBrokers(1))->topic_id(), 1u);
  EXPECT_EQ(table_->Create(Spec("u", 1), LiveBrokers(1))->topic_id(), 2u);
  ASSERT_TRUE(table_->Delete("u").ok());
  ASSERT_TRUE(table_->Delete("t").ok());
  EXPECT_EQ(table_->Create(Spec("t", 1), LiveBrokers(1))->topic_id(), 3u);
  // Not even after a restart, when no stored topic remembers ids 1 and 2.
  ASSERT_TRUE(table_->Delete("t").ok());
  Reopen();
  EXPECT_EQ(table_->Create(Spec("t", 1), LiveBrokers(1))->topic_id(), 4u);
}

TEST_F(TopicTableTest, NamesAreSorted) {
  for (const char* name : {"zeta", "alpha", "Mid", "beta"}) {
    ASSERT_TRUE(table_->Create(Spec(name, 1), LiveBrokers(1)).ok());
  }
  EXPECT_EQ(table_->Names(), (std::vector<std::string>{"Mid", "alpha", "beta", "zeta"}));
  EXPECT_EQ(table_->Topics().front().name(), "Mid");
}

TEST_F(TopicTableTest, LoadByBrokerCountsLedAndFollowed) {
  ASSERT_TRUE(table_->Create(Spec("t", 3, 2), LiveBrokers(3)).ok());
  auto load = table_->LoadByBroker();
  int led = 0, followed = 0;
  for (const auto& [id, l] : load) {
    EXPECT_EQ(l.led, 1) << "broker " << id;
    EXPECT_EQ(l.followed, 1) << "broker " << id;
    led += l.led;
    followed += l.followed;
  }
  EXPECT_EQ(led, 3);
  EXPECT_EQ(followed, 3);
}

TEST_F(TopicTableTest, NewTopicsAvoidLoadedBrokers) {
  // Broker 1 alone carries the first topic; a broker joining later gets the next.
  ASSERT_TRUE(table_->Create(Spec("first", 4), LiveBrokers(1)).ok());
  auto second = table_->Create(Spec("second", 2), LiveBrokers(2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->partitions(0).leader(), 2);
  EXPECT_EQ(second->partitions(1).leader(), 2);
}

TEST_F(TopicTableTest, FindPartitionByTopicId) {
  const uint64_t id = table_->Create(Spec("orders", 2, 2), LiveBrokers(2))->topic_id();
  auto found = table_->FindPartition(id, 1);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->topic, "orders");
  EXPECT_EQ(found->partition.partition(), 1);
  auto bad_partition = table_->FindPartition(id, 2);
  EXPECT_TRUE(absl::IsNotFound(bad_partition.status()));
  EXPECT_EQ(bad_partition.status().message(),
            "partition 2 out of range for topic 'orders' (2 partitions)");
  EXPECT_EQ(table_->FindPartition(id + 1, 0).status().message(), "topic id 2 not found");

  // Deleted and re-created under the same name: the old id is gone for good.
  ASSERT_TRUE(table_->Delete("orders").ok());
  ASSERT_TRUE(table_->Create(Spec("orders", 1), LiveBrokers(1)).ok());
  EXPECT_TRUE(absl::IsNotFound(table_->FindPartition(id, 0).status()));
  Reopen();
  EXPECT_TRUE(table_->FindPartition(id + 1, 0).ok());
}

TEST_F(TopicTableTest, PartitionUpdatesCommitOncePerCallAndSurviveRestart) {
  ASSERT_TRUE(table_->Create(Spec("a", 3, 2), LiveBrokers(3)).ok());
  ASSERT_TRUE(table_->Create(Spec("b", 1, 2), LiveBrokers(3)).ok());
  // Every partition led by broker 1 goes offline.
  auto offline = [](const v1::TopicInfo&,
                    const v1::PartitionInfo& p) -> std::optional<v1::PartitionInfo> {
    if (p.leader() != 1) return std::nullopt;
    v1::PartitionInfo next = p;
    next.set_leader(-1);
    return next;
  };
  const std::vector<PartitionState> updates = table_->Plan(offline);
  ASSERT_FALSE(updates.empty());
  const int64_t version = vstore_->version();
  ASSERT_TRUE(table_->Update(updates).ok());
  EXPECT_EQ(vstore_->version(), version + 1);
  EXPECT_TRUE(table_->Plan(offline).empty());
  EXPECT_EQ(table_->LoadByBroker()[1].led, 0);

  Reopen();
  EXPECT_TRUE(table_->Plan(offline).empty());
  int offline_partitions = 0;
  for (const v1::TopicInfo& t : table_->Topics()) {
    for (const v1::PartitionInfo& p : t.partitions()) offline_partitions += p.leader() == -1;
  }
  EXPECT_EQ(offline_partitions, static_cast<int>(updates.size()));
  ASSERT_TRUE(table_->Update({}).ok());
  EXPECT_EQ(vstore_->version(), version + 1);  // nothing to write, no version
}

TEST_F(TopicTableTest, StagedUpdatesApplyOnlyWhenInstalled) {
  ASSERT_TRUE(table_->Create(Spec("a", 2, 1), LiveBrokers(1)).ok());
  PartitionState update = *table_->FindPartition(1, 1);
  update.partition.set_leader_epoch(7);
  StagedTopics staged = table_->Stage({update, {"gone", update.partition}});
  ASSERT_EQ(staged.topics.size(), 1u);
  EXPECT_EQ(staged.topics[0].partitions(1).leader_epoch(), 7);
  EXPECT_EQ(table_->Describe("a")->partitions(1).leader_epoch(), 0);
  ASSERT_TRUE(vstore_->Commit(std::move(staged.batch)).ok());
  table_->Install(std::move(staged.topics));
  EXPECT_EQ(table_->Describe("a")->partitions(1).leader_epoch(), 7);
  EXPECT_EQ(table_->Describe("a")->partitions(0).leader_epoch(), 0);
}

TEST_F(TopicTableTest, FailedPersistChangesNothing) {
  ASSERT_TRUE(table_->Create(Spec("keep", 1), LiveBrokers(1)).ok());
  faulty_.set_fail_writes(true);
  EXPECT_TRUE(absl::IsUnavailable(table_->Create(Spec("t", 1), LiveBrokers(1)).status()));
  EXPECT_TRUE(absl::IsUnavailable(table_->Delete("keep")));
  PartitionState offline = *table_->FindPartition(1, 0);
  offline.partition.set_leader(-1);
  EXPECT_TRUE(absl::IsUnavailable(table_->Update({offline})));
  faulty_.set_fail_writes(false);
  EXPECT_EQ(table_->Names(), std::vector<std::string>{"keep"});
  EXPECT_EQ(table_->Describe("keep")->partitions(0).leader(), 1);
  // The id the failed create would have taken is still free.
  EXPECT_EQ(table_->Create(Spec("t", 1), LiveBrokers(1))->topic_id(), 2u);
}

TEST_F(TopicTableTest, CreatePartitionsAppendsPlacedPartitionsDurably) {
  auto created = table_->Create(Spec("orders", 2, 2), LiveBrokers(3));
  ASSERT_TRUE(created.ok());
  const int64_t version = vstore_->version();
  auto grown = table_->CreatePartitions("orders", 5, LiveBrokers(3));
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(vstore_->version(), version + 1);
  ASSERT_EQ(grown->partitions_size(), 5);
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(grown->partitions(p).SerializeAsString(), created->partitions(p).SerializeAsString());
  }
  for (int p = 2; p < 5; ++p) {
    const v1::PartitionInfo& info = grown->partitions(p);
    EXPECT_EQ(info.partition(), p);
    ASSERT_EQ(info.replicas_size(), 2);
    EXPECT_NE(info.replicas(0), info.replicas(1));
    EXPECT_EQ(info.leader(), info.replicas(0));
    EXPECT_EQ(info.isr_size(), 2);
    EXPECT_EQ(info.leader_epoch(), 0);
  }
  // Leaders spread over the brokers, counting the existing partitions:
  // 5 partitions over 3 brokers lead 2, 2, 1.
  std::map<int32_t, int> led;
  for (const v1::PartitionInfo& info : grown->partitions()) ++led[info.leader()];
  EXPECT_EQ(led.size(), 3u);
  for (const auto& [broker, n] : led) EXPECT_LE(n, 2) << broker;
  Reopen();
  EXPECT_EQ(table_->Describe("orders")->SerializeAsString(), grown->SerializeAsString());
}

TEST_F(TopicTableTest, CreatePartitionsRefusals) {
  ASSERT_TRUE(table_->Create(Spec("orders", 3, 2), LiveBrokers(2)).ok());
  const int64_t version = vstore_->version();
  auto s = table_->CreatePartitions("nope", 4, LiveBrokers(2)).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  s = table_->CreatePartitions("orders", 3, LiveBrokers(2)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(),
            "total_count must be larger than the current partition count 3 of topic 'orders', "
            "got 3");
  EXPECT_TRUE(
      absl::IsInvalidArgument(table_->CreatePartitions("orders", 1, LiveBrokers(2)).status()));
  s = table_->CreatePartitions("orders", 10001, LiveBrokers(2)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "total_count must be <= 10000, got 10001");
  s = table_->CreatePartitions("orders", 4, LiveBrokers(1)).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  faulty_.set_fail_writes(true);
  EXPECT_FALSE(table_->CreatePartitions("orders", 4, LiveBrokers(2)).ok());
  faulty_.set_fail_writes(false);
  EXPECT_EQ(table_->Describe("orders")->partitions_size(), 3);
  EXPECT_EQ(vstore_->version(), version);
}

TEST_F(TopicTableTest, CorruptRecordRefusesToLoad) {
  ASSERT_TRUE(table_->Create(Spec("t", 1), LiveBrokers(1)).ok());
  ASSERT_TRUE(mem_.Put("topic/u", *mem_.Get("topic/t")).ok());  // names t, stored as u
  auto vs = store::VersionedStore::Open(&mem_);
  ASSERT_TRUE(vs.ok());
  auto table = TopicTable::Load(vs->get());
  EXPECT_TRUE(absl::IsDataLoss(table.status())) << table.status();
}

TEST(TopicTableRocksDBTest, TopicsAndIdsSurviveReopen) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/topics_reopen");
  v1::TopicInfo created;
  {
    auto db = store::RocksDBStore::Open(dir);
    ASSERT_TRUE(db.ok()) << db.status();
    auto vs = store::VersionedStore::Open(db->get());
    ASSERT_TRUE(vs.ok());
    auto table = TopicTable::Load(vs->get());
    ASSERT_TRUE(table.ok());
    TopicSpec spec = Spec("orders", 3, 2);
    spec.configs["cleanup.policy"] = "compact";
    auto topic = (*table)->Create(spec, LiveBrokers(3));
    ASSERT_TRUE(topic.ok()) << topic.status();
    created = *topic;
    ASSERT_TRUE((*table)->Create(Spec("gone", 1), LiveBrokers(3)).ok());
    ASSERT_TRUE((*table)->Delete("gone").ok());
  }
  auto db = store::RocksDBStore::Open(dir);
  ASSERT_TRUE(db.ok()) << db.status();
  auto vs = store::VersionedStore::Open(db->get());
  ASSERT_TRUE(vs.ok());
  EXPECT_EQ((*vs)->version(), 3);
  auto table = TopicTable::Load(vs->get());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->Names(), std::vector<std::string>{"orders"});
  EXPECT_EQ((*table)->Describe("orders")->SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ((*table)->Create(Spec("gone", 1), LiveBrokers(3))->topic_id(), 3u);
}

}  // namespace
}  // namespace runnel::coordinator::topics
