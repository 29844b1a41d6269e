#include "client/cli/output.h"

#include <map>
#include <set>
#include <utility>

#include "gtest/gtest.h"

namespace runnel::client::cli {
namespace {

namespace v1 = runnel::v1;

ConsumerRecord Record(std::optional<std::string> key, std::optional<std::string> value) {
  ConsumerRecord r;
  r.topic = "orders";
  r.partition = 2;
  r.offset = 42;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

TEST(FormatRecordTest, ValueOnlyByDefault) {
  EXPECT_EQ(FormatRecord(Record("k", "hello"), {}), "hello\n");
  EXPECT_EQ(FormatRecord(Record("k", ""), {}), "\n");
  EXPECT_EQ(FormatRecord(Record("k", std::nullopt), {}), "null\n");
}

TEST(FormatRecordTest, KeyAndOffsetPrefixes) {
  EXPECT_EQ(FormatRecord(Record("user-7", "clicked"), {/*print_key=*/true, false}),
            "user-7\tclicked\n");
  EXPECT_EQ(FormatRecord(Record(std::nullopt, "v"), {true, false}), "null\tv\n");
  EXPECT_EQ(FormatRecord(Record("k", "v"), {false, /*print_offset=*/true}),
            "partition=2 offset=42\tv\n");
  EXPECT_EQ(FormatRecord(Record("user-7", "clicked"), {true, true}),
            "partition=2 offset=42\tuser-7\tclicked\n");
}

v1::TopicInfo Orders() {
  v1::TopicInfo t;
  t.set_name("orders");
  t.set_topic_id(7);
  t.set_replication_factor(2);
  (*t.mutable_configs())["retention.ms"] = "1000";
  (*t.mutable_configs())["cleanup.policy"] = "delete";
  for (int i = 0; i < 2; ++i) {
    v1::PartitionInfo* p = t.add_partitions();
    p->set_partition(i);
    p->set_leader(i == 0 ? 1 : -1);
    p->set_leader_epoch(3 + i);
    p->add_replicas(1);
    p->add_replicas(2);
    p->add_isr(1);
    p->set_partition_epoch(5);
  }
  return t;
}

TEST(FormatTopicTest, HeaderPartitionAndConfigLines) {
  EXPECT_EQ(FormatTopic(Orders()),
            "Topic: orders\tTopicId: 7\tPartitionCount: 2\tReplicationFactor: 2\t"
            "Configs: cleanup.policy=delete,retention.ms=1000\n"
            "\tPartition: 0\tLeader: 1\tLeaderEpoch: 3\tReplicas: 1,2\tIsr: 1\tPartitionEpoch: 5\n"
            "\tPartition: 1\tLeader: none\tLeaderEpoch: 4\tReplicas: 1,2\tIsr: 1\t"
            "PartitionEpoch: 5\n"
            "\tConfig: cleanup.policy=delete\tSource: override\n"
            "\tConfig: delete.retention.ms=86400000\tSource: default\n"
            "\tConfig: max.message.bytes=1048576\tSource: default\n"
            "\tConfig: min.compaction.lag.ms=0\tSource: default\n"
            "\tConfig: min.insync.replicas=1\tSource: default\n"
            "\tConfig: retention.bytes=-1\tSource: default\n"
            "\tConfig: retention.ms=1000\tSource: override\n"
            "\tConfig: unclean.leader.election.enable=false\tSource: default\n");
  v1::TopicInfo bare;
  bare.set_name("t");
  const std::string bare_text = FormatTopic(bare);
  EXPECT_EQ(bare_text.substr(0, bare_text.find('\n') + 1),
            "Topic: t\tTopicId: 0\tPartitionCount: 0\tReplicationFactor: 0\tConfigs: none\n");
  EXPECT_NE(bare_text.find("\tConfig: retention.ms=604800000\tSource: default\n"),
            std::string::npos);
}

TEST(FormatTopicTest, OverridesUnknownToTheCliAreShownToo) {
  v1::TopicInfo t;
  t.set_name("t");
  (*t.mutable_configs())["zz.future.key"] = "7";
  const std::string text = FormatTopic(t);
  EXPECT_NE(text.find("\tConfig: zz.future.key=7\tSource: override\n"), std::string::npos)
      << text;
}

TEST(FormatTopicTest, Altered) {
  v1::TopicInfo t = Orders();
  EXPECT_EQ(FormatTopicAltered(t, {{"retention.ms", "1000"}}, {}),
            "altered topic 'orders': retention.ms=1000\n");
  t.mutable_configs()->erase("cleanup.policy");
  (*t.mutable_configs())["max.message.bytes"] = "2000";
  EXPECT_EQ(FormatTopicAltered(t, {{"retention.ms", "1000"}, {"max.message.bytes", "2000"}},
                               {"min.insync.replicas", "cleanup.policy"}),
            "altered topic 'orders': max.message.bytes=2000, retention.ms=1000, "
            "cleanup.policy=delete (default), min.insync.replicas=1 (default)\n");
  EXPECT_EQ(FormatTopicAltered(t, {}, {"zz.future.key"}),
            "altered topic 'orders': zz.future.key (default)\n");
}

TEST(FormatTopicTest, CreatedAndList) {
  EXPECT_EQ(FormatTopicCreated(Orders()),
            "created topic 'orders' with 2 partitions (replication factor 2)\n");
  v1::TopicInfo one;
  one.set_name("x");
  one.set_replication_factor(1);
  one.add_partitions();
  EXPECT_EQ(FormatTopicCreated(one), "created topic 'x' with 1 partition (replication factor 1)\n");
  v1::ListTopicsResponse list;
  list.add_names("a");
  list.add_names("b");
  EXPECT_EQ(FormatTopicList(list), "a\nb\n");
  EXPECT_EQ(FormatTopicList(v1::ListTopicsResponse()), "");
}

TEST(FormatGroupTest, ListOneLinePerGroup) {
  v1::ListGroupsResponse list;
  v1::GroupSummary* g = list.add_groups();
  g->set_group_id("billing");
  g->set_state(v1::GROUP_STATE_STABLE);
  g->set_members(2);
  g->set_assignor("range");
  g = list.add_groups();
  g->set_group_id("old");
  g->set_state(v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(FormatGroupList(list),
            "Group: billing\tState: stable\tMembers: 2\tAssignor: range\n"
            "Group: old\tState: empty\tMembers: 0\tAssignor: none\n");
  EXPECT_EQ(FormatGroupList(v1::ListGroupsResponse()), "");
}

TEST(FormatGroupTest, DescribeMembersAndLagPerPartition) {
  v1::DescribeGroupResponse g;
  g.set_group_id("billing");
  g.set_state(v1::GROUP_STATE_RECONCILING);
  g.set_generation(4);
  g.set_assignor("cooperative-sticky");
  v1::GroupMember* m = g.add_members();
  m->set_member_id("m1");
  m->set_client_id("runnel-cli");
  m->set_client_host("ipv4:127.0.0.1:5555");
  m->add_subscribed_topics("orders");
  v1::TopicPartitions* a = m->add_assignment();
  a->set_topic("orders");
  a->add_partitions(0);
  a->add_partitions(1);
  v1::TopicPartitions* o = m->add_owned_partitions();
  o->set_topic("orders");
  o->add_partitions(0);
  m->set_millis_since_heartbeat(120);
  for (auto [p, offset] : {std::pair<int, int64_t>{0, 40}, {1, 7}, {3, 9}}) {
    v1::PartitionOffset* c = g.add_offsets();
    c->set_topic("orders");
    c->set_partition(p);
    c->set_offset(offset);
  }
  const std::set<TopicPartition> partitions = {
      {"orders", 0}, {"orders", 1}, {"orders", 2}, {"orders", 3}};
  const std::map<TopicPartition, int64_t> log_ends = {
      {{"orders", 0}, 42}, {{"orders", 1}, 7}, {{"orders", 2}, 5}};
  EXPECT_EQ(FormatGroup(g, partitions, log_ends),
            "Group: billing\tState: reconciling\tGeneration: 4\tAssignor: cooperative-sticky\t"
            "Members: 1\n"
            "\tMember: m1\tClientId: runnel-cli\tHost: ipv4:127.0.0.1:5555\tTopics: orders\t"
            "Assignment: orders-0,orders-1\tOwned: orders-0\tMillisSinceHeartbeat: 120\n"
            "\tPartition: orders-0\tCommitted: 40\tLogEnd: 42\tLag: 2\tMember: m1\n"
            "\tPartition: orders-1\tCommitted: 7\tLogEnd: 7\tLag: 0\tMember: m1\n"
            "\tPartition: orders-2\tCommitted: none\tLogEnd: 5\tLag: none\tMember: none\n"
            "\tPartition: orders-3\tCommitted: 9\tLogEnd: unknown\tLag: unknown\t"
            "Member: none\n");
}

TEST(FormatGroupTest, OffsetsReset) {
  const std::map<TopicPartition, int64_t> offsets = {{{"t", 0}, 5}, {{"t", 1}, 0}};
  EXPECT_EQ(FormatOffsetsReset("g", offsets, false), "reset offsets of group 'g': t-0=5, t-1=0\n");
  EXPECT_EQ(FormatOffsetsReset("g", offsets, true),
            "would reset offsets of group 'g': t-0=5, t-1=0\n");
}

TEST(FormatClusterTest, OneLinePerBroker) {
  v1::DescribeClusterResponse c;
  c.set_cluster_id("abc");
  v1::BrokerSummary* b = c.add_brokers();
  b->mutable_broker()->set_id(1);
  b->mutable_broker()->set_address("127.0.0.1:9092");
  b->mutable_broker()->set_state(v1::BROKER_STATE_ALIVE);
  b->mutable_broker()->set_broker_epoch(3);
  b->mutable_broker()->set_millis_since_heartbeat(120);
  b->set_partitions_led(2);
  b->set_partitions_followed(4);
  b = c.add_brokers();
  b->mutable_broker()->set_id(2);
  b->mutable_broker()->set_address("127.0.0.1:9093");
  b->mutable_broker()->set_rack("r2");
  b->mutable_broker()->set_state(v1::BROKER_STATE_FENCED);
  EXPECT_EQ(FormatCluster(c),
            "ClusterId: abc\n"
            "Broker: 1\tAddress: 127.0.0.1:9092\tRack: none\tState: alive\tBrokerEpoch: 3\t"
            "MillisSinceHeartbeat: 120\tPartitionsLed: 2\tPartitionsFollowed: 4\n"
            "Broker: 2\tAddress: 127.0.0.1:9093\tRack: r2\tState: fenced\tBrokerEpoch: 0\t"
            "MillisSinceHeartbeat: 0\tPartitionsLed: 0\tPartitionsFollowed: 0\n");
}

TEST(OutputTest, Reassignments) {
  v1::ListReassignmentsResponse list;
  v1::ReassignmentStatus* copying = list.add_reassignments();
  copying->set_topic("orders");
  copying->set_partition(0);
  for (int32_t b : {4, 2, 3, 1}) copying->add_replicas(b);
  for (int32_t b : {4, 2, 3}) copying->add_target_replicas(b);
  copying->add_adding_replicas(4);
  copying->add_removing_replicas(1);
  v1::ReassignmentStatus* done = list.add_reassignments();
  done->set_topic("orders");
  done->set_partition(1);
  for (int32_t b : {2, 1}) done->add_replicas(b);
  for (int32_t b : {2, 1}) done->add_target_replicas(b);
  EXPECT_EQ(FormatReassignments(list.reassignments()),
            "Partition: orders-0\tReplicas: 4,2,3,1\tTarget: 4,2,3\tAdding: 4\tRemoving: 1\t"
            "State: copying\n"
            "Partition: orders-1\tReplicas: 2,1\tTarget: 2,1\tAdding: none\tRemoving: none\t"
            "State: done\n");
  EXPECT_EQ(FormatReassignments(v1::ListReassignmentsResponse().reassignments()), "");
}

TEST(OutputTest, BalancePlan) {
  v1::BalanceClusterResponse plan;
  EXPECT_EQ(FormatBalancePlan(plan, false), "nothing to move: the cluster is balanced\n");
  v1::PlannedMove* copy = plan.add_moves();
  copy->set_topic("t");
  copy->set_partition(0);
  for (int32_t b : {1, 2}) copy->add_from_replicas(b);
  for (int32_t b : {4, 2}) copy->add_to_replicas(b);
  copy->add_added_replicas(4);
  v1::PlannedMove* reorder = plan.add_moves();
  reorder->set_topic("t");
  reorder->set_partition(3);
  for (int32_t b : {1, 3}) reorder->add_from_replicas(b);
  for (int32_t b : {3, 1}) reorder->add_to_replicas(b);
  const std::string moves =
      "Partition: t-0\tFrom: 1,2\tTo: 4,2\tCopies: 4\n"
      "Partition: t-3\tFrom: 1,3\tTo: 3,1\tCopies: none\n";
  EXPECT_EQ(FormatBalancePlan(plan, true),
            moves + "planned 2 move(s) copying 1 replica(s): dry run, nothing started\n");
  EXPECT_EQ(FormatBalancePlan(plan, false),
            moves + "planned 2 move(s) copying 1 replica(s): started\n");
}

}  // namespace
}  // namespace runnel::client::cli
