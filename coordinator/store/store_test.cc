// One suite, run against every MetadataStore implementation, so the fake used
// by other packages' tests is held to the same contract as RocksDBStore.
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/store/memory_store.h"
#include "coordinator/store/metadata_store.h"
#include "coordinator/store/rocksdb_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::store {
namespace {

// A fresh directory under Bazel's per-test temp dir.
std::string FreshDir(absl::string_view name) {
  static int counter = 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/store_test_", name, "_", ++counter);
}

struct StoreImpl {
  std::string name;
  std::function<std::unique_ptr<MetadataStore>()> make;
};

class MetadataStoreTest : public ::testing::TestWithParam<StoreImpl> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreTest, GetMissingKeyIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(store_->Get("nope").status()));
}

TEST_P(MetadataStoreTest, PutThenGetAndOverwrite) {
  ASSERT_TRUE(store_->Put("k", "v1").ok());
  EXPECT_EQ(*store_->Get("k"), "v1");
  ASSERT_TRUE(store_->Put("k", "v2").ok());
  EXPECT_EQ(*store_->Get("k"), "v2");
}

TEST_P(MetadataStoreTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key("a\0b", 3);
  const std::string value("\0\xff\x01", 3);
  ASSERT_TRUE(store_->Put(key, value).ok());
  EXPECT_EQ(*store_->Get(key), value);
  EXPECT_TRUE(absl::IsNotFound(store_->Get("a").status()));
}

TEST_P(MetadataStoreTest, DeleteRemovesKeyAndMissingDeleteIsOk) {
  ASSERT_TRUE(store_->Put("k", "v").ok());
  ASSERT_TRUE(store_->Delete("k").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("k").status()));
  EXPECT_TRUE(store_->Delete("never-there").ok());
}

TEST_P(MetadataStoreTest, ScanReturnsOnlyPrefixInByteOrder) {
  for (const char* k : {"b/1", "a/2", "a/10", "a/1", "a", "ab"}) {
    ASSERT_TRUE(store_->Put(k, absl::StrCat("v-", k)).ok());
  }
  auto scanned = store_->Scan("a/");
  ASSERT_TRUE(scanned.ok());
  ASSERT_EQ(scanned->size(), 3u);
  EXPECT_EQ((*scanned)[0], KeyValue("a/1", "v-a/1"));
  EXPECT_EQ((*scanned)[1], KeyValue("a/10", "v-a/10"));
  EXPECT_EQ((*scanned)[2], KeyValue("a/2", "v-a/2"));

  auto all = store_->Scan("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ(all->front().first, "a");
  EXPECT_EQ(all->back().first, "b/1");

  auto none = store_->Scan("c");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(MetadataStoreTest, WriteAppliesEveryOperationInOrder) {
  ASSERT_TRUE(store_->Put("old", "x").ok());
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Delete("a");
  batch.Delete("old");
  batch.Put("b", "3");
  ASSERT_TRUE(store_->Write(batch).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("a").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Get("old").status()));
  EXPECT_EQ(*store_->Get("b"), "3");
}

TEST_P(MetadataStoreTest, EmptyWriteIsOk) { EXPECT_TRUE(store_->Write(WriteBatch()).ok()); }

INSTANTIATE_TEST_SUITE_P(
    AllStores, MetadataStoreTest,
    ::testing::Values(StoreImpl{"Memory", [] { return std::make_unique<MemoryStore>(); }},
                      StoreImpl{"RocksDB",
                                []() -> std::unique_ptr<MetadataStore> {
                                  auto store = RocksDBStore::Open(FreshDir("suite"));
                                  EXPECT_TRUE(store.ok()) << store.status();
                                  return store.ok() ? std::move(*store) : nullptr;
                                }}),
    [](const ::testing::TestParamInfo<StoreImpl>& info) { return info.param.name; });

// Durability is what RocksDBStore adds over the fake.
TEST(RocksDBStoreTest, DataSurvivesReopen) {
  const std::string dir = FreshDir("reopen");
  {
    auto store = RocksDBStore::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch;
    batch.Put("topic/a", "1");
    batch.Put("topic/b", "2");
    ASSERT_TRUE((*store)->Write(batch).ok());
    ASSERT_TRUE((*store)->Delete("topic/a").ok());
  }
  auto store = RocksDBStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(absl::IsNotFound((*store)->Get("topic/a").status()));
  EXPECT_EQ(*(*store)->Get("topic/b"), "2");
}

TEST(RocksDBStoreTest, CreatesMissingParentDirectories) {
  auto store = RocksDBStore::Open(FreshDir("parents") + "/x/y/z");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Put("k", "v").ok());
}

TEST(RocksDBStoreTest, SecondOpenOfSameDirIsRefused) {
  const std::string dir = FreshDir("locked");
  auto first = RocksDBStore::Open(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = RocksDBStore::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(dir), absl::string_view::npos) << second.status();
}

TEST(RocksDBStoreTest, UnusableDirectoryIsAnError) {
  // A regular file where the directory should be.
  const std::string file = FreshDir("file");
  {
    auto store = RocksDBStore::Open(file);
    ASSERT_TRUE(store.ok());
  }
  auto store = RocksDBStore::Open(file + "/CURRENT/sub");
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace runnel::coordinator::store
