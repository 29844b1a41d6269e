#include "common/flags.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace runnel {
namespace {

class FlagSetTest : public ::testing::Test {
 protected:
  FlagSetTest() : flags_("prog", "prog [flags]") {
    flags_.String("data-dir", &dir_, "./data", "where data lives");
    flags_.Int("port", &port_, 9092, "port");
    flags_.Bool("sync", &sync_, false, "fsync");
    flags_.Repeated("config", &configs_, "K=V");
    unsetenv("RUNNEL_DATA_DIR");
    unsetenv("RUNNEL_PORT");
  }
  FlagSet flags_;
  std::string dir_;
  int64_t port_ = 0;
  bool sync_ = true;
  std::vector<std::string> configs_;
};

TEST_F(FlagSetTest, DefaultsApplyBeforeParse) {
  EXPECT_EQ(dir_, "./data");
  EXPECT_EQ(port_, 9092);
  EXPECT_FALSE(sync_);
}

TEST_F(FlagSetTest, ParsesFormsAndPositionals) {
  auto pos = flags_.Parse(std::vector<std::string>{"create", "--data-dir=/x", "--port", "7",
                                                   "--sync", "--config=a=b", "--config",
                                                   "c=d", "name", "--", "--literal"});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_EQ(*pos, (std::vector<std::string>{"create", "name", "--literal"}));
  EXPECT_EQ(dir_, "/x");
  EXPECT_EQ(port_, 7);
  EXPECT_TRUE(sync_);
  EXPECT_EQ(configs_, (std::vector<std::string>{"a=b", "c=d"}));
}

TEST_F(FlagSetTest, NegatedBool) {
  ASSERT_TRUE(flags_.Parse(std::vector<std::string>{"--sync", "--no-sync"}).ok());
  EXPECT_FALSE(sync_);
}

TEST_F(FlagSetTest, EnvironmentFillsInButCommandLineWins) {
  setenv("RUNNEL_DATA_DIR", "/from-env", 1);
  setenv("RUNNEL_PORT", "11", 1);
  ASSERT_TRUE(flags_.Parse(std::vector<std::string>{"--port=12"}).ok());
  EXPECT_EQ(dir_, "/from-env");
  EXPECT_EQ(port_, 12);
  unsetenv("RUNNEL_DATA_DIR");
  unsetenv("RUNNEL_PORT");
}

TEST_F(FlagSetTest, BadEnvValueNamesTheVariable) {
  setenv("RUNNEL_PORT", "abc", 1);
  auto pos = flags_.Parse(std::vector<std::string>{});
  unsetenv("RUNNEL_PORT");
  ASSERT_FALSE(pos.ok());
  EXPECT_NE(pos.status().message().find("RUNNEL_PORT"), std::string::npos);
}

TEST_F(FlagSetTest, UnknownFlagAndBadValueAreErrors) {
  auto a = flags_.Parse(std::vector<std::string>{"--nope=1"});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "unknown flag --nope");
  auto b = flags_.Parse(std::vector<std::string>{"--port=x"});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "invalid value 'x' for --port");
  auto c = flags_.Parse(std::vector<std::string>{"--port"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "flag --port needs a value");
}

TEST_F(FlagSetTest, HelpListsEveryFlagWithDefaultAndEnv) {
  ASSERT_TRUE(flags_.Parse(std::vector<std::string>{"--help"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  std::string help = flags_.Help();
  EXPECT_NE(help.find("--data-dir=VALUE"), std::string::npos);
  EXPECT_NE(help.find("default: ./data; env: RUNNEL_DATA_DIR"), std::string::npos);
  EXPECT_NE(help.find("default: 9092; env: RUNNEL_PORT"), std::string::npos);
  EXPECT_NE(help.find("--config=VALUE"), std::string::npos);
}

TEST_F(FlagSetTest, LimitEnvToIgnoresOtherVariables) {
  flags_.LimitEnvTo({"data-dir"});
  setenv("RUNNEL_DATA_DIR", "/from-env", 1);
  setenv("RUNNEL_PORT", "11", 1);
  ASSERT_TRUE(flags_.Parse(std::vector<std::string>{}).ok());
  unsetenv("RUNNEL_DATA_DIR");
  unsetenv("RUNNEL_PORT");
  EXPECT_EQ(dir_, "/from-env");
  EXPECT_EQ(port_, 9092);
  EXPECT_EQ(flags_.Help().find("RUNNEL_PORT"), std::string::npos);
}

TEST(FlagSetEnvName, UpperCasesAndReplacesDashes) {
  EXPECT_EQ(FlagSet::EnvName("session-timeout-ms"), "RUNNEL_SESSION_TIMEOUT_MS");
}

TEST(ValidateHostPortTest, AcceptsHostsPortsAndBracketedIpv6) {
  for (const char* ok : {"127.0.0.1:9092", "localhost:1", "broker-1.example:65535", "[::1]:9092",
                         "0.0.0.0:0"}) {
    EXPECT_TRUE(ValidateHostPort("listen", ok, /*allow_port_zero=*/true).ok()) << ok;
  }
}

TEST(ValidateHostPortTest, RefusesWithTheFlagAndTheReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"localhost", "no port"},
      {":9092", "no host"},
      {"::1:9092", "needs brackets"},
      {"[::1:9092", "unclosed IPv6 bracket"},
      {"host:", "port must be"},
      {"host:65536", "port must be"},
      {"host:-1", "port must be"},
      {"host:9x", "port must be"},
      {"host:+80", "port must be"},
  };
  for (const auto& [value, why] : cases) {
    absl::Status s = ValidateHostPort("listen", value, true);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << value;
    EXPECT_NE(s.message().find("--listen '" + value + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
  EXPECT_TRUE(ValidateHostPort("coordinator", "h:0", /*allow_port_zero=*/true).ok());
  EXPECT_NE(ValidateHostPort("coordinator", "h:0", /*allow_port_zero=*/false).message().find(
                "port 0"),
            std::string::npos);
}

}  // namespace
}  // namespace runnel
