#include "coordinator/metrics/coordinator_metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/core/coordinator_fixture.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {
namespace {

class CoordinatorMetricsTest : public CoordinatorFixture {
 protected:
  // Whether the rendered registry has the line `line` exactly.
  bool HasLine(const std::string& rendered, const std::string& line) {
    return rendered.find(absl::StrCat("\n", line, "\n")) != std::string::npos;
  }
  metrics::Registry registry_;
};

TEST_F(CoordinatorMetricsTest, ExportsClusterHealthGroupsAndLag) {
  AddCoordinatorMetrics(coordinator_.get(), &registry_);
  Register(1);
  Register(2);
  ASSERT_TRUE(Create("orders", 2, 2).ok());
  const v1::TopicInfo topic = Describe("orders")->topic();

  // A group member commits offset 3 on partition 0, whose leader reports a
  // high watermark of 10: lag 7.
  v1::GroupHeartbeatRequest join;
  join.set_group_id("billing");
  join.add_subscribed_topics("orders");
  auto joined = coordinator_->groups()->GroupHeartbeat(join, "h");
  ASSERT_TRUE(joined.ok()) << joined.status();
  v1::CommitOffsetsRequest commit;
  commit.set_group_id("billing");
  commit.set_member_id(joined->member_id());
  commit.set_generation(joined->generation());
  v1::PartitionOffset* o = commit.add_offsets();
  o->set_topic("orders");
  o->set_partition(0);
  o->set_offset(3);
  auto committed = coordinator_->groups()->CommitOffsets(commit);
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(committed->results(0).error_code(), v1::ERROR_CODE_NONE)
      << committed->results(0).error_message();
  const int32_t leader = topic.partitions(0).leader();
  v1::BrokerHeartbeatRequest beat;
  beat.set_broker_id(leader);
  beat.set_broker_epoch(epochs_[leader]);
  v1::PartitionHighWatermark* hw = beat.add_high_watermarks();
  hw->set_topic_id(topic.topic_id());
  hw->set_partition(0);
  hw->set_high_watermark(10);
  ASSERT_TRUE(coordinator_->BrokerHeartbeat(beat).ok());

  std::string out = registry_.Render();
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_brokers{state=\"alive\"} 2")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_brokers{state=\"fenced\"} 0")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_partitions 2")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_offline_partitions 0")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_under_replicated_partitions 0")) << out;
  EXPECT_TRUE(HasLine(out, "# TYPE runnel_group_rebalances_total counter")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_group_rebalances_total 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_groups{state=\"reconciling\"} 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_group_members{group=\"billing\"} 1")) << out;
  EXPECT_TRUE(HasLine(
      out, "runnel_group_committed_offset{group=\"billing\",topic=\"orders\",partition=\"0\"} 3"))
      << out;
  EXPECT_TRUE(
      HasLine(out, "runnel_group_lag{group=\"billing\",topic=\"orders\",partition=\"0\"} 7"))
      << out;
  EXPECT_TRUE(HasLine(out, "runnel_group_lag_sum{group=\"billing\"} 7")) << out;

  // One broker fenced: partitions under-replicated or moved; the report of
  // a fenced leader no longer counts.
  Fence({leader});
  out = registry_.Render();
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_brokers{state=\"fenced\"} 1")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_coordinator_under_replicated_partitions 2")) << out;
  EXPECT_EQ(out.find("runnel_group_lag{"), std::string::npos) << out;
}

}  // namespace
}  // namespace runnel::coordinator
