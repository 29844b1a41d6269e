// Benchmarks of the record batch codec (proto/batch): what a producer pays to
// build a batch, what a broker pays to validate every produced batch, what a
// consumer pays to decode one, and the raw CRC32C speed. Record values are
// word salad from a small vocabulary so compression ratios resemble text.
//
//   bazel run //bench:codec_bench -- --benchmark_filter=Validate
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "proto/batch/compression.h"
#include "proto/batch/crc32c.h"
#include "proto/batch/record_batch.h"

namespace runnel::batch {
namespace {

constexpr size_t kBatchBytes = 1 << 20;  // records per batch: about this much data

std::string TextValue(std::mt19937* rng, size_t size) {
  static const char* const kWords[] = {
      "alpha", "bravo", "charlie", "delta", "echo",  "fox",  "golf",   "hotel", "india", "juliet",
      "kilo",  "lima",  "mike",    "nov",   "oscar", "papa", "quebec", "romeo", "sierra"};
  std::string s;
  s.reserve(size + 8);
  while (s.size() < size) {
    s += kWords[(*rng)() % (sizeof(kWords) / sizeof(kWords[0]))];
    s += ' ';
  }
  s.resize(size);
  return s;
}

// Held as the optionals Append takes, so the benchmark times the builder and
// not the caller's conversion from std::string.
struct Inputs {
  std::vector<std::optional<std::string>> keys;
  std::vector<std::optional<std::string>> values;
};

Inputs MakeInputs(size_t value_bytes) {
  std::mt19937 rng(1);
  Inputs in;
  for (size_t total = 0; total < kBatchBytes; total += value_bytes) {
    in.keys.push_back("user-" + std::to_string(rng() % 100000));
    in.values.push_back(TextValue(&rng, value_bytes));
  }
  return in;
}

void Fill(const Inputs& in, BatchBuilder* builder) {
  for (size_t i = 0; i < in.values.size(); ++i) {
    builder->Append(1700000000000 + static_cast<int64_t>(i), in.keys[i], in.values[i]);
  }
}

std::string MakeBatch(Compression c, size_t value_bytes) {
  BatchBuilder builder(c);
  Fill(MakeInputs(value_bytes), &builder);
  absl::StatusOr<std::string> batch = builder.Build();
  if (!batch.ok()) std::abort();
  return *batch;
}

// Args: {compression, value bytes}. Throughput counts uncompressed value bytes.
void BM_BuildBatch(benchmark::State& state) {
  const auto c = static_cast<Compression>(state.range(0));
  const Inputs in = MakeInputs(static_cast<size_t>(state.range(1)));
  BatchBuilder builder(c);  // reused, as a producer's per-partition builder is
  size_t encoded = 0;
  for (auto _ : state) {
    Fill(in, &builder);
    absl::StatusOr<std::string> batch = builder.Build();
    if (!batch.ok()) state.SkipWithError(batch.status().ToString().c_str());
    encoded = batch->size();
    benchmark::DoNotOptimize(batch->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatchBytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * in.values.size()));
  state.counters["batch_bytes"] = static_cast<double>(encoded);
  state.SetLabel(CompressionName(c));
}

// Args: {compression, value bytes}. Throughput counts the batch's bytes as
// received (compressed size for lz4/zstd).
void BM_ValidateBatch(benchmark::State& state) {
  const auto c = static_cast<Compression>(state.range(0));
  const std::string batch = MakeBatch(c, static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    absl::Status s = ValidateBatch(batch);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.SetLabel(CompressionName(c));
}

// Args: {compression, value bytes}. Throughput counts the batch's bytes.
void BM_DecodeRecords(benchmark::State& state) {
  const auto c = static_cast<Compression>(state.range(0));
  const std::string batch = MakeBatch(c, static_cast<size_t>(state.range(1)));
  std::vector<Record> records;
  for (auto _ : state) {
    records.clear();
    absl::Status s = DecodeRecords(batch, &records);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    benchmark::DoNotOptimize(records.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.SetLabel(CompressionName(c));
}

// Same batches, decoded into views (what Consumer::PollViews does): no copy
// of keys and values for uncompressed batches.
void BM_DecodeRecordViews(benchmark::State& state) {
  const auto c = static_cast<Compression>(state.range(0));
  const std::string batch = MakeBatch(c, static_cast<size_t>(state.range(1)));
  std::vector<RecordView> views;
  for (auto _ : state) {
    views.clear();
    DecodedStorage storage;
    absl::Status s = DecodeRecordViews(batch, &views, &storage);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    benchmark::DoNotOptimize(views.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * views.size()));
  state.SetLabel(CompressionName(c));
}

template <uint32_t (*Extend)(uint32_t, absl::string_view)>
void BM_Crc32c(benchmark::State& state) {
  std::mt19937 rng(3);
  std::string data(static_cast<size_t>(state.range(0)), '\0');
  for (char& ch : data) ch = static_cast<char>(rng());
  for (auto _ : state) benchmark::DoNotOptimize(Extend(0, data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void CodecArgs(benchmark::internal::Benchmark* b) {
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    for (int value_bytes : {100, 1024}) b->Args({static_cast<int>(c), value_bytes});
  }
  b->ArgNames({"codec", "value_bytes"});
}

BENCHMARK(BM_BuildBatch)->Apply(CodecArgs);
BENCHMARK(BM_ValidateBatch)->Apply(CodecArgs);
BENCHMARK(BM_DecodeRecords)->Apply(CodecArgs);
BENCHMARK(BM_DecodeRecordViews)->Apply(CodecArgs);
BENCHMARK(BM_Crc32c<ExtendCrc32c>)->Arg(1 << 20);
BENCHMARK(BM_Crc32c<internal_crc32c::ExtendPortable>)->Arg(1 << 20);

}  // namespace
}  // namespace runnel::batch

BENCHMARK_MAIN();
