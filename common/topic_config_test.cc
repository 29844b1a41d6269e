#include "common/topic_config.h"

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace runnel {
namespace {

TopicConfig Parse(const std::map<std::string, std::string>& overrides) {
  absl::StatusOr<TopicConfig> config = ParseTopicConfig(overrides);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : TopicConfig();
}

std::string Error(const std::string& key, const std::string& value) {
  absl::StatusOr<TopicConfig> config = ParseTopicConfig({{key, value}});
  EXPECT_TRUE(absl::IsInvalidArgument(config.status())) << key << "=" << value;
  return std::string(config.status().message());
}

TEST(ParseTopicConfigTest, NoOverridesGivesTheDefaults) {
  TopicConfig c = Parse({});
  EXPECT_EQ(c.retention_ms, 604800000);
  EXPECT_EQ(c.retention_bytes, -1);
  EXPECT_TRUE(c.cleanup_delete);
  EXPECT_FALSE(c.cleanup_compact);
  EXPECT_EQ(c.max_message_bytes, 1048576);
  EXPECT_EQ(c.min_insync_replicas, 1);
  EXPECT_FALSE(c.unclean_leader_election_enable);
  EXPECT_EQ(c.delete_retention_ms, 86400000);
  EXPECT_EQ(c.min_compaction_lag_ms, 0);
}

TEST(ParseTopicConfigTest, EveryKeySetsItsField) {
  TopicConfig c = Parse({
      {"retention.ms", "1000"},
      {"retention.bytes", "1073741824"},
      {"cleanup.policy", "compact"},
      {"max.message.bytes", "2000"},
      {"min.insync.replicas", "2"},
      {"unclean.leader.election.enable", "true"},
      {"delete.retention.ms", "5000"},
      {"min.compaction.lag.ms", "60000"},
  });
  EXPECT_EQ(c.retention_ms, 1000);
  EXPECT_EQ(c.retention_bytes, 1073741824);
  EXPECT_FALSE(c.cleanup_delete);
  EXPECT_TRUE(c.cleanup_compact);
  EXPECT_EQ(c.max_message_bytes, 2000);
  EXPECT_EQ(c.min_insync_replicas, 2);
  EXPECT_TRUE(c.unclean_leader_election_enable);
  EXPECT_EQ(c.delete_retention_ms, 5000);
  EXPECT_EQ(c.min_compaction_lag_ms, 60000);
}

TEST(ParseTopicConfigTest, EdgeValues) {
  EXPECT_EQ(Parse({{"retention.ms", "-1"}}).retention_ms, -1);
  EXPECT_EQ(Parse({{"retention.ms", "0"}}).retention_ms, 0);
  EXPECT_EQ(Parse({{"retention.bytes", "-1"}}).retention_bytes, -1);
  EXPECT_EQ(Parse({{"retention.bytes", "9223372036854775807"}}).retention_bytes,
            9223372036854775807LL);
  EXPECT_EQ(Parse({{"max.message.bytes", "1"}}).max_message_bytes, 1);
  EXPECT_EQ(Parse({{"max.message.bytes", "2147483647"}}).max_message_bytes, 2147483647);
  EXPECT_EQ(Parse({{"delete.retention.ms", "0"}}).delete_retention_ms, 0);
  EXPECT_FALSE(Parse({{"unclean.leader.election.enable", "false"}}).unclean_leader_election_enable);
  TopicConfig delete_only = Parse({{"cleanup.policy", "delete"}});
  EXPECT_TRUE(delete_only.cleanup_delete);
  EXPECT_FALSE(delete_only.cleanup_compact);
  for (const char* both : {"compact,delete", "delete,compact"}) {
    TopicConfig c = Parse({{"cleanup.policy", both}});
    EXPECT_TRUE(c.cleanup_delete) << both;
    EXPECT_TRUE(c.cleanup_compact) << both;
  }
}

TEST(ParseTopicConfigTest, BadValuesAreRefused) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"retention.ms", "-2"},
      {"retention.ms", "1d"},
      {"retention.ms", ""},
      {"retention.ms", " 5"},
      {"retention.ms", "5 "},
      {"retention.ms", "9223372036854775808"},
      {"retention.bytes", "-2"},
      {"retention.bytes", "1.5"},
      {"cleanup.policy", ""},
      {"cleanup.policy", "none"},
      {"cleanup.policy", "compact, delete"},
      {"cleanup.policy", "Delete"},
      {"cleanup.policy", "delete,delete"},
      {"max.message.bytes", "0"},
      {"max.message.bytes", "-1"},
      {"max.message.bytes", "2147483648"},
      {"min.insync.replicas", "0"},
      {"min.insync.replicas", "two"},
      {"unclean.leader.election.enable", "yes"},
      {"unclean.leader.election.enable", "1"},
      {"delete.retention.ms", "-1"},
      {"min.compaction.lag.ms", "-1"},
      {"min.compaction.lag.ms", "x"},
  };
  for (const auto& [key, value] : bad) {
    std::string message = Error(key, value);
    EXPECT_EQ(message.rfind("invalid value '" + value + "' for topic config '" + key + "': ", 0),
              0u)
        << message;
  }
}

TEST(ParseTopicConfigTest, BadValueMessagesSayWhatIsExpected) {
  EXPECT_EQ(Error("retention.ms", "abc"),
            "invalid value 'abc' for topic config 'retention.ms': expected a number of "
            "milliseconds >= 0, or -1 for no limit");
  EXPECT_EQ(Error("retention.bytes", "-5"),
            "invalid value '-5' for topic config 'retention.bytes': expected a number of bytes "
            ">= 0, or -1 for no limit");
  EXPECT_EQ(Error("max.message.bytes", "0"),
            "invalid value '0' for topic config 'max.message.bytes': expected a number of bytes "
            "from 1 to 2147483647");
  EXPECT_EQ(Error("cleanup.policy", "none"),
            "invalid value 'none' for topic config 'cleanup.policy': expected delete, compact or "
            "compact,delete (either order)");
  EXPECT_EQ(Error("min.insync.replicas", "0"),
            "invalid value '0' for topic config 'min.insync.replicas': expected an integer >= 1");
  EXPECT_EQ(Error("unclean.leader.election.enable", "yes"),
            "invalid value 'yes' for topic config 'unclean.leader.election.enable': expected "
            "true or false");
  EXPECT_EQ(Error("delete.retention.ms", "-1"),
            "invalid value '-1' for topic config 'delete.retention.ms': expected a number of "
            "milliseconds >= 0");
}

TEST(ParseTopicConfigTest, UnknownKeyListsTheKnownOnes) {
  EXPECT_EQ(Error("retention.msec", "1"),
            "unknown topic config 'retention.msec' (known: cleanup.policy, delete.retention.ms, "
            "max.message.bytes, min.compaction.lag.ms, min.insync.replicas, retention.bytes, "
            "retention.ms, unclean.leader.election.enable)");
  // One bad key spoils an otherwise valid set.
  EXPECT_FALSE(ParseTopicConfig({{"retention.ms", "1"}, {"segment.ms", "1"}}).ok());
}

TEST(ParseTopicConfigTest, ProtoStyleMapsParseToo) {
  std::unordered_map<std::string, std::string> overrides = {{"retention.ms", "42"}};
  absl::StatusOr<TopicConfig> c = ParseTopicConfigMap(overrides);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->retention_ms, 42);
}

TEST(KnownTopicConfigKeysTest, EveryKeySortedWithAValidDefaultThatMatchesTheStruct) {
  std::vector<std::string> keys;
  for (const TopicConfigKey& k : KnownTopicConfigKeys()) {
    keys.push_back(k.key);
    EXPECT_TRUE(IsKnownTopicConfigKey(k.key));
    EXPECT_FALSE(k.help.empty()) << k.key;
    // Setting each key to its documented default changes nothing.
    absl::StatusOr<TopicConfig> c = ParseTopicConfig({{k.key, k.default_value}});
    ASSERT_TRUE(c.ok()) << k.key << ": " << c.status();
    const TopicConfig d;
    EXPECT_EQ(c->retention_ms, d.retention_ms) << k.key;
    EXPECT_EQ(c->retention_bytes, d.retention_bytes) << k.key;
    EXPECT_EQ(c->cleanup_delete, d.cleanup_delete) << k.key;
    EXPECT_EQ(c->cleanup_compact, d.cleanup_compact) << k.key;
    EXPECT_EQ(c->max_message_bytes, d.max_message_bytes) << k.key;
    EXPECT_EQ(c->min_insync_replicas, d.min_insync_replicas) << k.key;
    EXPECT_EQ(c->unclean_leader_election_enable, d.unclean_leader_election_enable) << k.key;
    EXPECT_EQ(c->delete_retention_ms, d.delete_retention_ms) << k.key;
    EXPECT_EQ(c->min_compaction_lag_ms, d.min_compaction_lag_ms) << k.key;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"cleanup.policy", "delete.retention.ms",
                                            "max.message.bytes", "min.compaction.lag.ms",
                                            "min.insync.replicas", "retention.bytes",
                                            "retention.ms", "unclean.leader.election.enable"}));
  EXPECT_FALSE(IsKnownTopicConfigKey("segment.ms"));
}

TEST(KnownTopicConfigKeysTest, DefaultsAsPrinted) {
  std::map<std::string, std::string> defaults;
  for (const TopicConfigKey& k : KnownTopicConfigKeys()) defaults[k.key] = k.default_value;
  EXPECT_EQ(defaults, (std::map<std::string, std::string>{
                          {"cleanup.policy", "delete"},
                          {"delete.retention.ms", "86400000"},
                          {"max.message.bytes", "1048576"},
                          {"min.compaction.lag.ms", "0"},
                          {"min.insync.replicas", "1"},
                          {"retention.bytes", "-1"},
                          {"retention.ms", "604800000"},
                          {"unclean.leader.election.enable", "false"},
                      }));
}

}  // namespace
}  // namespace runnel
