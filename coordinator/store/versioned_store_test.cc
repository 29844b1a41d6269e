#include "coordinator/store/versioned_store.h"

#include "coordinator/store/fault_injecting_store.h"
#include "coordinator/store/keys.h"
#include "coordinator/store/memory_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::store {
namespace {

TEST(VersionedStoreTest, EmptyStoreStartsAtVersionZero) {
  MemoryStore mem;
  auto vs = VersionedStore::Open(&mem);
  ASSERT_TRUE(vs.ok());
  EXPECT_EQ((*vs)->version(), 0);
}

TEST(VersionedStoreTest, EveryCommitBumpsVersionWithTheChange) {
  MemoryStore mem;
  auto vs = VersionedStore::Open(&mem);
  ASSERT_TRUE(vs.ok());
  WriteBatch batch;
  batch.Put("topic/a", "x");
  ASSERT_TRUE((*vs)->Commit(batch).ok());
  EXPECT_EQ((*vs)->version(), 1);
  EXPECT_EQ(*mem.Get("topic/a"), "x");
  EXPECT_EQ(*mem.Get(kVersionKey), "1");
  ASSERT_TRUE((*vs)->Commit(WriteBatch()).ok());
  EXPECT_EQ((*vs)->version(), 2);
}

TEST(VersionedStoreTest, VersionSurvivesReopen) {
  MemoryStore mem;
  {
    auto vs = VersionedStore::Open(&mem);
    ASSERT_TRUE(vs.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*vs)->Commit(WriteBatch()).ok());
  }
  auto vs = VersionedStore::Open(&mem);
  ASSERT_TRUE(vs.ok());
  EXPECT_EQ((*vs)->version(), 3);
}

TEST(VersionedStoreTest, FailedCommitLeavesVersionAndDataUnchanged) {
  MemoryStore mem;
  FaultInjectingStore faulty(&mem);
  auto vs = VersionedStore::Open(&faulty);
  ASSERT_TRUE(vs.ok());
  faulty.set_fail_writes(true);
  WriteBatch batch;
  batch.Put("topic/a", "x");
  EXPECT_TRUE(absl::IsUnavailable((*vs)->Commit(batch)));
  EXPECT_EQ((*vs)->version(), 0);
  EXPECT_TRUE(absl::IsNotFound(mem.Get("topic/a").status()));
}

TEST(VersionedStoreTest, GetIntDefaultsAndRejectsGarbage) {
  MemoryStore mem;
  ASSERT_TRUE(mem.Put("n", "42").ok());
  ASSERT_TRUE(mem.Put("bad", "4x").ok());
  auto vs = VersionedStore::Open(&mem);
  ASSERT_TRUE(vs.ok());
  EXPECT_EQ(*(*vs)->GetInt("n", 7), 42);
  EXPECT_EQ(*(*vs)->GetInt("missing", 7), 7);
  auto bad = (*vs)->GetInt("bad", 7);
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("'bad'"), absl::string_view::npos);
}

TEST(VersionedStoreTest, CorruptVersionRefusesToOpen) {
  MemoryStore mem;
  ASSERT_TRUE(mem.Put(kVersionKey, "banana").ok());
  EXPECT_TRUE(absl::IsDataLoss(VersionedStore::Open(&mem).status()));
}

}  // namespace
}  // namespace runnel::coordinator::store
