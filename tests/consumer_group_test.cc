// Consumer groups against a real coordinator and broker (issue 5):
//
// - three `runnel consume --group` processes split a 6-partition topic: each
//   partition read by exactly one of them, every record exactly once; after
//   their commits `group describe` shows no lag; kill -9 one of them and its
//   partitions move to the others after the session timeout, which go on
//   from the committed offsets (nothing read twice, nothing skipped); once
//   they leave, the lag `group describe` shows is exactly what was produced
//   since the last commit;
// - with the cooperative-sticky assignor, a member joining a stable group
//   makes the others revoke only the partitions that move to it (checked
//   with the C++ client's rebalance listener, in process);
// - a zombie (a member removed after its session timeout) cannot commit;
// - commits carry application metadata.
#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/consumer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/groups.grpc.pb.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"
#include "tests/harness/process.h"

namespace runnel::testing {
namespace {

constexpr int kPartitions = 6;
constexpr char kTopic[] = "events";

// "k<i>=v<i>" lines for records first..first+count-1.
std::string Records(int first, int count) {
  std::string s;
  for (int i = first; i < first + count; ++i) absl::StrAppend(&s, "k", i, "=v", i, "\n");
  return s;
}

void Produce(TestCluster& cluster, int first, int count) {
  CommandResult r =
      Cli(cluster.bootstrap(), {"produce", kTopic, "--key-separator=="}, Records(first, count));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// `runnel group describe` parsed: the group line's fields and, per
// partition, its Committed/LogEnd/Lag/Member fields.
struct Described {
  std::map<std::string, std::string> group;
  std::map<int32_t, std::map<std::string, std::string>> partitions;
};

std::map<std::string, std::string> Fields(absl::string_view line) {
  std::map<std::string, std::string> f;
  for (absl::string_view part : absl::StrSplit(line, '\t', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits(": ", 1));
    f[kv.first] = kv.second;
  }
  return f;
}

// `group describe` of `group`. Polled by WaitFor too, before the group
// exists (members still joining): so a failure is only an error where the
// caller says it must exist.
Described Describe(TestCluster& cluster, const std::string& group, bool must_exist = true) {
  CommandResult r = Cli(cluster.bootstrap(), {"group", "describe", group});
  if (must_exist) EXPECT_EQ(r.exit_code, 0) << r.err;
  Described d;
  if (r.exit_code != 0) return d;
  for (const std::string& line : Lines(r.out)) {
    if (absl::StartsWith(line, "Group: ")) d.group = Fields(line);
    if (absl::StartsWith(line, "\tPartition: ")) {
      std::map<std::string, std::string> f = Fields(line);
      const std::string tp = f["Partition"];  // "events-3"
      int32_t p = -1;
      EXPECT_TRUE(absl::SimpleAtoi(tp.substr(tp.rfind('-') + 1), &p)) << line;
      d.partitions[p] = f;
    }
  }
  return d;
}

int64_t Num(const std::map<std::string, std::string>& f, const std::string& key) {
  int64_t v = -1;
  auto it = f.find(key);
  if (it == f.end() || !absl::SimpleAtoi(it->second, &v)) return -1;
  return v;
}

// Polls `done` every 100 ms for up to `timeout`.
template <typename F>
bool WaitFor(F done, absl::Duration timeout) {
  for (absl::Time end = absl::Now() + timeout; absl::Now() < end;
       absl::SleepFor(absl::Milliseconds(100))) {
    if (done()) return true;
  }
  return done();
}

class CliConsumer {
 public:
  CliConsumer(TestCluster& cluster, const std::string& name) : name_(name) {
    process_.Start(
        BinaryPath("client/cli/runnel"),
        {"consume", kTopic, "--group=g", "--from-beginning", "--print-offset", "--print-key",
         "--session-timeout-ms=2000", "--client-id=" + name, "--bootstrap=" + cluster.bootstrap()},
        "consumer-" + name);
  }
  std::vector<ConsumedLine> Read() const { return ParseConsumed(process_.Stdout()); }
  Process& process() { return process_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Process process_;
};

// Every (partition, offset) read by `consumers`, with how many times.
std::map<std::pair<int32_t, int64_t>, int> ReadCounts(const std::vector<CliConsumer*>& consumers) {
  std::map<std::pair<int32_t, int64_t>, int> counts;
  for (const CliConsumer* c : consumers) {
    for (const ConsumedLine& l : c->Read()) ++counts[{l.partition, l.offset}];
  }
  return counts;
}

// Checks that `counts` holds every offset below each partition's end exactly
// once and that the ends add up to `total`.
void ExpectExactlyOnce(const std::map<std::pair<int32_t, int64_t>, int>& counts, int total) {
  std::map<int32_t, int64_t> next;
  for (const auto& [where, n] : counts) {
    EXPECT_EQ(n, 1) << "partition " << where.first << " offset " << where.second << " read " << n
                    << " times";
    EXPECT_EQ(where.second, next[where.first])
        << "partition " << where.first << ": offsets skipped before " << where.second;
    next[where.first] = where.second + 1;
  }
  int64_t sum = 0;
  for (const auto& [p, end] : next) sum += end;
  EXPECT_EQ(sum, total);
}

TEST(ConsumerGroupTest, CliMembersSplitPartitionsSurviveKill9AndReportLag) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", kTopic, "--partitions=6"}).exit_code, 0);

  CliConsumer w1(cluster, "w1"), w2(cluster, "w2"), w3(cluster, "w3");
  const std::vector<CliConsumer*> all = {&w1, &w2, &w3};
  ASSERT_TRUE(WaitFor(
      [&] {
        Described d = Describe(cluster, "g", /*must_exist=*/false);
        return d.group["State"] == "stable" && d.group["Members"] == "3";
      },
      absl::Seconds(30)))
      << Cli(cluster.bootstrap(), {"group", "describe", "g"}).out;

  Produce(cluster, 0, 600);
  ASSERT_TRUE(WaitFor([&] { return ReadCounts(all).size() >= 600; }, absl::Seconds(30)))
      << "read " << ReadCounts(all).size() << " of 600";
  ExpectExactlyOnce(ReadCounts(all), 600);
  // Each partition was read by exactly one member, and each member read some.
  std::map<int32_t, std::set<std::string>> readers;
  for (CliConsumer* c : all) {
    std::set<int32_t> mine;
    for (const ConsumedLine& l : c->Read()) {
      readers[l.partition].insert(c->name());
      mine.insert(l.partition);
    }
    EXPECT_FALSE(mine.empty()) << c->name() << " read nothing";
  }
  for (const auto& [p, names] : readers) EXPECT_EQ(names.size(), 1u) << "partition " << p;

  // The CLI commits what it printed every second: no lag left.
  ASSERT_TRUE(WaitFor(
      [&] {
        Described d = Describe(cluster, "g");
        int64_t lag = 0, end = 0;
        for (const auto& [p, f] : d.partitions) {
          lag += Num(f, "Lag");
          end += Num(f, "LogEnd");
        }
        return d.partitions.size() == kPartitions && lag == 0 && end == 600;
      },
      absl::Seconds(15)));

  // kill -9 one member: after its 2 s session its partitions move to the
  // others, which start from the committed offsets.
  std::set<int32_t> w1_partitions;
  for (const ConsumedLine& l : w1.Read()) w1_partitions.insert(l.partition);
  w1.process().Kill();
  Produce(cluster, 600, 300);
  ASSERT_TRUE(WaitFor([&] { return ReadCounts(all).size() >= 900; }, absl::Seconds(30)))
      << "read " << ReadCounts(all).size() << " of 900";
  ExpectExactlyOnce(ReadCounts(all), 900);
  for (int32_t p : w1_partitions) {
    EXPECT_NE(readers[p].count("w1"), 0u);
    bool taken_over = false;
    for (CliConsumer* c : {&w2, &w3}) {
      for (const ConsumedLine& l : c->Read()) taken_over |= l.partition == p;
    }
    EXPECT_TRUE(taken_over) << "partition " << p << " of the killed member was not taken over";
  }

  // The survivors leave cleanly (commit, then leave); what is produced next
  // is exactly the lag.
  ASSERT_TRUE(WaitFor(
      [&] {
        int64_t lag = 0;
        for (const auto& [p, f] : Describe(cluster, "g").partitions) lag += Num(f, "Lag");
        return lag == 0;
      },
      absl::Seconds(15)));
  EXPECT_EQ(w2.process().Terminate(), 0) << w2.process().Stderr();
  EXPECT_EQ(w3.process().Terminate(), 0) << w3.process().Stderr();
  Described before = Describe(cluster, "g");
  EXPECT_EQ(before.group["State"], "empty");
  Produce(cluster, 900, 120);
  Described after = Describe(cluster, "g");
  int64_t total_lag = 0;
  for (const auto& [p, f] : after.partitions) {
    const int64_t committed = Num(f, "Committed"), end = Num(f, "LogEnd"), lag = Num(f, "Lag");
    EXPECT_EQ(committed, Num(before.partitions[p], "LogEnd")) << "partition " << p;
    EXPECT_EQ(lag, end - committed) << "partition " << p;
    total_lag += lag;
  }
  EXPECT_EQ(total_lag, 120);
}

// One in-process group member on its own thread, recording what the
// rebalance listener says and what it owns after each Poll.
class Member {
 public:
  Member(const std::string& bootstrap, const std::string& name) {
    client::ConsumerOptions o;
    o.client.bootstrap = bootstrap;
    o.client.client_id = name;
    o.group_id = "coop";
    o.session_timeout = absl::Seconds(3);
    o.auto_offset_reset = client::OffsetReset::kEarliest;
    consumer_ = std::make_unique<client::Consumer>(o);
    client::RebalanceListener listener;
    listener.on_partitions_revoked = [this](const std::vector<client::TopicPartition>& tps) {
      absl::MutexLock lock(&mu_);
      for (const auto& tp : tps) revoked_.insert(tp.partition);
    };
    listener.on_partitions_assigned = [this](const std::vector<client::TopicPartition>& tps) {
      absl::MutexLock lock(&mu_);
      for (const auto& tp : tps) assigned_.insert(tp.partition);
    };
    EXPECT_TRUE(consumer_->Subscribe({kTopic}, listener).ok());
    thread_ = std::thread([this] {
      while (!stop_) {
        consumer_->Poll(absl::Milliseconds(100)).IgnoreError();
        std::set<int32_t> owned;
        for (const auto& tp : consumer_->assignment()) owned.insert(tp.partition);
        absl::MutexLock lock(&mu_);
        owned_ = owned;
      }
      consumer_->Close().IgnoreError();
    });
  }
  ~Member() {
    stop_ = true;
    thread_.join();
  }
  std::set<int32_t> owned() {
    absl::MutexLock lock(&mu_);
    return owned_;
  }
  std::set<int32_t> revoked() {
    absl::MutexLock lock(&mu_);
    return revoked_;
  }
  std::set<int32_t> assigned() {
    absl::MutexLock lock(&mu_);
    return assigned_;
  }
  void ClearEvents() {
    absl::MutexLock lock(&mu_);
    revoked_.clear();
    assigned_.clear();
  }

 private:
  std::unique_ptr<client::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::set<int32_t> owned_ ABSL_GUARDED_BY(mu_);
  std::set<int32_t> revoked_ ABSL_GUARDED_BY(mu_);
  std::set<int32_t> assigned_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

TEST(ConsumerGroupTest, CooperativeJoinRevokesOnlyThePartitionsThatMove) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", kTopic, "--partitions=6"}).exit_code, 0);
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(std::make_unique<Member>(cluster.bootstrap(), absl::StrCat("m", i)));
  }
  auto owned_by = [&members] {
    std::vector<std::set<int32_t>> owned;
    for (auto& m : members) owned.push_back(m->owned());
    return owned;
  };
  auto settled = [&](size_t n) {
    std::vector<std::set<int32_t>> owned = owned_by();
    std::set<int32_t> all;
    size_t total = 0;
    for (const auto& s : owned) {
      if (s.empty()) return false;
      total += s.size();
      all.insert(s.begin(), s.end());
    }
    return owned.size() == n && total == kPartitions && all.size() == kPartitions &&
           Describe(cluster, "coop", /*must_exist=*/false).group["State"] == "stable";
  };
  ASSERT_TRUE(WaitFor([&] { return settled(3); }, absl::Seconds(30)));
  const std::vector<std::set<int32_t>> before = owned_by();
  for (auto& m : members) m->ClearEvents();

  members.push_back(std::make_unique<Member>(cluster.bootstrap(), "m3"));
  ASSERT_TRUE(WaitFor([&] { return settled(4); }, absl::Seconds(30)));
  const std::vector<std::set<int32_t>> after = owned_by();

  std::set<int32_t> moved;
  for (int i = 0; i < 3; ++i) {
    std::set<int32_t> lost;
    for (int32_t p : before[i]) {
      if (after[i].count(p) == 0) lost.insert(p);
    }
    EXPECT_EQ(members[i]->revoked(), lost) << "member " << i << " revoked more than it gave up";
    EXPECT_TRUE(members[i]->assigned().empty()) << "member " << i << " was assigned anew";
    EXPECT_FALSE(after[i].empty()) << "member " << i << " stopped consuming entirely";
    moved.insert(lost.begin(), lost.end());
  }
  EXPECT_EQ(members[3]->assigned(), after[3]);
  EXPECT_EQ(moved, after[3]) << "the new member got exactly what the others gave up";
  // 6 partitions over 4 members: 2,2,1,1; the sticky assignor moves one.
  EXPECT_EQ(moved.size(), 1u);
}

TEST(ConsumerGroupTest, ZombieCommitIsRefused) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", kTopic, "--partitions=6"}).exit_code, 0);
  auto stub = runnel::v1::Groups::NewStub(
      grpc::CreateChannel(cluster.bootstrap(), grpc::InsecureChannelCredentials()));

  // Heartbeats as `member` until it owns what it is assigned (or 10 s).
  auto join = [&stub](std::string member, runnel::v1::GroupHeartbeatResponse* out) {
    runnel::v1::GroupHeartbeatRequest req;
    req.set_group_id("z");
    req.set_member_id(member);
    req.add_subscribed_topics(kTopic);
    req.set_session_timeout_ms(1000);
    for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;
         absl::SleepFor(absl::Milliseconds(100))) {
      grpc::ClientContext ctx;
      ASSERT_TRUE(stub->GroupHeartbeat(&ctx, req, out).ok());
      ASSERT_EQ(out->error_code(), runnel::v1::ERROR_CODE_NONE) << out->error_message();
      req.set_member_id(out->member_id());
      *req.mutable_owned_partitions() = out->assignment();
      if (out->assignment_size() > 0) return;
    }
    FAIL() << "no assignment";
  };
  runnel::v1::GroupHeartbeatResponse zombie;
  join("", &zombie);
  ASSERT_EQ(zombie.assignment(0).partitions_size(), kPartitions);
  // The zombie stops heartbeating; a new member takes over after its session.
  absl::SleepFor(absl::Milliseconds(1500));
  runnel::v1::GroupHeartbeatResponse live;
  join("", &live);
  ASSERT_NE(live.member_id(), zombie.member_id());

  auto commit = [&stub](const runnel::v1::GroupHeartbeatResponse& as, int64_t offset) {
    runnel::v1::CommitOffsetsRequest req;
    req.set_group_id("z");
    req.set_member_id(as.member_id());
    req.set_generation(as.generation());
    runnel::v1::PartitionOffset* o = req.add_offsets();
    o->set_topic(kTopic);
    o->set_partition(0);
    o->set_offset(offset);
    runnel::v1::CommitOffsetsResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub->CommitOffsets(&ctx, req, &resp).ok());
    return resp.results_size() == 1 ? resp.results(0).error_code() : runnel::v1::ERROR_CODE_UNKNOWN;
  };
  EXPECT_EQ(commit(zombie, 42), runnel::v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  EXPECT_EQ(commit(live, 7), runnel::v1::ERROR_CODE_NONE);
  runnel::v1::FetchOffsetsRequest fetch;
  fetch.set_group_id("z");
  runnel::v1::FetchOffsetsResponse offsets;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->FetchOffsets(&ctx, fetch, &offsets).ok());
  ASSERT_EQ(offsets.offsets_size(), 1);
  EXPECT_EQ(offsets.offsets(0).offset(), 7) << "the zombie's commit must not have landed";
}

TEST(ConsumerGroupTest, CommitsCarryMetadata) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", kTopic, "--partitions=6"}).exit_code, 0);
  client::ConsumerOptions o;
  o.client.bootstrap = cluster.bootstrap();
  o.group_id = "meta";
  o.enable_auto_commit = false;
  client::Consumer consumer(o);
  ASSERT_TRUE(consumer.Subscribe({kTopic}).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        consumer.Poll(absl::Milliseconds(100)).IgnoreError();
        return consumer.assignment().size() == kPartitions;
      },
      absl::Seconds(20)));
  ASSERT_TRUE(consumer.CommitSync({{{kTopic, 2}, {0, "snapshot-17"}}}).ok());

  auto stub = runnel::v1::Groups::NewStub(
      grpc::CreateChannel(cluster.bootstrap(), grpc::InsecureChannelCredentials()));
  runnel::v1::FetchOffsetsRequest fetch;
  fetch.set_group_id("meta");
  runnel::v1::FetchOffsetsResponse offsets;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->FetchOffsets(&ctx, fetch, &offsets).ok());
  ASSERT_EQ(offsets.offsets_size(), 1);
  EXPECT_EQ(offsets.offsets(0).partition(), 2);
  EXPECT_EQ(offsets.offsets(0).offset(), 0);
  EXPECT_EQ(offsets.offsets(0).metadata(), "snapshot-17");
}

}  // namespace
}  // namespace runnel::testing
