#include "client/perf/perf.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/flags.h"

namespace runnel::perf {
namespace {

constexpr char kUsage[] =
    "runnel-perf: measures a Runnel cluster's throughput and latency.\n"
    "\n"
    "Usage:\n"
    "  runnel-perf produce --topic=T --records=N [--record-size=B] [--throughput=R]\n"
    "      [--batch-bytes=B] [--linger-ms=L] [--acks=all|1|0] [--compression=none|lz4|zstd]\n"
    "      [--buffer-memory=B] [--max-in-flight=N] [--bootstrap=HOST:PORT]\n"
    "  runnel-perf consume --topic=T --records=N [--timeout-ms=T] [--fetch-bytes=B]\n"
    "      [--fetch-streams=true|false] [--bootstrap=HOST:PORT]\n"
    "\n"
    "produce sends N unkeyed records of B bytes each (one random payload, reused) and\n"
    "prints on stdout:\n"
    "  N records, R records/s, M MB/s, latency p50 X ms p99 Y ms p999 Z ms\n"
    "where latency is each record's time from Send to its acknowledgement. consume reads N\n"
    "records from the start of every partition and prints:\n"
    "  N records, R records/s, M MB/s\n"
    "Progress goes to stderr every few seconds. MB = 10^6 bytes of record keys and values.\n"
    "Exit status: 0 on success, 2 on bad usage, 1 on any other failure.\n"
    "Run 'runnel-perf produce --help' or 'runnel-perf consume --help' for every flag.\n";

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Megabytes(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

double PerSecond(int64_t n, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

absl::Status Bad(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::Status Positive(const std::string& flag, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return Bad(absl::StrCat("--", flag, " must be positive, got ", value));
}

// Prints a progress line every `interval` until destroyed.
class Reporter {
 public:
  Reporter(absl::Duration interval, std::function<void(absl::Duration window)> report)
      : thread_([this, interval, report = std::move(report)] {
          absl::Time last = absl::Now();
          while (!stop_.WaitForNotificationWithTimeout(interval)) {
            const absl::Time now = absl::Now();
            report(now - last);
            last = now;
          }
        }) {}
  ~Reporter() {
    stop_.Notify();
    thread_.join();
  }

 private:
  absl::Notification stop_;
  std::thread thread_;
};

// Delivery outcomes of the produce run. Callbacks run on the producer's
// sender thread: the histogram is touched only there (and read after Flush);
// the window counters are read by the reporter.
struct ProduceStats {
  LatencyHistogram latency_us;
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> window_count{0};
  std::atomic<int64_t> window_sum_us{0};
  std::atomic<int64_t> window_max_us{0};
  absl::Mutex mu;
  int64_t failed ABSL_GUARDED_BY(mu) = 0;
  absl::Status first_error ABSL_GUARDED_BY(mu);

  void OnDelivery(const absl::StatusOr<client::RecordMetadata>& result, int64_t sent_ns) {
    if (!result.ok()) {
      absl::MutexLock lock(&mu);
      ++failed;
      if (first_error.ok()) first_error = result.status();
      return;
    }
    const int64_t us = (NowNanos() - sent_ns) / 1000;
    latency_us.Record(us);
    acked.fetch_add(1, std::memory_order_relaxed);
    window_count.fetch_add(1, std::memory_order_relaxed);
    window_sum_us.fetch_add(us, std::memory_order_relaxed);
    int64_t max = window_max_us.load(std::memory_order_relaxed);
    while (us > max && !window_max_us.compare_exchange_weak(max, us)) {
    }
  }
};

std::string RandomPayload(int64_t size) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> letter('A', 'Z');
  std::string payload(static_cast<size_t>(size), 'A');
  for (char& c : payload) c = static_cast<char>(letter(rng));
  return payload;
}

}  // namespace

std::string ProduceSummary(int64_t records, int64_t bytes, absl::Duration elapsed,
                           const LatencyHistogram& latency_us) {
  return absl::StrFormat(
      "%d records, %.0f records/s, %.1f MB/s, latency p50 %.1f ms p99 %.1f ms p999 %.1f ms",
      records, PerSecond(records, elapsed), Megabytes(bytes) / absl::ToDoubleSeconds(elapsed),
      latency_us.Percentile(0.50) / 1000.0, latency_us.Percentile(0.99) / 1000.0,
      latency_us.Percentile(0.999) / 1000.0);
}

std::string ConsumeSummary(int64_t records, int64_t bytes, absl::Duration elapsed) {
  return absl::StrFormat("%d records, %.0f records/s, %.1f MB/s", records,
                         PerSecond(records, elapsed),
                         Megabytes(bytes) / absl::ToDoubleSeconds(elapsed));
}

absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args) {
  Command command;
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    command.help = kUsage;
    return command;
  }
  const std::string& verb = args[0];
  if (verb != "produce" && verb != "consume") {
    return Bad(absl::StrCat("unknown command '", verb, "': expected produce or consume"));
  }
  const bool produce = verb == "produce";
  FlagSet flags(absl::StrCat("runnel-perf ", verb),
                absl::StrCat("runnel-perf ", verb, " --topic=T --records=N [flags]"));
  flags.LimitEnvTo({"bootstrap"});
  std::string bootstrap, topic, acks, compression;
  int64_t records = 0, record_size = 0, throughput = 0, batch_bytes = 0, linger_ms = 0;
  int64_t buffer_memory = 0, max_in_flight = 0, timeout_ms = 0, fetch_bytes = 0;
  int64_t report_ms = 0;
  bool fetch_streams = true;
  flags.String("bootstrap", &bootstrap, "127.0.0.1:9092", "host:port of any broker.");
  flags.String("topic", &topic, "", "Topic to use (must exist).");
  flags.Int("records", &records, 0, "Number of records to send or read.");
  flags.Int("report-interval-ms", &report_ms, 5000,
            "Milliseconds between progress lines on stderr.");
  const client::ProducerOptions producer_defaults;
  const client::ConsumerOptions consumer_defaults;
  if (produce) {
    flags.Int("record-size", &record_size, 100, "Bytes of each record's value.");
    flags.Int("throughput", &throughput, -1,
              "Records per second at most (a steady rate for latency runs); -1: unlimited.");
    flags.Int("batch-bytes", &batch_bytes, static_cast<int64_t>(producer_defaults.batch_bytes),
              "Producer batch size (batch.size).");
    flags.Int("linger-ms", &linger_ms, absl::ToInt64Milliseconds(producer_defaults.linger),
              "Milliseconds a batch may wait to fill (linger.ms).");
    flags.String("acks", &acks, "all", "Acknowledgement: all, 1 (leader) or 0 (none).");
    flags.String("compression", &compression, "none", "Batch codec: none, lz4 or zstd.");
    flags.Int("buffer-memory", &buffer_memory,
              static_cast<int64_t>(producer_defaults.buffer_memory),
              "Bytes the producer may buffer before Send blocks (buffer.memory).");
    flags.Int("max-in-flight", &max_in_flight, producer_defaults.max_in_flight_requests,
              "Produce requests in flight per broker.");
  } else {
    flags.Int("timeout-ms", &timeout_ms, 10000,
              "Give up when no record arrived for this many milliseconds.");
    flags.Int("fetch-bytes", &fetch_bytes, consumer_defaults.max_partition_fetch_bytes,
              "Bytes per partition per fetch answer (max.partition.fetch.bytes).");
    flags.Bool("fetch-streams", &fetch_streams, consumer_defaults.stream_fetches,
               "Read through Broker.FetchStream (false: one Fetch call per answer).");
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  absl::StatusOr<std::vector<std::string>> positional = flags.Parse(rest);
  if (flags.help_requested()) {
    command.help = flags.Help();
    return command;
  }
  if (!positional.ok()) return positional.status();
  if (!positional->empty()) return Bad(absl::StrCat("unexpected argument '", (*positional)[0], "'"));
  if (topic.empty()) return Bad("--topic is required");
  if (absl::Status s = Positive("records", records); !s.ok()) return s;
  if (absl::Status s = Positive("report-interval-ms", report_ms); !s.ok()) return s;

  if (produce) {
    ProduceConfig& c = command.produce;
    command.kind = Command::Kind::kProduce;
    for (const auto& [flag, value] : {std::pair<const char*, int64_t>{"record-size", record_size},
                                      {"batch-bytes", batch_bytes},
                                      {"buffer-memory", buffer_memory},
                                      {"max-in-flight", max_in_flight}}) {
      if (absl::Status s = Positive(flag, value); !s.ok()) return s;
    }
    if (linger_ms < 0) return Bad(absl::StrCat("--linger-ms must be >= 0, got ", linger_ms));
    if (throughput == 0 || throughput < -1) {
      return Bad(absl::StrCat("--throughput must be positive or -1 (unlimited), got ", throughput));
    }
    client::ProducerOptions& o = c.producer;
    if (acks == "all" || acks == "-1") {
      o.acks = runnel::v1::ACKS_ALL;
    } else if (acks == "1") {
      o.acks = runnel::v1::ACKS_LEADER;
    } else if (acks == "0") {
      o.acks = runnel::v1::ACKS_NONE;
    } else {
      return Bad(absl::StrCat("invalid --acks '", acks, "': expected all, 1 or 0"));
    }
    if (compression == "none") {
      o.compression = runnel::batch::Compression::kNone;
    } else if (compression == "lz4") {
      o.compression = runnel::batch::Compression::kLz4;
    } else if (compression == "zstd") {
      o.compression = runnel::batch::Compression::kZstd;
    } else {
      return Bad(absl::StrCat("invalid --compression '", compression,
                              "': expected none, lz4 or zstd"));
    }
    o.client.bootstrap = bootstrap;
    o.batch_bytes = static_cast<size_t>(batch_bytes);
    o.linger = absl::Milliseconds(linger_ms);
    o.buffer_memory = static_cast<size_t>(buffer_memory);
    o.max_in_flight_requests = static_cast<int>(std::min<int64_t>(max_in_flight, 1 << 20));
    c.topic = topic;
    c.records = records;
    c.record_size = record_size;
    c.throughput = throughput;
    c.report_interval = absl::Milliseconds(report_ms);
  } else {
    ConsumeConfig& c = command.consume;
    command.kind = Command::Kind::kConsume;
    if (absl::Status s = Positive("timeout-ms", timeout_ms); !s.ok()) return s;
    if (absl::Status s = Positive("fetch-bytes", fetch_bytes); !s.ok()) return s;
    if (fetch_bytes > INT32_MAX) return Bad("--fetch-bytes must be below 2 GiB");
    c.consumer.client.bootstrap = bootstrap;
    c.consumer.max_partition_fetch_bytes = static_cast<int32_t>(fetch_bytes);
    c.consumer.stream_fetches = fetch_streams;
    c.consumer.fetch_max_bytes = std::max(consumer_defaults.fetch_max_bytes,
                                          static_cast<int32_t>(fetch_bytes));
    c.topic = topic;
    c.records = records;
    c.timeout = absl::Milliseconds(timeout_ms);
    c.report_interval = absl::Milliseconds(report_ms);
  }
  return command;
}

int RunProduce(const ProduceConfig& config, std::ostream& out, std::ostream& err) {
  client::Producer producer(config.producer);
  // Fail fast on an unknown topic or unreachable cluster, before timing.
  if (absl::StatusOr<runnel::v1::TopicInfo> topic = producer.metadata().Topic(config.topic);
      !topic.ok()) {
    err << "runnel-perf: " << topic.status().message() << "\n";
    return 1;
  }
  const std::string payload = RandomPayload(config.record_size);
  ProduceStats stats;
  const absl::Time start = absl::Now();
  const int64_t start_ns = NowNanos();
  int64_t sent = 0;
  absl::Status send_error;
  {
    Reporter reporter(config.report_interval, [&](absl::Duration window) {
      const int64_t n = stats.window_count.exchange(0);
      const int64_t sum = stats.window_sum_us.exchange(0);
      const int64_t max = stats.window_max_us.exchange(0);
      err << absl::StrFormat(
                 "%d records acked, %.0f records/s (%.1f MB/s), %.1f ms avg latency, %.1f ms "
                 "max latency\n",
                 stats.acked.load(), PerSecond(n, window),
                 Megabytes(n * config.record_size) / absl::ToDoubleSeconds(window),
                 n > 0 ? sum / 1000.0 / n : 0.0, max / 1000.0)
          << std::flush;
    });
    for (; sent < config.records; ++sent) {
      int64_t now_ns = NowNanos();
      if (config.throughput > 0) {
        // Sleep whenever ahead of the schedule by more than a little.
        const int64_t due_ns = start_ns + sent * 1'000'000'000 / config.throughput;
        if (due_ns - now_ns > 200'000) {
          std::this_thread::sleep_for(std::chrono::nanoseconds(due_ns - now_ns));
          now_ns = NowNanos();
        }
      }
      client::ProducerRecord record;
      record.topic = config.topic;
      record.value = payload;
      send_error = producer.Send(std::move(record),
                                 [&stats, now_ns](const absl::StatusOr<client::RecordMetadata>& r) {
                                   stats.OnDelivery(r, now_ns);
                                 });
      if (!send_error.ok()) break;
    }
    producer.Flush().IgnoreError();  // failures are counted by the callbacks
  }
  const absl::Duration elapsed = absl::Now() - start;
  if (!send_error.ok()) {
    err << "runnel-perf: send failed after " << sent << " records: " << send_error.message()
        << "\n";
    return 1;
  }
  absl::MutexLock lock(&stats.mu);
  const int64_t acked = stats.acked.load();
  out << ProduceSummary(acked, acked * config.record_size, elapsed, stats.latency_us) << "\n";
  out.flush();
  if (stats.failed > 0) {
    err << "runnel-perf: " << stats.failed << " of " << config.records
        << " records failed: " << stats.first_error.message() << "\n";
    return 1;
  }
  return 0;
}

int RunConsume(const ConsumeConfig& config, std::ostream& out, std::ostream& err) {
  client::Consumer consumer(config.consumer);
  absl::StatusOr<runnel::v1::TopicInfo> topic = consumer.metadata().Topic(config.topic);
  if (!topic.ok()) {
    err << "runnel-perf: " << topic.status().message() << "\n";
    return 1;
  }
  std::vector<client::PartitionAssignment> assignments;
  for (int32_t p = 0; p < topic->partitions_size(); ++p) {
    assignments.push_back({config.topic, p, client::StartOffset::Earliest()});
  }
  if (absl::Status s = consumer.Assign(assignments); !s.ok()) {
    err << "runnel-perf: " << s.message() << "\n";
    return 1;
  }
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> bytes{0};
  const absl::Time start = absl::Now();
  absl::Time last_record = start;
  absl::Status failure;
  {
    int64_t reported = 0, reported_bytes = 0;
    Reporter reporter(config.report_interval, [&](absl::Duration window) {
      const int64_t n = count.load(), b = bytes.load();
      err << absl::StrFormat("%d records, %.0f records/s (%.1f MB/s)\n", n,
                             PerSecond(n - reported, window),
                             Megabytes(b - reported_bytes) / absl::ToDoubleSeconds(window))
          << std::flush;
      reported = n;
      reported_bytes = b;
    });
    int64_t n = 0, b = 0;
    while (n < config.records) {
      const absl::Duration left = last_record + config.timeout - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      // PollViews, as a throughput-minded application would: no copy and no
      // allocation per record (Poll copies each into a ConsumerRecord).
      absl::StatusOr<client::ConsumerRecords> records =
          consumer.PollViews(std::min(left, absl::Milliseconds(500)));
      if (!records.ok()) {
        failure = records.status();
        break;
      }
      if (records->empty()) continue;
      last_record = absl::Now();
      for (const client::ConsumerRecordView& r : *records) {
        b += static_cast<int64_t>((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0));
        if (++n == config.records) break;
      }
      count.store(n, std::memory_order_relaxed);
      bytes.store(b, std::memory_order_relaxed);
    }
  }
  const absl::Time end = count.load() == config.records ? last_record : absl::Now();
  out << ConsumeSummary(count.load(), bytes.load(), end - start) << "\n";
  out.flush();
  if (!failure.ok()) {
    err << "runnel-perf: " << failure.message() << "\n";
    return 1;
  }
  if (count.load() < config.records) {
    err << "runnel-perf: only " << count.load() << " of " << config.records
        << " records arrived (none for " << absl::FormatDuration(config.timeout) << ")\n";
    return 1;
  }
  return 0;
}

}  // namespace runnel::perf
