#include "coordinator/topics/validation.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace runnel::coordinator::topics {
namespace {

TEST(ValidateTopicNameTest, AcceptsLegalNames) {
  for (const std::string& name : std::vector<std::string>{"a", "orders", "Orders.v2", "my_topic-1",
                                                          "...", std::string(249, 'x')}) {
    EXPECT_TRUE(ValidateTopicName(name).ok()) << name;
  }
}

TEST(ValidateTopicNameTest, RejectsIllegalNamesWithAClearMessage) {
  absl::Status s = ValidateTopicName("a b");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(), "invalid topic name 'a b': use 1-249 characters from [A-Za-z0-9._-]");
  for (const std::string& name : std::vector<std::string>{"", std::string(250, 'x'), "a/b",
                                                          "tópico", std::string("a\0b", 3)}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateTopicName(name))) << name;
  }
}

TEST(ValidateTopicNameTest, RejectsDotAndDotDot) {
  EXPECT_EQ(ValidateTopicName(".").message(), "invalid topic name '.': '.' and '..' are reserved");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateTopicName("..")));
}

TEST(ValidatePartitionCountTest, Bounds) {
  EXPECT_EQ(ValidatePartitionCount(0).message(), "partitions must be >= 1, got 0");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePartitionCount(-3)));
  EXPECT_TRUE(ValidatePartitionCount(1).ok());
  EXPECT_TRUE(ValidatePartitionCount(10000).ok());
  EXPECT_EQ(ValidatePartitionCount(10001).message(), "partitions must be <= 10000, got 10001");
}

TEST(EffectiveReplicationFactorTest, ZeroMeansOneAndNegativeIsInvalid) {
  EXPECT_EQ(*EffectiveReplicationFactor(0), 1);
  EXPECT_EQ(*EffectiveReplicationFactor(3), 3);
  auto bad = EffectiveReplicationFactor(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_EQ(bad.status().message(), "replication factor must be >= 1 (0 means 1), got -1");
}

// Keys and values are common/topic_config's (tested there); these check that
// they are applied and that the replication factor bounds min.insync.replicas.
TEST(ValidateTopicConfigsTest, AppliesTheCommonKeyAndValueRules) {
  EXPECT_TRUE(ValidateTopicConfigs({}, 1).ok());
  EXPECT_TRUE(
      ValidateTopicConfigs({{"retention.ms", "-1"}, {"cleanup.policy", "compact"}}, 1).ok());
  absl::Status unknown = ValidateTopicConfigs({{"segment.ms", "100"}}, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(unknown));
  EXPECT_EQ(
      unknown.message().rfind("unknown topic config 'segment.ms' (known: cleanup.policy, ", 0), 0u)
      << unknown.message();
  EXPECT_EQ(ValidateTopicConfigs({{"retention.ms", "-2"}}, 1).message(),
            "invalid value '-2' for topic config 'retention.ms': expected a number of "
            "milliseconds >= 0, or -1 for no limit");
}

TEST(ValidateTopicConfigsTest, MinInsyncReplicasCannotExceedReplicationFactor) {
  EXPECT_TRUE(ValidateTopicConfigs({{"min.insync.replicas", "3"}}, 3).ok());
  absl::Status s = ValidateTopicConfigs({{"min.insync.replicas", "3"}}, 2);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(),
            "invalid value '3' for topic config 'min.insync.replicas': expected an integer "
            "from 1 to the replication factor 2");
  EXPECT_EQ(ValidateTopicConfigs({{"min.insync.replicas", "0"}}, 2).message(),
            "invalid value '0' for topic config 'min.insync.replicas': expected an integer >= 1");
}

}  // namespace
}  // namespace runnel::coordinator::topics
