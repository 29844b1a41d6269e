#include "broker/cluster/metadata_cache.h"

#include "gtest/gtest.h"

namespace runnel::cluster {
namespace {

runnel::v1::ClusterMetadata Metadata(int64_t version, int partitions) {
  runnel::v1::ClusterMetadata md;
  md.set_version(version);
  auto* b = md.add_brokers();
  b->set_id(7);
  b->set_address("127.0.0.1:9092");
  auto* t = md.add_topics();
  t->set_name("orders");
  t->set_topic_id(42);
  for (int p = 0; p < partitions; ++p) {
    auto* pi = t->add_partitions();
    pi->set_partition(p);
    pi->set_leader(7);
  }
  return md;
}

TEST(MetadataCacheTest, StartsEmptyAndInstallsOnlyNewerVersions) {
  MetadataCache cache;
  EXPECT_EQ(cache.Snapshot()->version(), 0);
  EXPECT_TRUE(cache.Update(Metadata(3, 2)));
  EXPECT_FALSE(cache.Update(Metadata(2, 5)));
  EXPECT_FALSE(cache.Update(Metadata(3, 5)));
  EXPECT_EQ(cache.Snapshot()->version(), 3);
  EXPECT_EQ(cache.Snapshot()->FindTopic("orders")->partitions_size(), 2);
}

TEST(MetadataCacheTest, OldSnapshotStaysValidAfterUpdate) {
  MetadataCache cache;
  cache.Update(Metadata(1, 1));
  auto old = cache.Snapshot();
  const runnel::v1::TopicInfo* t = old->FindTopic("orders");
  cache.Update(Metadata(2, 4));
  EXPECT_EQ(t->partitions_size(), 1);
  EXPECT_EQ(cache.Snapshot()->FindTopic("orders")->partitions_size(), 4);
}

TEST(MetadataSnapshotTest, LookupsAndErrors) {
  MetadataSnapshot snap(Metadata(1, 3));
  ASSERT_NE(snap.FindBroker(7), nullptr);
  EXPECT_EQ(snap.FindBroker(8), nullptr);
  EXPECT_EQ(snap.FindTopic("nope"), nullptr);
  auto p = snap.FindPartition("orders", 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->partition(), 2);
  auto missing = snap.FindPartition("nope", 0);
  EXPECT_EQ(missing.status().message(), "topic 'nope' not found");
  auto range = snap.FindPartition("orders", 3);
  EXPECT_EQ(range.status().message(),
            "partition 3 out of range for topic 'orders' (3 partitions: 0-2)");
  EXPECT_FALSE(snap.FindPartition("orders", -1).ok());
}

}  // namespace
}  // namespace runnel::cluster
