#include "client/cli/run.h"

#include <algorithm>
#include <fstream>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/cli/output.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "client/group_membership.h"
#include "client/list_offsets.h"
#include "client/metadata_cache.h"
#include "client/producer.h"

namespace runnel::client::cli {
namespace {

namespace v1 = runnel::v1;

// Longest consume waits in one Poll, so that SIGINT is noticed promptly.
constexpr absl::Duration kPollSlice = absl::Milliseconds(500);

// Checks an explicit --partition against the topic's metadata.
absl::Status CheckPartition(MetadataCache& metadata, const Command& c, int32_t* num_partitions) {
  absl::StatusOr<runnel::v1::TopicInfo> topic = metadata.Topic(c.topic);
  if (!topic.ok()) return topic.status();
  *num_partitions = topic->partitions_size();
  if (c.partition && *c.partition >= *num_partitions) {
    return PartitionOutOfRange(c.topic, *c.partition, *num_partitions);
  }
  return absl::OkStatus();
}

// Log end offsets of `partitions`, topic by topic: a topic whose offsets
// cannot be read (deleted, no leader) is left out, shown as unknown.
std::map<TopicPartition, int64_t> LogEnds(Admin& admin,
                                          const std::set<TopicPartition>& partitions) {
  std::map<std::string, std::vector<OffsetQuery>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back({tp});
  std::map<TopicPartition, int64_t> out;
  for (const auto& [topic, queries] : by_topic) {
    absl::StatusOr<std::map<TopicPartition, int64_t>> found = admin.ListOffsets(queries);
    if (found.ok()) out.insert(found->begin(), found->end());
  }
  return out;
}

int RunGroupDescribe(const Command& c, Admin& admin, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::DescribeGroupResponse> group = admin.DescribeGroup(c.group);
  if (!group.ok()) return Fail(err, group.status());
  // Every partition of the topics the group reads or has offsets for.
  std::set<TopicPartition> partitions;
  std::set<std::string> topics;
  for (const v1::PartitionOffset& o : group->offsets()) {
    partitions.insert({o.topic(), o.partition()});
    topics.insert(o.topic());
  }
  for (const v1::GroupMember& m : group->members()) {
    topics.insert(m.subscribed_topics().begin(), m.subscribed_topics().end());
    for (const auto* lists : {&m.assignment(), &m.owned_partitions()}) {
      std::set<TopicPartition> listed = TopicPartitionsFromProto(*lists);
      partitions.insert(listed.begin(), listed.end());
    }
  }
  for (const std::string& topic : topics) {
    absl::StatusOr<v1::TopicInfo> info = admin.metadata().Topic(topic);
    if (!info.ok()) continue;  // deleted: its offsets still show
    for (const v1::PartitionInfo& p : info->partitions()) partitions.insert({topic, p.partition()});
  }
  out << FormatGroup(*group, partitions, LogEnds(admin, partitions));
  return 0;
}

// The offsets `group reset-offsets` sets, resolved on the partitions' leaders.
absl::StatusOr<std::map<TopicPartition, int64_t>> ResetTargets(const Command& c, Admin& admin) {
  absl::StatusOr<v1::TopicInfo> topic = admin.metadata().Topic(c.topic);
  if (!topic.ok()) return topic.status();
  const int32_t count = topic->partitions_size();
  if (c.partition && *c.partition >= count) {
    return PartitionOutOfRange(c.topic, *c.partition, count);
  }
  std::vector<TopicPartition> partitions;
  for (int32_t p = 0; p < count; ++p) {
    if (!c.partition || *c.partition == p) partitions.push_back({c.topic, p});
  }
  auto list = [&](v1::OffsetSpec spec, int64_t timestamp_ms) {
    std::vector<OffsetQuery> queries;
    for (const TopicPartition& tp : partitions) queries.push_back({tp, spec, timestamp_ms});
    return admin.ListOffsets(queries);
  };
  switch (c.reset_to) {
    case ResetTo::kEarliest:
      return list(v1::OFFSET_SPEC_EARLIEST, 0);
    case ResetTo::kLatest:
      return list(v1::OFFSET_SPEC_LATEST, 0);
    case ResetTo::kTimestamp:
      return list(v1::OFFSET_SPEC_TIMESTAMP, c.reset_value);
    case ResetTo::kOffset:
      break;
  }
  absl::StatusOr<std::map<TopicPartition, int64_t>> starts = list(v1::OFFSET_SPEC_EARLIEST, 0);
  if (!starts.ok()) return starts.status();
  absl::StatusOr<std::map<TopicPartition, int64_t>> ends = list(v1::OFFSET_SPEC_LATEST, 0);
  if (!ends.ok()) return ends.status();
  std::map<TopicPartition, int64_t> out;
  for (const TopicPartition& tp : partitions) {
    const int64_t lo = (*starts)[tp];
    const int64_t hi = (*ends)[tp];
    if (c.reset_value < lo || c.reset_value > hi) {
      return absl::OutOfRangeError(absl::StrCat("offset ", c.reset_value, " is out of range for ",
                                                ToString(tp), ": valid offsets are ", lo, " to ",
                                                hi));
    }
    out[tp] = c.reset_value;
  }
  return out;
}

int RunGroupReset(const Command& c, Admin& admin, std::ostream& out, std::ostream& err) {
  if (c.dry_run) {
    // The coordinator refuses a reset under live members; say so now too.
    absl::StatusOr<v1::DescribeGroupResponse> group = admin.DescribeGroup(c.group);
    if (!group.ok() && group.status().code() != absl::StatusCode::kNotFound) {
      return Fail(err, group.status());
    }
    if (group.ok() && group->members_size() > 0) {
      return Fail(err, absl::FailedPreconditionError(
                           absl::StrCat("group '", c.group, "' has ", group->members_size(),
                                        " live member(s): stop its consumers first")));
    }
  }
  absl::StatusOr<std::map<TopicPartition, int64_t>> offsets = ResetTargets(c, admin);
  if (!offsets.ok()) return Fail(err, offsets.status());
  if (!c.dry_run) {
    if (absl::Status s = admin.AlterGroupOffsets(c.group, *offsets); !s.ok()) return Fail(err, s);
  }
  out << FormatOffsetsReset(c.group, *offsets, c.dry_run);
  return 0;
}

// partitions reassign: the partitions to move, from the flags or the plan
// file.
absl::StatusOr<std::vector<v1::PartitionReassignment>> ReassignmentsOf(const Command& c) {
  if (c.plan_file.empty()) {
    v1::PartitionReassignment r;
    r.set_topic(c.topic);
    r.set_partition(c.partition.value_or(0));
    r.mutable_target_replicas()->Add(c.replicas.begin(), c.replicas.end());
    return std::vector<v1::PartitionReassignment>{r};
  }
  std::ifstream file(c.plan_file);
  if (!file.is_open()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read --plan file '", c.plan_file, "'"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseReassignmentPlan(text.str());
}

int RunAdmin(const Command& c, const ClientOptions& options, std::ostream& out,
             std::ostream& err) {
  Admin admin(options);
  switch (c.kind) {
    case CommandKind::kTopicAlter: {
      auto grown = admin.CreatePartitions(c.topic, c.partitions);
      if (!grown.ok()) return Fail(err, grown.status());
      out << "altered topic '" << c.topic << "': partitions=" << grown->topic().partitions_size()
          << "\n";
      break;
    }
    case CommandKind::kGroupList: {
      auto groups = admin.ListGroups();
      if (!groups.ok()) return Fail(err, groups.status());
      out << FormatGroupList(*groups);
      break;
    }
    case CommandKind::kGroupDescribe:
      if (int code = RunGroupDescribe(c, admin, out, err); code != 0) return code;
      break;
    case CommandKind::kGroupResetOffsets:
      if (int code = RunGroupReset(c, admin, out, err); code != 0) return code;
      break;
    case CommandKind::kGroupDelete: {
      if (absl::Status s = admin.DeleteGroup(c.group); !s.ok()) return Fail(err, s);
      out << "deleted group '" << c.group << "'\n";
      break;
    }
    case CommandKind::kTopicCreate: {
      auto created = admin.CreateTopic(c.topic, c.partitions, c.replication_factor, c.configs);
      if (!created.ok()) return Fail(err, created.status());
      out << FormatTopicCreated(created->topic());
      break;
    }
    case CommandKind::kTopicList: {
      auto topics = admin.ListTopics();
      if (!topics.ok()) return Fail(err, topics.status());
      out << FormatTopicList(*topics);
      break;
    }
    case CommandKind::kTopicDescribe: {
      auto topic = admin.DescribeTopic(c.topic);
      if (!topic.ok()) return Fail(err, topic.status());
      out << FormatTopic(topic->topic());
      break;
    }
    case CommandKind::kTopicAlterConfig: {
      auto altered = admin.AlterTopicConfig(c.topic, c.configs, c.reset_configs);
      if (!altered.ok()) return Fail(err, altered.status());
      out << FormatTopicAltered(altered->topic(), c.configs, c.reset_configs);
      break;
    }
    case CommandKind::kTopicDelete: {
      auto deleted = admin.DeleteTopic(c.topic);
      if (!deleted.ok()) return Fail(err, deleted.status());
      out << "deleted topic '" << c.topic << "'\n";
      break;
    }
    case CommandKind::kClusterInfo: {
      auto cluster = admin.DescribeCluster();
      if (!cluster.ok()) return Fail(err, cluster.status());
      out << FormatCluster(*cluster);
      break;
    }
    case CommandKind::kPartitionsReassign: {
      auto reassignments = ReassignmentsOf(c);
      if (!reassignments.ok()) return Fail(err, reassignments.status());
      auto started = admin.ReassignPartitions(*reassignments, c.throttle_bytes);
      if (!started.ok()) return Fail(err, started.status());
      out << FormatReassignments(started->reassignments());
      break;
    }
    case CommandKind::kPartitionsReassignments: {
      auto moving = admin.ListReassignments();
      if (!moving.ok()) return Fail(err, moving.status());
      out << FormatReassignments(moving->reassignments());
      break;
    }
    case CommandKind::kClusterBalance:
    case CommandKind::kClusterDecommission: {
      std::vector<int32_t> drain;
      if (c.kind == CommandKind::kClusterDecommission) drain.push_back(c.broker);
      auto plan = admin.BalanceCluster(c.dry_run, drain, c.throttle_bytes);
      if (!plan.ok()) return Fail(err, plan.status());
      out << FormatBalancePlan(*plan, c.dry_run);
      break;
    }
    default:
      return Fail(err, absl::InternalError("not an admin command"));
  }
  out.flush();
  return 0;
}

// Delivery outcomes, counted from producer callbacks (which may one day run
// on another thread).
class Tally {
 public:
  DeliveryCallback Callback() {
    return [this](const absl::StatusOr<RecordMetadata>& r) {
      absl::MutexLock lock(&mu_);
      if (r.ok()) {
        ++delivered_;
      } else {
        ++failed_;
        if (first_error_.ok()) first_error_ = r.status();
      }
    };
  }
  int64_t delivered() const {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  int64_t failed() const {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  absl::Status first_error() const {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  mutable absl::Mutex mu_;
  int64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

int RunProduce(const Command& c, const ClientOptions& client, std::istream& in,
               std::ostream& err) {
  ProducerOptions options;
  options.client = client;
  options.acks = c.acks;
  auto metadata = std::make_shared<MetadataCache>(client);
  // Checked before reading any input, so that bad input consumes nothing.
  int32_t num_partitions = 0;
  if (absl::Status s = CheckPartition(*metadata, c, &num_partitions); !s.ok()) {
    return Fail(err, s);
  }
  Producer producer(options, metadata);
  Tally tally;
  std::string line;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    ProducerRecord record;
    record.topic = c.topic;
    record.partition = c.partition;
    size_t at = c.key_separator ? line.find(*c.key_separator) : std::string::npos;
    if (at == std::string::npos) {
      record.value = std::move(line);
    } else {
      record.key = line.substr(0, at);
      record.value = line.substr(at + c.key_separator->size());
    }
    if (absl::Status s = producer.Send(std::move(record), tally.Callback()); !s.ok()) {
      // Deliver what was accepted before reporting the bad line.
      producer.Flush().IgnoreError();
      return Fail(err, absl::Status(s.code(), absl::StrCat("line ", lines, ": ", s.message(), " (",
                                                           tally.delivered(),
                                                           " earlier records produced)")));
    }
  }
  absl::Status flushed = producer.Flush();
  if (tally.failed() > 0 || !flushed.ok()) {
    absl::Status first = tally.first_error().ok() ? flushed : tally.first_error();
    return Fail(err, absl::Status(first.code(),
                                  absl::StrCat("failed to produce ", tally.failed(), " of ", lines,
                                               " records: ", first.message())));
  }
  err << tally.delivered() << " records produced\n";
  err.flush();
  return 0;
}

// consume --group: how often printed records' offsets are committed.
constexpr absl::Duration kGroupCommitInterval = absl::Seconds(1);

// Joins the group (--group) or assigns the partitions to read.
absl::Status StartConsumer(const Command& c, Consumer& consumer) {
  int32_t num_partitions = 0;
  if (absl::Status s = CheckPartition(consumer.metadata(), c, &num_partitions); !s.ok()) {
    return s;
  }
  if (!c.group.empty()) return consumer.Subscribe({c.topic});
  StartOffset start = c.offset           ? StartOffset::At(*c.offset)
                      : c.from_beginning ? StartOffset::Earliest()
                                         : StartOffset::Latest();
  std::vector<PartitionAssignment> assignments;
  for (int32_t p = 0; p < num_partitions; ++p) {
    if (!c.partition || *c.partition == p) assignments.push_back({c.topic, p, start});
  }
  return consumer.Assign(assignments);
}

int RunConsume(const Command& c, const ClientOptions& client, std::ostream& out, std::ostream& err,
               const std::atomic<bool>* stop) {
  ConsumerOptions options;
  options.client = client;
  if (!c.group.empty()) {
    options.client.client_id = c.client_id;
    options.group_id = c.group;
    options.assignor = c.assignor;
    if (c.session_timeout_ms) options.session_timeout = absl::Milliseconds(*c.session_timeout_ms);
    options.auto_offset_reset = c.from_beginning ? OffsetReset::kEarliest : OffsetReset::kLatest;
    // Every record Poll returns is printed before the next Poll, so the
    // positions auto-commit takes are printed records (the one exception,
    // stopping mid-batch, is handled below).
    options.enable_auto_commit = true;
    options.auto_commit_interval = kGroupCommitInterval;
  }
  Consumer consumer(options);
  if (absl::Status s = StartConsumer(c, consumer); !s.ok()) return Fail(err, s);

  const RecordFormat format{c.print_key, c.print_offset};
  int64_t count = 0;
  absl::Time last_record = absl::Now();
  bool done = false;
  while (!done && !(stop != nullptr && stop->load())) {
    absl::Duration wait = kPollSlice;
    if (c.timeout_ms) {
      const absl::Duration left = last_record + absl::Milliseconds(*c.timeout_ms) - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      wait = std::min(wait, left);
    }
    absl::StatusOr<std::vector<ConsumerRecord>> records = consumer.Poll(wait);
    if (!records.ok()) {
      out.flush();
      return Fail(err, records.status());
    }
    size_t printed = 0;
    for (; printed < records->size(); ++printed) {
      if (!out || (c.max_messages && count >= *c.max_messages)) break;
      out << FormatRecord((*records)[printed], format);
      ++count;
    }
    done = printed < records->size() || (c.max_messages && count >= *c.max_messages);
    if (!records->empty()) {
      last_record = absl::Now();
      out.flush();
    }
    if (!out) done = true;  // stdout closed (e.g. `| head`): nobody is reading
    // Records returned but not printed must not count as consumed: move
    // their partitions back so that the group's final commit excludes them.
    std::set<TopicPartition> rewound;
    for (size_t i = printed; i < records->size(); ++i) {
      const ConsumerRecord& r = (*records)[i];
      if (rewound.insert({r.topic, r.partition}).second) {
        consumer.Seek({r.topic, r.partition}, r.offset).IgnoreError();
      }
    }
  }
  out.flush();
  // Leaves the group at once (committing the printed records' offsets).
  absl::Status closed = consumer.Close();
  err << count << " records consumed\n";
  err.flush();
  if (!closed.ok()) return Fail(err, closed);
  return 0;
}

}  // namespace

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return 0;
  if (IsBootstrapUnreachable(status)) return 2;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 2;
    default:
      return 1;
  }
}

int Fail(std::ostream& err, const absl::Status& status) {
  err << "runnel: " << status.message() << "\n";
  err.flush();
  return ExitCodeFor(status);
}

int Run(const Command& command, const ClientOptions& base, std::istream& in, std::ostream& out,
        std::ostream& err, const std::atomic<bool>* stop) {
  ClientOptions client = base;
  client.bootstrap = command.bootstrap;
  switch (command.kind) {
    case CommandKind::kProduce:
      return RunProduce(command, client, in, err);
    case CommandKind::kConsume:
      return RunConsume(command, client, out, err, stop);
    case CommandKind::kHelp:
      out << command.help_text;
      return 0;
    default:
      return RunAdmin(command, client, out, err);
  }
}

}  // namespace runnel::client::cli
