// The Consumer as a consumer group member, against FakeCluster's fake
// Groups service (client/testing/fake_groups.h).
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;
using Partitions = std::vector<TopicPartition>;

ConsumerOptions GroupOptions(const FakeCluster& cluster, const std::string& group = "g") {
  ConsumerOptions o;
  o.client = cluster.Options();
  o.fetch_max_wait = absl::Milliseconds(20);
  o.group_id = group;
  o.auto_offset_reset = OffsetReset::kEarliest;
  return o;
}

// Every listener call, in order, e.g. "assigned t-0,t-1".
struct Events {
  std::vector<std::string> log;
  Partitions revoked, assigned, lost;

  static std::string Join(const Partitions& ps) {
    std::string out;
    for (const TopicPartition& tp : ps) out += (out.empty() ? "" : ",") + ToString(tp);
    return out;
  }
  RebalanceListener Listener(bool with_lost = true) {
    RebalanceListener l;
    l.on_partitions_revoked = [this](const Partitions& ps) {
      log.push_back("revoked " + Join(ps));
      revoked.insert(revoked.end(), ps.begin(), ps.end());
    };
    l.on_partitions_assigned = [this](const Partitions& ps) {
      log.push_back("assigned " + Join(ps));
      assigned.insert(assigned.end(), ps.begin(), ps.end());
    };
    if (with_lost) {
      l.on_partitions_lost = [this](const Partitions& ps) {
        log.push_back("lost " + Join(ps));
        lost.insert(lost.end(), ps.begin(), ps.end());
      };
    }
    return l;
  }
};

// Polls (short slices) until `done` or 5 s; returns every record seen.
template <typename Done>
std::vector<ConsumerRecord> PollUntil(Consumer& consumer, Done done) {
  std::vector<ConsumerRecord> all;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done(all) && absl::Now() < deadline) {
    absl::StatusOr<std::vector<ConsumerRecord>> got = consumer.Poll(absl::Milliseconds(20));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) break;
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

std::vector<ConsumerRecord> PollRecords(Consumer& consumer, size_t n) {
  return PollUntil(consumer,
                   [n](const std::vector<ConsumerRecord>& all) { return all.size() >= n; });
}

std::vector<ConsumerRecord> PollOwning(Consumer& consumer, size_t partitions) {
  return PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) {
    return consumer.assignment().size() == partitions;
  });
}

std::map<TopicPartition, int64_t> Offsets(
    std::initializer_list<std::pair<TopicPartition, int64_t>> l) {
  return std::map<TopicPartition, int64_t>(l.begin(), l.end());
}

TEST(ConsumerGroupTest, ALoneMemberGetsEveryPartitionFromTheReset) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 3);
  cluster.Append("t", 0, {"a", "b"});
  cluster.Append("t", 2, {"c"});
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  EXPECT_FALSE(consumer.member_id().empty());
  EXPECT_GE(consumer.generation(), 1);
  EXPECT_EQ(consumer.subscription(), std::vector<std::string>{"t"});
  std::vector<ConsumerRecord> records = PollRecords(consumer, 3);
  EXPECT_EQ(records.size(), 3u);
  EXPECT_EQ(consumer.assignment(), (Partitions{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(events.log, std::vector<std::string>{"assigned t-0,t-1,t-2"});
  // The coordinator hears what the member owns.
  const std::string member = consumer.member_id();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (cluster.groups().Owned("g", member).size() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(cluster.groups().Owned("g", member).size(), 3u);
}

TEST(ConsumerGroupTest, LatestResetSkipsOldRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"old"});
  ConsumerOptions options = GroupOptions(cluster);
  options.auto_offset_reset = OffsetReset::kLatest;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  PollOwning(consumer, 1);
  EXPECT_EQ(*consumer.Position({"t", 0}), 1);
  cluster.Append("t", 0, {"new"});
  std::vector<ConsumerRecord> records = PollRecords(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "new");
}

TEST(ConsumerGroupTest, StartsAtTheCommittedOffsetAndCommitsOnClose) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"r0", "r1", "r2", "r3"});
  Admin admin(cluster.Options());
  ASSERT_TRUE(admin.AlterGroupOffsets("g", Offsets({{{"t", 0}, 2}})).ok());
  {
    Consumer consumer(GroupOptions(cluster));
    ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
    std::vector<ConsumerRecord> records = PollRecords(consumer, 2);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].offset, 2);
    EXPECT_EQ(records[0].value, "r2");
    ASSERT_TRUE(consumer.Close().ok());
    EXPECT_EQ(consumer.Poll(absl::ZeroDuration()).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // Close committed the positions and left at once.
  EXPECT_EQ(cluster.groups().Offsets("g"), Offsets({{{"t", 0}, 4}, {{"t", 1}, 0}}));
  EXPECT_TRUE(cluster.groups().Members("g").empty());
}

TEST(ConsumerGroupTest, AutoCommitsEveryIntervalFromPoll) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"});
  ConsumerOptions options = GroupOptions(cluster);
  options.auto_commit_interval = absl::Milliseconds(50);
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  ASSERT_EQ(PollRecords(consumer, 2).size(), 2u);
  // Later polls commit what earlier ones returned.
  PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) {
    return cluster.groups().Offsets("g") == Offsets({{{"t", 0}, 2}});
  });
  EXPECT_EQ(cluster.groups().Offsets("g"), Offsets({{{"t", 0}, 2}}));
}

TEST(ConsumerGroupTest, WithoutAutoCommitNothingIsCommittedOnClose) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a"});
  ConsumerOptions options = GroupOptions(cluster);
  options.enable_auto_commit = false;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  ASSERT_EQ(PollRecords(consumer, 1).size(), 1u);
  ASSERT_TRUE(consumer.Close().ok());
  EXPECT_TRUE(cluster.groups().Offsets("g").empty());
}

// Two members split a topic; the second's arrival moves only half the
// partitions, each revoked (with its offsets committed) before its new owner
// starts it, so every record is read exactly once and no partition is ever
// owned by both.
TEST(ConsumerGroupTest, ASecondMemberTakesOverOnlyTheMovedPartitions) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 6);
  for (int p = 0; p < 6; ++p) cluster.Append("t", p, {"p" + std::to_string(p) + "-a"});
  Events a_events;
  Consumer a(GroupOptions(cluster));
  ASSERT_TRUE(a.Subscribe({"t"}, a_events.Listener()).ok());
  std::vector<ConsumerRecord> read = PollRecords(a, 6);
  ASSERT_EQ(read.size(), 6u);

  Events b_events;
  Consumer b(GroupOptions(cluster));
  ASSERT_TRUE(b.Subscribe({"t"}, b_events.Listener()).ok());
  for (int p = 0; p < 6; ++p) cluster.Append("t", p, {"p" + std::to_string(p) + "-b"});
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((read.size() < 12 || a.assignment().size() != 3 || b.assignment().size() != 3) &&
         absl::Now() < deadline) {
    for (Consumer* c : {&a, &b}) {
      absl::StatusOr<std::vector<ConsumerRecord>> got = c->Poll(absl::Milliseconds(10));
      ASSERT_TRUE(got.ok()) << got.status();
      read.insert(read.end(), got->begin(), got->end());
      Partitions ours = a.assignment(), theirs = b.assignment();
      Partitions both;
      std::set_intersection(ours.begin(), ours.end(), theirs.begin(), theirs.end(),
                            std::back_inserter(both));
      ASSERT_TRUE(both.empty()) << Events::Join(both) << " owned twice";
    }
  }
  // Round robin over members ordered by id: a keeps the even partitions.
  EXPECT_EQ(a.assignment(), (Partitions{{"t", 0}, {"t", 2}, {"t", 4}}));
  EXPECT_EQ(b.assignment(), (Partitions{{"t", 1}, {"t", 3}, {"t", 5}}));
  EXPECT_EQ(a_events.revoked, (Partitions{{"t", 1}, {"t", 3}, {"t", 5}}));
  EXPECT_EQ(b_events.assigned, (Partitions{{"t", 1}, {"t", 3}, {"t", 5}}));
  std::multiset<std::string> values;
  for (const ConsumerRecord& r : read) values.insert(*r.value);
  EXPECT_EQ(values.size(), 12u);
  EXPECT_EQ(std::set<std::string>(values.begin(), values.end()).size(), 12u) << "a record twice";
}

TEST(ConsumerGroupTest, TheRevokeCallbackCanCommitByHand) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"a"});
  cluster.Append("t", 1, {"b"});
  ConsumerOptions options = GroupOptions(cluster);
  options.enable_auto_commit = false;
  absl::Status commit;  // outlives `a`, whose Close runs the listener
  RebalanceListener listener;
  Consumer a(options);
  listener.on_partitions_revoked = [&](const Partitions& ps) {
    std::map<TopicPartition, int64_t> offsets;
    for (const TopicPartition& tp : ps) offsets[tp] = *a.Position(tp);
    commit = a.CommitSync(offsets);
  };
  ASSERT_TRUE(a.Subscribe({"t"}, listener).ok());
  ASSERT_EQ(PollRecords(a, 2).size(), 2u);
  Consumer b(options);
  ASSERT_TRUE(b.Subscribe({"t"}).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (b.assignment().empty() && absl::Now() < deadline) {
    ASSERT_TRUE(a.Poll(absl::Milliseconds(10)).ok());
    ASSERT_TRUE(b.Poll(absl::Milliseconds(10)).ok());
  }
  EXPECT_TRUE(commit.ok()) << commit;
  EXPECT_EQ(cluster.groups().Offsets("g"), Offsets({{{"t", 1}, 1}}));
  EXPECT_EQ(*b.Position({"t", 1}), 1);  // b starts after what a read
}

TEST(ConsumerGroupTest, ARemovedMemberLosesItsPartitionsAndRejoins) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"a"});
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  ASSERT_EQ(PollRecords(consumer, 1).size(), 1u);
  ASSERT_EQ(consumer.assignment().size(), 2u);
  const std::string first = consumer.member_id();
  cluster.groups().RemoveMember("g", first);  // as if its session lapsed
  // Nothing was committed, so the record is read again.
  std::vector<ConsumerRecord> again =
      PollUntil(consumer, [&](const std::vector<ConsumerRecord>& all) {
        return !events.lost.empty() && consumer.assignment().size() == 2 && !all.empty();
      });
  EXPECT_EQ(events.lost, (Partitions{{"t", 0}, {"t", 1}}));
  EXPECT_TRUE(events.revoked.empty());  // lost, not revoked: nothing was committed
  EXPECT_NE(consumer.member_id(), first);
  EXPECT_EQ(events.log,
            (std::vector<std::string>{"assigned t-0,t-1", "lost t-0,t-1", "assigned t-0,t-1"}));
  EXPECT_TRUE(cluster.groups().Offsets("g").empty());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].value, "a");
}

TEST(ConsumerGroupTest, LostFallsBackToTheRevokeCallback) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener(/*with_lost=*/false)).ok());
  PollOwning(consumer, 1);
  cluster.groups().RemoveMember("g", consumer.member_id());
  PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) { return !events.revoked.empty(); });
  EXPECT_EQ(events.revoked, (Partitions{{"t", 0}}));
}

TEST(ConsumerGroupTest, AZombiesCommitIsRefusedAndItRejoins) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a"});
  ConsumerOptions options = GroupOptions(cluster);
  options.enable_auto_commit = false;
  Events events;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  ASSERT_EQ(PollRecords(consumer, 1).size(), 1u);
  cluster.groups().RemoveMember("g", consumer.member_id());
  absl::Status s = consumer.CommitSync();
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  EXPECT_NE(s.message().find("is not in group 'g'"), absl::string_view::npos) << s;
  EXPECT_TRUE(cluster.groups().Offsets("g").empty());
  PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) {
    return !events.lost.empty() && consumer.assignment().size() == 1;
  });
  EXPECT_EQ(events.lost, (Partitions{{"t", 0}}));
  EXPECT_TRUE(consumer.CommitSync().ok());
}

TEST(ConsumerGroupTest, CommitAsyncCallbacksRunInsideALaterPoll) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"});
  ConsumerOptions options = GroupOptions(cluster);
  options.enable_auto_commit = false;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  ASSERT_EQ(PollRecords(consumer, 2).size(), 2u);
  int calls = 0;
  absl::Status outcome = absl::UnknownError("not called");
  std::map<TopicPartition, int64_t> carried;
  consumer.CommitAsync([&](const absl::Status& s, const std::map<TopicPartition, int64_t>& o) {
    ++calls;
    outcome = s;
    carried = o;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(calls, 0);  // only ever on the caller's thread, inside a call
  ASSERT_TRUE(consumer.Poll(absl::Milliseconds(10)).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(outcome.ok()) << outcome;
  EXPECT_EQ(carried, Offsets({{{"t", 0}, 2}}));
  EXPECT_EQ(cluster.groups().Offsets("g"), Offsets({{{"t", 0}, 2}}));
  EXPECT_EQ(*consumer.Committed({{"t", 0}}), Offsets({{{"t", 0}, 2}}));

  // Nothing to send: the callback runs at once.
  consumer.CommitAsync({}, [&](const absl::Status& s, const std::map<TopicPartition, int64_t>&) {
    ++calls;
    outcome = s;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(outcome.ok());
}

TEST(ConsumerGroupTest, CommittingAPartitionNotOwnedIsRefused) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.CreateTopic("other", 1);
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  PollOwning(consumer, 1);
  absl::Status s = consumer.CommitSync(Offsets({{{"other", 0}, 5}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_NE(s.message().find("commit of other-0 refused"), absl::string_view::npos) << s;
}

TEST(ConsumerGroupTest, MisuseIsRefusedClearly) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions no_group = GroupOptions(cluster, "");
  Consumer plain(no_group);
  EXPECT_EQ(plain.Subscribe({"t"}).message(),
            "Subscribe needs a group id (ConsumerOptions::group_id)");
  EXPECT_EQ(plain.CommitSync().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(plain.Committed({{"t", 0}}).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(plain.Assign({{"t", 0, StartOffset::Earliest()}}).ok());

  Consumer bad_group(GroupOptions(cluster, "a b"));
  EXPECT_EQ(bad_group.Subscribe({"t"}).code(), absl::StatusCode::kInvalidArgument);
  Consumer consumer(GroupOptions(cluster));
  EXPECT_EQ(consumer.Subscribe({"bad topic"}).code(), absl::StatusCode::kInvalidArgument);
  ConsumerOptions odd = GroupOptions(cluster);
  odd.assignor = "sticky";
  EXPECT_EQ(Consumer(odd).Subscribe({"t"}).message(),
            "unknown assignor 'sticky': use range, roundrobin or cooperative-sticky");

  ASSERT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
  EXPECT_EQ(consumer.Subscribe({"t"}).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(consumer.Assign({}).ok());
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  EXPECT_EQ(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).code(),
            absl::StatusCode::kFailedPrecondition);

  // The group uses cooperative-sticky now; another assignor is refused by
  // the coordinator, at Subscribe.
  ConsumerOptions range = GroupOptions(cluster);
  range.assignor = "range";
  Consumer other(range);
  absl::Status s = other.Subscribe({"t"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("uses assignor cooperative-sticky"), absl::string_view::npos) << s;
}

TEST(ConsumerGroupTest, CallbacksMayNotPollOrClose) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Consumer consumer(GroupOptions(cluster));
  absl::Status poll, close, seek;
  RebalanceListener listener;
  listener.on_partitions_assigned = [&](const Partitions& ps) {
    poll = consumer.Poll(absl::ZeroDuration()).status();
    close = consumer.Close();
    seek = consumer.Seek(ps[0], 0);
  };
  ASSERT_TRUE(consumer.Subscribe({"t"}, listener).ok());
  PollOwning(consumer, 1);
  EXPECT_EQ(poll.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(poll.message(), "Poll cannot be called from a rebalance or commit callback");
  EXPECT_EQ(close.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(seek.ok()) << seek;
}

TEST(ConsumerGroupTest, PausedPartitionsAreNotFetched) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  PollOwning(consumer, 2);
  ASSERT_TRUE(consumer.Pause({{"t", 0}}).ok());
  EXPECT_EQ(consumer.paused(), (Partitions{{"t", 0}}));
  EXPECT_EQ(consumer.Pause({{"t", 7}}).code(), absl::StatusCode::kNotFound);
  cluster.Append("t", 0, {"held"});
  cluster.Append("t", 1, {"flows"});
  std::vector<ConsumerRecord> records = PollRecords(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "flows");
  absl::StatusOr<std::vector<ConsumerRecord>> none = consumer.Poll(absl::Milliseconds(50));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(consumer.Resume({{"t", 0}}).ok());
  records = PollRecords(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "held");
}

TEST(ConsumerGroupTest, PollNotCalledForMaxPollIntervalLeavesTheGroup) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions options = GroupOptions(cluster);
  options.max_poll_interval = absl::Milliseconds(200);
  Events events;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  PollOwning(consumer, 1);
  const std::string first = consumer.member_id();
  absl::SleepFor(absl::Milliseconds(800));  // "processing" too long
  EXPECT_TRUE(cluster.groups().Members("g").empty());
  PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) {
    return !events.lost.empty() && consumer.assignment().size() == 1;
  });
  EXPECT_EQ(events.lost, (Partitions{{"t", 0}}));
  EXPECT_NE(consumer.member_id(), first);
}

TEST(ConsumerGroupTest, TheHeartbeatThreadKeepsTheSessionBetweenPolls) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions options = GroupOptions(cluster);
  options.session_timeout = absl::Milliseconds(500);
  Events events;
  Consumer consumer(options);
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  PollOwning(consumer, 1);
  const std::string member = consumer.member_id();
  absl::SleepFor(absl::Milliseconds(1600));  // three session timeouts without Poll
  EXPECT_EQ(cluster.groups().Members("g"), std::vector<std::string>{member});
  ASSERT_TRUE(consumer.Poll(absl::Milliseconds(10)).ok());
  EXPECT_TRUE(events.lost.empty());
  EXPECT_EQ(consumer.member_id(), member);
}

TEST(ConsumerGroupTest, ACommittedOffsetOutOfTheLogIsReset) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a", "b"});
  Admin admin(cluster.Options());
  ASSERT_TRUE(admin.AlterGroupOffsets("g", Offsets({{{"t", 0}, 100}})).ok());
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  std::vector<ConsumerRecord> records = PollRecords(consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 0);
}

TEST(ConsumerGroupTest, PartitionsAddedToATopicAreConsumed) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  PollOwning(consumer, 1);
  cluster.AddPartitions("t", 2);
  cluster.Append("t", 1, {"new partition"});
  std::vector<ConsumerRecord> records = PollRecords(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].partition, 1);
  EXPECT_EQ(events.log, (std::vector<std::string>{"assigned t-0", "assigned t-1"}));
}

TEST(ConsumerGroupTest, ChangingTheSubscriptionMovesPartitions) {
  FakeCluster cluster(1);
  cluster.CreateTopic("a", 1);
  cluster.CreateTopic("b", 1);
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"a"}, events.Listener()).ok());
  PollOwning(consumer, 1);
  ASSERT_TRUE(consumer.Subscribe({"b", "a"}, events.Listener()).ok());
  EXPECT_EQ(consumer.subscription(), (std::vector<std::string>{"a", "b"}));
  PollOwning(consumer, 2);
  ASSERT_TRUE(consumer.Subscribe({"b"}, events.Listener()).ok());
  PollUntil(consumer, [&](const std::vector<ConsumerRecord>&) {
    return consumer.assignment() == Partitions{{"b", 0}};
  });
  EXPECT_EQ(events.log, (std::vector<std::string>{"assigned a-0", "assigned b-0", "revoked a-0"}));
}

TEST(ConsumerGroupTest, UnsubscribeRevokesAndLeaves) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.Append("t", 0, {"a"});
  Events events;
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}, events.Listener()).ok());
  ASSERT_EQ(PollRecords(consumer, 1).size(), 1u);
  ASSERT_TRUE(consumer.Unsubscribe().ok());
  EXPECT_EQ(events.log, (std::vector<std::string>{"assigned t-0", "revoked t-0"}));
  EXPECT_TRUE(consumer.assignment().empty());
  EXPECT_TRUE(consumer.subscription().empty());
  EXPECT_TRUE(cluster.groups().Members("g").empty());
  EXPECT_EQ(cluster.groups().Offsets("g"), Offsets({{{"t", 0}, 1}}));
  EXPECT_EQ(consumer.Poll(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Manual assignment works again.
  EXPECT_TRUE(consumer.Assign({{"t", 0, StartOffset::Earliest()}}).ok());
}

TEST(ConsumerGroupTest, HeartbeatsMoveToAnotherBrokerWhenTheirsIsDown) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 2);  // partition 1 is led by broker 2
  Consumer consumer(GroupOptions(cluster));
  ASSERT_TRUE(consumer.Subscribe({"t"}).ok());
  PollOwning(consumer, 2);
  const std::string member = consumer.member_id();
  cluster.SetBrokerDown(1, true);
  const int before = cluster.groups().heartbeats();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_GT(cluster.groups().heartbeats(), before + 3);
  EXPECT_EQ(cluster.groups().Members("g"), std::vector<std::string>{member});
  cluster.Append("t", 1, {"still here"});
  std::vector<ConsumerRecord> records = PollRecords(consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(consumer.member_id(), member);
}

TEST(ConsumerGroupTest, SubscribeFailsWhenNoBrokerAnswers) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ConsumerOptions options = GroupOptions(cluster);
  options.client.max_retries = 2;
  cluster.SetBrokerDown(1, true);
  Consumer consumer(options);
  absl::Status s = consumer.Subscribe({"t"});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("cannot join group 'g'"), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace runnel::client
