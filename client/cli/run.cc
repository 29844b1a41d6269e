#include "client/cli/run.h"

#include <algorithm>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/cli/output.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "client/metadata_cache.h"
#include "client/producer.h"

namespace runnel::client::cli {
namespace {

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

int RunAdmin(const Command& c, const ClientOptions& options, std::ostream& out,
             std::ostream& err) {
  Admin admin(options);
  switch (c.kind) {
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

int RunConsume(const Command& c, const ClientOptions& client, std::ostream& out,
               std::ostream& err, const std::atomic<bool>* stop) {
  ConsumerOptions options;
  options.client = client;
  Consumer consumer(options);
  int32_t num_partitions = 0;
  if (absl::Status s = CheckPartition(consumer.metadata(), c, &num_partitions); !s.ok()) {
    return Fail(err, s);
  }
  StartOffset start = c.offset           ? StartOffset::At(*c.offset)
                      : c.from_beginning ? StartOffset::Earliest()
                                         : StartOffset::Latest();
  std::vector<PartitionAssignment> assignments;
  for (int32_t p = 0; p < num_partitions; ++p) {
    if (!c.partition || *c.partition == p) assignments.push_back({c.topic, p, start});
  }
  if (absl::Status s = consumer.Assign(assignments); !s.ok()) return Fail(err, s);

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
    for (const ConsumerRecord& r : *records) {
      out << FormatRecord(r, format);
      ++count;
      if (c.max_messages && count >= *c.max_messages) {
        done = true;
        break;
      }
    }
    if (!records->empty()) {
      last_record = absl::Now();
      out.flush();
    }
    if (!out) break;  // stdout closed (e.g. `| head`): nobody is reading
  }
  out.flush();
  err << count << " records consumed\n";
  err.flush();
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
