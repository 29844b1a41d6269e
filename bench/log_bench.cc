// Benchmarks of the broker's partition log (broker/storage): the produce path
// (Append of 16 KiB batches of 100-byte records) and the fetch path (Read of
// 1 MiB from the middle of a 64 MiB partition), each against a fresh RocksDB
// in a temporary directory ($TEST_TMPDIR or /tmp).
//
//   bazel run //bench:log_bench -- --benchmark_filter=Append
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "bench/batches.h"
#include "broker/storage/log.h"
#include "common/temp_dir.h"
#include "proto/batch/record_batch.h"

namespace runnel::storage {
namespace {

constexpr size_t kBatchBytes = 16 << 10;
constexpr size_t kRecordValueBytes = 100;
constexpr size_t kReadBytes = 1 << 20;
constexpr size_t kPrefillBytes = 64 << 20;

// A temporary store, removed when the benchmark ends.
class TempStore {
 public:
  explicit TempStore(bool sync_writes) {
    options_.data_dir = MakeTempDir("log_bench");
    options_.sync_writes = sync_writes;
    Open();
  }
  ~TempStore() {
    log_.reset();
    manager_.reset();
    std::error_code ec;
    std::filesystem::remove_all(options_.data_dir, ec);
  }

  // Closes and reopens the store; RocksDB flushes recovered data to SST files,
  // so later reads come from disk files (and the OS page cache), not memtables.
  void Reopen() {
    log_.reset();
    manager_.reset();
    Open();
  }

  PartitionLog& log() { return *log_; }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<LogManager>> manager = LogManager::Open(options_);
    if (!manager.ok()) abort();
    manager_ = std::move(*manager);
    absl::StatusOr<std::shared_ptr<PartitionLog>> log = manager_->GetOrCreate({1, 0});
    if (!log.ok()) abort();
    log_ = std::move(*log);
  }

  StorageOptions options_;
  std::unique_ptr<LogManager> manager_;
  std::shared_ptr<PartitionLog> log_;
};

// Arg 0: sync_writes off (the default), 1: fsync every append.
void BM_Append16KiBBatch(benchmark::State& state) {
  TempStore store(/*sync_writes=*/state.range(0) != 0);
  int records = 0;
  const std::string batch = bench::MakeRandomBatch(kBatchBytes, kRecordValueBytes, &records);
  const std::vector<absl::string_view> batches = {batch};
  for (auto _ : state) {
    absl::StatusOr<AppendResult> result = store.log().Append(batches, /*leader_epoch=*/1);
    if (!result.ok()) state.SkipWithError(std::string(result.status().message()).c_str());
  }
  state.SetBytesProcessed(state.iterations() * batch.size());
  state.SetItemsProcessed(state.iterations() * records);
}
BENCHMARK(BM_Append16KiBBatch)->ArgName("sync")->Arg(0)->Arg(1);

// Arg 0: data still in memtables, 1: after a reopen (SST files).
void BM_Read1MiBFromMiddle(benchmark::State& state) {
  TempStore store(/*sync_writes=*/false);
  int records = 0;
  const std::string batch = bench::MakeRandomBatch(kBatchBytes, kRecordValueBytes, &records);
  const std::vector<absl::string_view> batches = {batch};
  for (size_t written = 0; written < kPrefillBytes; written += batch.size()) {
    if (!store.log().Append(batches, 1).ok()) abort();
  }
  if (state.range(0) != 0) store.Reopen();
  const int64_t end = store.log().log_end_offset();
  const int64_t middle = end / 2;
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> data = store.log().Read(middle, kReadBytes, end);
    if (!data.ok()) {
      state.SkipWithError(std::string(data.status().message()).c_str());
      break;
    }
    bytes += data->size();
    benchmark::DoNotOptimize(data->data());
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_Read1MiBFromMiddle)->ArgName("from_sst")->Arg(0)->Arg(1);

}  // namespace
}  // namespace runnel::storage

BENCHMARK_MAIN();
