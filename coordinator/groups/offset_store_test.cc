#include "coordinator/groups/offset_store.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "coordinator/store/keys.h"
#include "coordinator/store/memory_store.h"
#include "coordinator/store/rocksdb_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::groups {
namespace {

StoredOffset Offset(uint64_t topic_id, const std::string& topic, int32_t partition, int64_t offset,
                    const std::string& metadata = "") {
  StoredOffset o;
  o.topic_id = topic_id;
  o.offset.set_topic(topic);
  o.offset.set_partition(partition);
  o.offset.set_offset(offset);
  o.offset.set_metadata(metadata);
  o.offset.set_commit_timestamp_ms(1000 + offset);
  return o;
}

int64_t OffsetOf(const OffsetStore& offsets, const std::string& group, const std::string& topic,
                 int32_t partition) {
  const GroupOffsets* g = offsets.Find(group);
  if (g == nullptr) return -1;
  auto it = g->find({topic, partition});
  return it == g->end() ? -1 : it->second.offset.offset();
}

const std::map<std::string, uint64_t> kTopics = {{"orders", 1}, {"users", 2}};

std::unique_ptr<OffsetStore> Load(store::MetadataStore* store,
                                  const std::map<std::string, uint64_t>& topics = kTopics) {
  auto offsets = OffsetStore::Load(store, topics);
  EXPECT_TRUE(offsets.ok()) << offsets.status();
  return offsets.ok() ? std::move(*offsets) : nullptr;
}

TEST(OffsetStoreTest, CommitsSurviveAReopenedRocksDBStore) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/offsets";
  {
    auto db = store::RocksDBStore::Open(dir);
    ASSERT_TRUE(db.ok()) << db.status();
    auto offsets = Load(db->get());
    ASSERT_NE(offsets, nullptr);
    ASSERT_TRUE(offsets
                    ->Commit("billing", {Offset(1, "orders", 0, 10, std::string(4096, 'm')),
                                         Offset(1, "orders", 1, 20)})
                    .ok());
    ASSERT_TRUE(offsets->Commit("billing", {Offset(1, "orders", 0, 11, "meta")}).ok());
    ASSERT_TRUE(offsets->Commit("audit", {Offset(2, "users", 3, 5)}).ok());
  }
  auto db = store::RocksDBStore::Open(dir);
  ASSERT_TRUE(db.ok()) << db.status();
  auto offsets = Load(db->get());
  ASSERT_NE(offsets, nullptr);
  EXPECT_EQ(OffsetOf(*offsets, "billing", "orders", 0), 11);
  EXPECT_EQ(OffsetOf(*offsets, "billing", "orders", 1), 20);
  EXPECT_EQ(OffsetOf(*offsets, "audit", "users", 3), 5);
  EXPECT_EQ(offsets->Find("billing")->at({"orders", 0}).offset.metadata(), "meta");
  EXPECT_EQ(offsets->Find("billing")->at({"orders", 0}).offset.commit_timestamp_ms(), 1011);
  EXPECT_EQ(offsets->Groups(), (std::vector<std::string>{"audit", "billing"}));
}

TEST(OffsetStoreTest, DeletesAreDurable) {
  store::MemoryStore mem;
  {
    auto offsets = Load(&mem);
    ASSERT_TRUE(offsets->Commit("g1", {Offset(1, "orders", 0, 1), Offset(2, "users", 0, 2)}).ok());
    ASSERT_TRUE(offsets->Commit("g2", {Offset(1, "orders", 0, 3)}).ok());
    ASSERT_TRUE(offsets->Commit("g3", {Offset(2, "users", 0, 4)}).ok());
    ASSERT_TRUE(offsets->DeleteTopic("orders").ok());
    EXPECT_EQ(offsets->Find("g2"), nullptr);  // nothing left
    ASSERT_TRUE(offsets->DeleteGroup("g3").ok());
    ASSERT_TRUE(offsets->DeleteGroup("unknown").ok());
  }
  auto offsets = Load(&mem);
  EXPECT_EQ(offsets->Groups(), (std::vector<std::string>{"g1"}));
  EXPECT_EQ(OffsetOf(*offsets, "g1", "orders", 0), -1);
  EXPECT_EQ(OffsetOf(*offsets, "g1", "users", 0), 2);
}

// Offsets left behind by a topic deleted while the coordinator could not
// delete them (crash, store error) never reach a re-created topic.
TEST(OffsetStoreTest, OffsetsOfDeletedTopicsAreDroppedAtLoad) {
  store::MemoryStore mem;
  ASSERT_TRUE(Load(&mem)->Commit("g", {Offset(1, "orders", 0, 7), Offset(2, "users", 0, 8)}).ok());
  // "orders" re-created with id 3.
  auto offsets = Load(&mem, {{"orders", 3}, {"users", 2}});
  EXPECT_EQ(OffsetOf(*offsets, "g", "orders", 0), -1);
  EXPECT_EQ(OffsetOf(*offsets, "g", "users", 0), 8);
  EXPECT_FALSE(mem.Get(store::OffsetKey("g", 1, 0)).ok());  // deleted from the store
}

TEST(OffsetStoreTest, GroupsWithSimilarNamesDoNotMix) {
  store::MemoryStore mem;
  auto offsets = Load(&mem);
  ASSERT_TRUE(offsets->Commit("g", {Offset(1, "orders", 0, 1)}).ok());
  ASSERT_TRUE(offsets->Commit("g.x", {Offset(1, "orders", 0, 2)}).ok());
  ASSERT_TRUE(offsets->DeleteGroup("g").ok());
  offsets = Load(&mem);
  EXPECT_EQ(OffsetOf(*offsets, "g.x", "orders", 0), 2);
  EXPECT_EQ(offsets->Find("g"), nullptr);
}

TEST(OffsetStoreTest, CorruptRecordRefusesToLoad) {
  store::MemoryStore mem;
  ASSERT_TRUE(mem.Put(store::OffsetKey("g", 1, 0), "\xff\xff").ok());
  auto offsets = OffsetStore::Load(&mem, kTopics);
  EXPECT_TRUE(absl::IsDataLoss(offsets.status())) << offsets.status();
  store::MemoryStore mem2;
  ASSERT_TRUE(mem2.Put("offset/g/1", "").ok());
  EXPECT_TRUE(absl::IsDataLoss(OffsetStore::Load(&mem2, kTopics).status()));
}

}  // namespace
}  // namespace runnel::coordinator::groups
