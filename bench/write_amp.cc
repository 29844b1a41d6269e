// Measures the log store's write amplification: appends `--gib` GiB of 16 KiB
// batches of 1 KiB records to one partition (as a producer at full speed
// does), waits until RocksDB's flushes and compactions are done, and prints
// how many bytes flushes and compactions wrote and how many bytes compactions
// moved without rewriting (RocksDB's "rocksdb.cfstats"). Write amplification
// here is (flushed + compacted) / flushed. docs/BENCHMARKS.md has results.
//
//   bazel run -c opt //bench:write_amp -- 2      # 2 GiB (the default)
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/batches.h"
#include "broker/storage/log.h"
#include "common/temp_dir.h"
#include "proto/batch/record_batch.h"

namespace runnel::storage {
namespace {

constexpr size_t kBatchBytes = 16 << 10;
constexpr size_t kRecordValueBytes = 1024;
constexpr int kBatchesPerAppend = 64;  // about 1 MiB, one produce request

double Stat(const std::map<std::string, std::string>& stats, const std::string& key) {
  auto found = stats.find(key);
  double value = 0;
  if (found == stats.end() || !absl::SimpleAtod(found->second, &value)) return 0;
  return value;
}

int64_t IntProperty(const LogManager& manager, const std::string& name) {
  std::optional<std::string> value = manager.LogProperty(name);
  int64_t n = 0;
  return value.has_value() && absl::SimpleAtoi(*value, &n) ? n : 0;
}

int Main(int argc, char** argv) {
  double gib = 2;
  if (argc > 1 && !absl::SimpleAtod(argv[1], &gib)) {
    std::fprintf(stderr, "usage: write_amp [GiB to append]\n");
    return 2;
  }
  const std::string dir = MakeTempDir("write_amp");
  StorageOptions options;
  options.data_dir = dir;
  {
    absl::StatusOr<std::unique_ptr<LogManager>> manager = LogManager::Open(options);
    if (!manager.ok()) {
      std::fprintf(stderr, "%s\n", manager.status().ToString().c_str());
      return 1;
    }
    absl::StatusOr<std::shared_ptr<PartitionLog>> log = (*manager)->GetOrCreate({1, 0});
    if (!log.ok()) abort();
    const std::string batch = bench::MakeRandomBatch(kBatchBytes, kRecordValueBytes);
    const std::vector<absl::string_view> batches(kBatchesPerAppend, batch);
    const auto start = std::chrono::steady_clock::now();
    const double total = gib * (1 << 30);
    for (double written = 0; written < total; written += kBatchesPerAppend * batch.size()) {
      absl::StatusOr<AppendResult> result = (*log)->Append(batches, 1);
      if (!result.ok()) {
        std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
        return 1;
      }
    }
    const double append_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Wait for the background work the appends caused.
    for (int quiet = 0; quiet < 3;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const bool busy = IntProperty(**manager, "rocksdb.num-running-compactions") > 0 ||
                        IntProperty(**manager, "rocksdb.num-running-flushes") > 0 ||
                        IntProperty(**manager, "rocksdb.compaction-pending") > 0 ||
                        IntProperty(**manager, "rocksdb.mem-table-flush-pending") > 0;
      quiet = busy ? 0 : quiet + 1;
    }
    const std::map<std::string, std::string> stats = (*manager)->LogMapProperty("rocksdb.cfstats");
    // The L0 row's write column is what flushes wrote (plus L0->L0
    // compactions, which level compaction of sequential keys does not do).
    const double flushed = Stat(stats, "compaction.L0.WriteGB");
    const double all_written = Stat(stats, "compaction.Sum.WriteGB");
    const double moved = Stat(stats, "compaction.Sum.MovedGB");
    std::printf("appended %.2f GiB in %.1f s (%.0f MiB/s)\n", gib, append_seconds,
                gib * 1024 / append_seconds);
    std::printf("flushed %.2f GB, compactions wrote %.2f GB, moved %.2f GB without rewriting\n",
                flushed, all_written - flushed, moved);
    std::printf("write amplification (flush + compaction) / flush: %.2f\n",
                flushed > 0 ? all_written / flushed : 0.0);
    std::optional<std::string> text = (*manager)->LogProperty("rocksdb.cfstats-no-file-histogram");
    if (text.has_value()) std::printf("%s\n", text->c_str());
    log->reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace runnel::storage

int main(int argc, char** argv) { return runnel::storage::Main(argc, argv); }
