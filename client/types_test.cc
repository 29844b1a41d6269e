#include "client/types.h"

#include "client/options.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

TEST(ValidateTopicNameTest, AcceptsLegalNames) {
  EXPECT_TRUE(ValidateTopicName("orders").ok());
  EXPECT_TRUE(ValidateTopicName("a.b_c-D9").ok());
  EXPECT_TRUE(ValidateTopicName("...").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
}

TEST(ValidateTopicNameTest, RejectsIllegalNames) {
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("a b"),
        std::string("a/b"), std::string("ü"), std::string(250, 'x')}) {
    absl::Status s = ValidateTopicName(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateTopicName("a b").message(),
            "invalid topic name 'a b': use 1-249 characters from [A-Za-z0-9._-], other than '.' "
            "and '..'");
}

TEST(ValidateGroupIdTest, SameCharactersAsTopicsButDotsAreFine) {
  EXPECT_TRUE(ValidateGroupId("billing.v2_x-Y").ok());
  EXPECT_TRUE(ValidateGroupId(".").ok());
  EXPECT_TRUE(ValidateGroupId(std::string(249, 'g')).ok());
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string(250, 'g')}) {
    EXPECT_EQ(ValidateGroupId(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateGroupId("a/b").message(),
            "invalid group id 'a/b': use 1-249 characters from [A-Za-z0-9._-]");
}

TEST(TopicPartitionTest, ToStringAndOrder) {
  EXPECT_EQ(ToString(TopicPartition{"orders", 3}), "orders-3");
  EXPECT_TRUE((TopicPartition{"a", 5}) < (TopicPartition{"b", 0}));
  EXPECT_TRUE((TopicPartition{"a", 1}) < (TopicPartition{"a", 2}));
}

TEST(RetryBackoffTest, DoublesUpToTheCap) {
  ClientOptions o;
  o.retry_backoff = absl::Milliseconds(100);
  o.retry_backoff_max = absl::Seconds(1);
  EXPECT_EQ(RetryBackoff(o, 0), absl::Milliseconds(100));
  EXPECT_EQ(RetryBackoff(o, 1), absl::Milliseconds(200));
  EXPECT_EQ(RetryBackoff(o, 3), absl::Milliseconds(800));
  EXPECT_EQ(RetryBackoff(o, 4), absl::Seconds(1));
  EXPECT_EQ(RetryBackoff(o, 1000), absl::Seconds(1));
}

}  // namespace
}  // namespace runnel::client
