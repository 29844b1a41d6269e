#include "broker/storage/offset_map.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace runnel::storage {
namespace {

TEST(KeyOffsetMapTest, KeepsTheLatestOffsetPerKey) {
  KeyOffsetMap map(1 << 16);
  EXPECT_EQ(map.Get("a"), -1);
  EXPECT_TRUE(map.Put("a", 1));
  EXPECT_TRUE(map.Put("b", 2));
  EXPECT_TRUE(map.Put("a", 3));
  EXPECT_EQ(map.Get("a"), 3);
  EXPECT_EQ(map.Get("b"), 2);
  EXPECT_EQ(map.Get(""), -1);
  EXPECT_TRUE(map.Put("", 4));  // an empty key is a key
  EXPECT_EQ(map.Get(""), 4);
  EXPECT_EQ(map.size(), 3u);
}

TEST(KeyOffsetMapTest, FillsToCapacityThenRefusesNewKeysOnly) {
  KeyOffsetMap map(24 * 100);  // 100 slots, 90 keys
  EXPECT_EQ(map.capacity(), 90u);
  for (int i = 0; i < 90; ++i) ASSERT_TRUE(map.Put(absl::StrCat("key-", i), i)) << i;
  EXPECT_EQ(map.room(), 0u);
  EXPECT_FALSE(map.Put("one more", 100));
  EXPECT_EQ(map.Get("one more"), -1);
  EXPECT_TRUE(map.Put("key-7", 200));  // existing keys still update
  for (int i = 0; i < 90; ++i) EXPECT_EQ(map.Get(absl::StrCat("key-", i)), i == 7 ? 200 : i);

  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Get("key-1"), -1);
  EXPECT_TRUE(map.Put("one more", 5));
}

TEST(KeyOffsetMapTest, TinyBudgetStillHoldsOneKey) {
  KeyOffsetMap map(0);
  EXPECT_EQ(map.capacity(), 1u);
  EXPECT_TRUE(map.Put("k", 9));
  EXPECT_FALSE(map.Put("other", 10));
  EXPECT_EQ(map.Get("k"), 9);
  EXPECT_EQ(map.Get("other"), -1);  // terminates: one slot stays empty
}

}  // namespace
}  // namespace runnel::storage
