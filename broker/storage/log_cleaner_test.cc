#include "broker/storage/log_cleaner.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/compression.h"
#include "proto/batch/record_batch.h"

namespace runnel::storage {
namespace {

using batch::Compression;
using Ranges = std::vector<std::pair<int64_t, int64_t>>;  // (base, last) per batch

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

struct In {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
};

std::string Batch(const std::vector<In>& records, Compression codec = Compression::kNone) {
  batch::BatchBuilder builder(codec);
  for (const In& r : records) builder.Append(r.timestamp, r.key, r.value);
  absl::StatusOr<std::string> built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : std::string();
}

// A record as read back: (offset, timestamp, key, value).
using Out = std::tuple<int64_t, int64_t, std::optional<std::string>, std::optional<std::string>>;

TopicConfig DeletePolicy(int64_t retention_ms, int64_t retention_bytes) {
  TopicConfig c;
  c.cleanup_delete = true;
  c.cleanup_compact = false;
  c.retention_ms = retention_ms;
  c.retention_bytes = retention_bytes;
  return c;
}

TopicConfig CompactPolicy(int64_t delete_retention_ms = 1000, int64_t min_lag_ms = 0) {
  TopicConfig c;
  c.cleanup_delete = false;
  c.cleanup_compact = true;
  c.delete_retention_ms = delete_retention_ms;
  c.min_compaction_lag_ms = min_lag_ms;
  return c;
}

class LogCleanerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cleaner_test");
    Reopen();
    log_ = *manager_->GetOrCreate(kId);
  }

  void TearDown() override {
    log_.reset();
    manager_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A broker restart.
  void Reopen() {
    log_.reset();
    manager_.reset();
    StorageOptions options;
    options.data_dir = dir_;
    options.wal_bytes = 8 << 20;  // small: a new store writes its ring whole
    absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    manager_ = std::move(*opened);
    log_ = manager_->Get(kId);
  }

  void Append(const std::vector<std::string>& batches) {
    std::vector<absl::string_view> views(batches.begin(), batches.end());
    absl::StatusOr<AppendResult> appended = log_->Append(views, /*leader_epoch=*/0);
    ASSERT_TRUE(appended.ok()) << appended.status();
  }

  std::string ReadAll() const {
    absl::StatusOr<std::string> data =
        log_->Read(log_->log_start_offset(), 1 << 30, log_->log_end_offset());
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : std::string();
  }

  // Every record from the log start, checking each batch as a consumer does.
  std::vector<Out> Records() const {
    std::vector<Out> out;
    const std::string data = ReadAll();
    for (absl::string_view b : batch::SplitStoredBatches(data)) {
      EXPECT_TRUE(batch::ValidateStoredBatch(b).ok()) << batch::ValidateStoredBatch(b);
      std::vector<batch::Record> records;
      EXPECT_TRUE(batch::DecodeRecords(b, &records).ok());
      for (auto& r : records) out.emplace_back(r.offset, r.timestamp, r.key, r.value);
    }
    return out;
  }

  Ranges BatchRanges() const {
    Ranges ranges;
    const std::string data = ReadAll();
    for (absl::string_view b : batch::SplitStoredBatches(data)) {
      absl::StatusOr<batch::BatchHeader> h = batch::ParseHeader(b);
      EXPECT_TRUE(h.ok());
      ranges.emplace_back(h->base_offset, h->last_offset());
    }
    return ranges;
  }

  RetentionResult MustRetain(const TopicConfig& config, int64_t hw, int64_t now_ms) {
    absl::StatusOr<RetentionResult> r = ApplyRetention(*log_, config, hw, now_ms);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RetentionResult{};
  }

  CompactionResult MustCompact(const TopicConfig& config, int64_t hw, int64_t now_ms,
                               const CompactionOptions& options = {}) {
    absl::StatusOr<CompactionResult> r = Compact(*log_, config, hw, now_ms, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CompactionResult{};
  }

  int64_t hw() const { return log_->log_end_offset(); }

  const PartitionId kId{7, 0};
  std::string dir_;
  std::unique_ptr<LogManager> manager_;
  std::shared_ptr<PartitionLog> log_;
};

// ---------------------------------------------------------------------------
// Retention

TEST_F(LogCleanerTest, RetentionByTimeDeletesFromTheFrontUpToTheFirstYoungBatch) {
  Append({Batch({{1000, "a", "1"}, {1001, "b", "2"}, {1002, "c", "3"}}),  // [0-2] max 1002
          Batch({{2000, "d", "4"}, {2001, "e", "5"}}),                    // [3-4] max 2001
          Batch({{5000, "f", "6"}}),                                      // [5]   young
          Batch({{1500, "g", "7"}, {1600, "h", "8"}})});                  // [6-7] old, after young
  const int64_t size_before = log_->size_bytes();

  // retention.ms 1000 at 3500: older than 2500 goes.
  RetentionResult r = MustRetain(DeletePolicy(1000, -1), hw(), 3500);
  EXPECT_EQ(r.log_start_offset, 5);
  EXPECT_EQ(r.batches_deleted, 2);
  EXPECT_EQ(log_->log_start_offset(), 5);
  EXPECT_EQ(log_->log_end_offset(), 8);
  EXPECT_EQ(log_->size_bytes(), size_before - r.bytes_deleted);
  EXPECT_EQ(BatchRanges(), (Ranges{{5, 5}, {6, 7}}));

  // A fetch below the new start names the valid range.
  absl::StatusOr<std::string> below = log_->Read(0, 1 << 20, hw());
  EXPECT_EQ(below.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(below.status().message().find("valid offsets are 5 to 8"), std::string::npos)
      << below.status();

  // Nothing more is old enough; the start survives a restart.
  EXPECT_EQ(MustRetain(DeletePolicy(1000, -1), hw(), 3500).batches_deleted, 0);
  Reopen();
  EXPECT_EQ(log_->log_start_offset(), 5);
  EXPECT_EQ(log_->size_bytes(), size_before - r.bytes_deleted);
}

TEST_F(LogCleanerTest, RetentionNeverDeletesAtOrAboveTheHighWatermark) {
  Append({Batch({{1000, "a", "1"}, {1000, "b", "2"}, {1000, "c", "3"}}),  // [0-2]
          Batch({{1000, "d", "4"}, {1000, "e", "5"}}),                    // [3-4]
          Batch({{1000, "f", "6"}})});                                    // [5]
  // All expired, but the high watermark is 4: [3-4] is not wholly below it.
  EXPECT_EQ(MustRetain(DeletePolicy(10, -1), /*hw=*/4, 1 << 20).log_start_offset, 3);
  EXPECT_EQ(BatchRanges(), (Ranges{{3, 4}, {5, 5}}));
  EXPECT_EQ(MustRetain(DeletePolicy(-1, 0), /*hw=*/4, 1 << 20).log_start_offset, 3);
  // With the high watermark at the end, everything may go; the end stays.
  EXPECT_EQ(MustRetain(DeletePolicy(10, -1), hw(), 1 << 20).log_start_offset, 6);
  EXPECT_EQ(log_->size_bytes(), 0);
  Reopen();
  EXPECT_EQ(log_->log_start_offset(), 6);
  EXPECT_EQ(log_->log_end_offset(), 6);
}

TEST_F(LogCleanerTest, RetentionBySizeDeletesOldestBatchesUntilWithinTheLimit) {
  const std::vector<std::string> batches = {
      Batch({{1000, "a", std::string(100, 'x')}}), Batch({{1000, "b", std::string(100, 'y')}}),
      Batch({{1000, "c", std::string(100, 'z')}}), Batch({{1000, "d", std::string(100, 'w')}})};
  Append(batches);
  const auto one = static_cast<int64_t>(batches[0].size());  // all the same size
  ASSERT_EQ(log_->size_bytes(), 4 * one);

  // Within the limit: nothing happens.
  EXPECT_EQ(MustRetain(DeletePolicy(-1, 4 * one), hw(), 0).batches_deleted, 0);
  // One byte too many: the oldest batch goes.
  RetentionResult r = MustRetain(DeletePolicy(-1, 4 * one - 1), hw(), 0);
  EXPECT_EQ(r.batches_deleted, 1);
  EXPECT_EQ(log_->log_start_offset(), 1);
  EXPECT_EQ(log_->size_bytes(), 3 * one);
  // Half a batch: down to one batch, below the limit.
  r = MustRetain(DeletePolicy(-1, one + one / 2), hw(), 0);
  EXPECT_EQ(r.batches_deleted, 2);
  EXPECT_EQ(log_->log_start_offset(), 3);
  EXPECT_EQ(std::get<2>(Records().front()), "d");
  // Time and size limits are off for a compact-only topic.
  TopicConfig compact = CompactPolicy();
  compact.retention_bytes = 0;
  compact.retention_ms = 0;
  EXPECT_EQ(MustRetain(compact, hw(), 1 << 30).batches_deleted, 0);
}

// ---------------------------------------------------------------------------
// Compaction

TEST_F(LogCleanerTest, CompactionKeepsTheLatestRecordPerKeyAtItsOffset) {
  Append({Batch({{1000, "a", "a1"}, {1001, "b", "b1"}, {1002, "a", "a2"}}),  // [0-2]
          Batch({{1003, "c", "c1"}, {1004, std::nullopt, "no key"}}),        // [3-4]
          Batch({{1005, "b", "b2"}, {1006, "a", "a3"}}),                     // [5-6]
          Batch({{1007, "c", "c2"}})});                                      // [7]
  const int64_t end = log_->log_end_offset();
  CompactionResult r = MustCompact(CompactPolicy(), hw(), 2000);
  EXPECT_TRUE(r.compacted);
  EXPECT_EQ(r.cleaned_end, 8);
  EXPECT_EQ(r.records_removed, 4);  // a1 a2 b1 c1

  const std::vector<Out> want = {{4, 1004, std::nullopt, "no key"},
                                 {5, 1005, "b", "b2"},
                                 {6, 1006, "a", "a3"},
                                 {7, 1007, "c", "c2"}};
  EXPECT_EQ(Records(), want);
  // [0-2] lost everything and is gone; [3-4] keeps its whole range.
  EXPECT_EQ(BatchRanges(), (Ranges{{3, 4}, {5, 6}, {7, 7}}));
  EXPECT_EQ(log_->log_start_offset(), 0);
  EXPECT_EQ(log_->log_end_offset(), end);
  EXPECT_EQ(log_->size_bytes(), r.clean_bytes);

  // Idempotent: a second pass changes nothing.
  const std::string before = ReadAll();
  CompactionResult again = MustCompact(CompactPolicy(), hw(), 2000);
  EXPECT_EQ(again.records_removed, 0);
  EXPECT_EQ(ReadAll(), before);

  // After a restart: same records, same offsets, same end; appends continue.
  Reopen();
  EXPECT_EQ(Records(), want);
  EXPECT_EQ(log_->log_end_offset(), end);
  EXPECT_EQ(log_->size_bytes(), r.clean_bytes);
  Append({Batch({{3000, "a", "a4"}})});
  EXPECT_EQ(std::get<0>(Records().back()), end);
}

TEST_F(LogCleanerTest, TombstonesStayForDeleteRetentionThenGo) {
  Append({Batch({{1000, "a", "a1"}, {1000, "b", "b1"}}),  // [0-1]
          Batch({{2000, "a", std::nullopt}}),             // [2] tombstone for a
          Batch({{2500, "b", "b2"}})});                   // [3]
  // delete.retention.ms 5000: at 4000 the tombstone is 2000 ms old, kept; a1 goes.
  MustCompact(CompactPolicy(/*delete_retention_ms=*/5000), hw(), 4000);
  EXPECT_EQ(Records(), (std::vector<Out>{{2, 2000, "a", std::nullopt}, {3, 2500, "b", "b2"}}));
  // At 7001 it is older than 5000 ms: removed, and with it key a.
  MustCompact(CompactPolicy(/*delete_retention_ms=*/5000), hw(), 7001);
  EXPECT_EQ(Records(), (std::vector<Out>{{3, 2500, "b", "b2"}}));
  EXPECT_EQ(log_->log_end_offset(), 4);
}

TEST_F(LogCleanerTest, MinCompactionLagKeepsYoungRecordsDirty) {
  Append({Batch({{1000, "a", "a1"}}),    // [0]
          Batch({{5000, "a", "a2"}}),    // [1] young at 5500 with a 1000 ms lag
          Batch({{5100, "a", "a3"}})});  // [2]
  const TopicConfig config = CompactPolicy(1000, /*min_lag_ms=*/1000);
  CompactionResult r = MustCompact(config, hw(), 5500);
  EXPECT_EQ(r.cleaned_end, 1);
  EXPECT_EQ(r.records_removed, 0);  // a1 is the latest in the cleanable range
  EXPECT_EQ(Records().size(), 3u);

  // At 6050, [1] is old enough, [2] is not: a1 goes, a2 stays until a3 ages.
  CompactionOptions options;
  options.first_dirty_offset = r.cleaned_end;
  r = MustCompact(config, hw(), 6050, options);
  EXPECT_EQ(r.cleaned_end, 2);
  EXPECT_EQ(Records(), (std::vector<Out>{{1, 5000, "a", "a2"}, {2, 5100, "a", "a3"}}));
  options.first_dirty_offset = r.cleaned_end;
  r = MustCompact(config, hw(), 6200, options);
  EXPECT_EQ(Records(), (std::vector<Out>{{2, 5100, "a", "a3"}}));
}

TEST_F(LogCleanerTest, CompactionStopsAtTheHighWatermark) {
  Append({Batch({{1000, "a", "a1"}}),    // [0]
          Batch({{1000, "a", "a2"}}),    // [1]
          Batch({{1000, "a", "a3"}})});  // [2] above the high watermark
  CompactionResult r = MustCompact(CompactPolicy(), /*hw=*/2, 5000);
  EXPECT_EQ(r.cleaned_end, 2);
  // a2 is the latest below the high watermark; a3 is not looked at.
  EXPECT_EQ(Records(), (std::vector<Out>{{1, 1000, "a", "a2"}, {2, 1000, "a", "a3"}}));
  // Nothing to do with the high watermark where it was.
  EXPECT_FALSE(MustCompact(CompactPolicy(), /*hw=*/0, 5000).compacted);
}

TEST_F(LogCleanerTest, CompressedBatchesAreRewrittenWithTheirCodec) {
  for (Compression codec : {Compression::kLz4, Compression::kZstd}) {
    SCOPED_TRACE(batch::CompressionName(codec));
    TearDown();
    SetUp();
    std::vector<In> first;
    for (int i = 0; i < 50; ++i) first.push_back({1000 + i, absl::StrCat("k", i % 10), "old"});
    Append({Batch(first, codec), Batch({{2000, "k3", "new"}}, codec)});  // [0-49] [50]
    MustCompact(CompactPolicy(), hw(), 5000);

    std::vector<Out> want;
    for (int i = 40; i < 50; ++i) {
      if (i != 43) want.emplace_back(i, 1000 + i, absl::StrCat("k", i % 10), "old");
    }
    want.emplace_back(50, 2000, "k3", "new");
    EXPECT_EQ(Records(), want);
    const std::string data = ReadAll();
    for (absl::string_view b : batch::SplitStoredBatches(data)) {
      EXPECT_EQ(batch::ParseHeader(b)->compression(), codec);
    }
    Reopen();
    EXPECT_EQ(Records(), want);
  }
}

TEST_F(LogCleanerTest, TheLastBatchStaysAsAnEmptyBatchSoTheEndSurvivesRestarts) {
  Append({Batch({{1000, "a", "a1"}, {1000, "b", "b1"}}),                    // [0-1]
          Batch({{1000, "a", std::nullopt}, {1000, "b", std::nullopt}})});  // [2-3] tombstones
  // Tombstones long expired: every record goes, but [2-3] stays, empty.
  CompactionResult r = MustCompact(CompactPolicy(/*delete_retention_ms=*/0), hw(), 10000);
  EXPECT_EQ(r.records_removed, 4);
  EXPECT_EQ(Records(), std::vector<Out>{});
  EXPECT_EQ(BatchRanges(), (Ranges{{2, 3}}));
  const std::string data = ReadAll();
  absl::StatusOr<batch::BatchHeader> empty = batch::ParseHeader(data);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->record_count, 0);

  Reopen();
  EXPECT_EQ(log_->log_end_offset(), 4);
  Append({Batch({{20000, "c", "c1"}})});  // [4]
  EXPECT_EQ(Records(), (std::vector<Out>{{4, 20000, "c", "c1"}}));
  // No longer the last batch: the empty one goes on the next pass.
  MustCompact(CompactPolicy(0), hw(), 20000);
  EXPECT_EQ(BatchRanges(), (Ranges{{4, 4}}));
  Reopen();
  EXPECT_EQ(log_->log_end_offset(), 5);
}

TEST_F(LogCleanerTest, SmallMapCompactsInChunksToTheSameResult) {
  std::vector<std::string> batches;
  std::map<std::string, std::pair<int64_t, std::string>> latest;  // key -> (offset, value)
  int64_t offset = 0;
  for (int b = 0; b < 20; ++b) {
    std::vector<In> records;
    for (int i = 0; i < 5; ++i) {
      const std::string key = absl::StrCat("k", (b * 7 + i * 3) % 30);
      const std::string value = absl::StrCat("v", offset);
      records.push_back({1000, key, value});
      latest[key] = {offset++, value};
    }
    batches.push_back(Batch(records));
  }
  Append(batches);

  // Room for 9 keys (a slot is 24 bytes, 90% load): one batch of 5 at a time.
  CompactionOptions options;
  options.map_memory_bytes = 24 * 10;
  int rounds = 0;
  while (true) {
    CompactionResult r = MustCompact(CompactPolicy(), hw(), 5000, options);
    if (!r.compacted) break;
    options.first_dirty_offset = r.cleaned_end;
    ASSERT_LT(++rounds, 100);
  }
  EXPECT_EQ(rounds, 20);

  std::vector<Out> want;
  for (const auto& [key, at] : latest) want.emplace_back(at.first, 1000, key, at.second);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Records(), want);

  // A map too small for one batch's keys is an error, not a silent skip.
  CompactionOptions tiny;
  tiny.map_memory_bytes = 24 * 2;
  Append({Batch({{1000, "x", "1"}, {1000, "y", "2"}, {1000, "z", "3"}})});
  tiny.first_dirty_offset = options.first_dirty_offset;
  EXPECT_EQ(Compact(*log_, CompactPolicy(), hw(), 5000, tiny).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(LogCleanerTest, DirtyRatioSkipsPassesThatWouldRewriteMostlyCleanData) {
  Append({Batch({{1000, "a", "a1"}, {1000, "b", "b1"}, {1000, "c", "c1"}, {1000, "d", "d1"}})});
  CompactionResult first = MustCompact(CompactPolicy(), hw(), 5000);
  Append({Batch({{1000, "a", "a2"}})});  // small next to the clean part
  CompactionOptions options;
  options.first_dirty_offset = first.cleaned_end;
  options.clean_bytes = first.clean_bytes;
  options.min_cleanable_ratio = 0.5;
  EXPECT_FALSE(MustCompact(CompactPolicy(), hw(), 5000, options).compacted);
  EXPECT_EQ(Records().size(), 5u);
  options.min_cleanable_ratio = 0.1;
  EXPECT_TRUE(MustCompact(CompactPolicy(), hw(), 5000, options).compacted);
  EXPECT_EQ(Records().size(), 4u);
}

TEST_F(LogCleanerTest, CompactionRacingAppendsKeepsTheLogConsistent) {
  constexpr int kBatches = 200;
  std::map<std::string, std::pair<int64_t, std::string>> latest;  // key -> (offset, value)
  std::thread writer([&] {
    int64_t offset = 0;
    for (int b = 0; b < kBatches; ++b) {
      std::vector<In> records;
      for (int i = 0; i < 3; ++i) {
        const std::string key = absl::StrCat("k", (b + i * 5) % 10);
        const std::string value = absl::StrCat("v", offset);
        records.push_back({1000, key, value});
        latest[key] = {offset++, value};
      }
      Append({Batch(records)});
    }
  });
  int64_t first_dirty = 0;
  for (int pass = 0; pass < 50; ++pass) {
    CompactionOptions options;
    options.first_dirty_offset = first_dirty;
    first_dirty = MustCompact(CompactPolicy(), hw(), 5000, options).cleaned_end;
  }
  writer.join();
  MustCompact(CompactPolicy(), hw(), 5000);

  std::vector<Out> want;
  for (const auto& [key, at] : latest) want.emplace_back(at.first, 1000, key, at.second);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Records(), want);
  EXPECT_EQ(log_->log_end_offset(), 3 * kBatches);
  EXPECT_EQ(log_->size_bytes(), static_cast<int64_t>(ReadAll().size()));
  Reopen();
  EXPECT_EQ(Records(), want);
  EXPECT_EQ(log_->log_end_offset(), 3 * kBatches);
  EXPECT_EQ(log_->size_bytes(), static_cast<int64_t>(ReadAll().size()));
}

// ---------------------------------------------------------------------------
// LogCleaner

TEST_F(LogCleanerTest, CleanerAppliesEachPartitionsPolicy) {
  const PartitionId compacted = kId;
  const PartitionId deleted{8, 0};
  const PartitionId unknown{9, 0};
  for (const PartitionId& id : {compacted, deleted, unknown}) {
    std::shared_ptr<PartitionLog> log = *manager_->GetOrCreate(id);
    std::vector<std::string> batches = {Batch({{1000, "a", "1"}}), Batch({{1000, "a", "2"}})};
    std::vector<absl::string_view> views(batches.begin(), batches.end());
    ASSERT_TRUE(log->Append(views, 0).ok());
  }
  const int64_t unknown_size = manager_->Get(unknown)->size_bytes();
  LogCleaner cleaner(manager_.get(), [&](const PartitionId& id) -> std::optional<CleanerPolicy> {
    std::shared_ptr<PartitionLog> log = manager_->Get(id);
    if (id == compacted) return CleanerPolicy{CompactPolicy(), log->log_end_offset()};
    if (id == deleted) return CleanerPolicy{DeletePolicy(1000, -1), log->log_end_offset()};
    return std::nullopt;
  });
  cleaner.RunOnce(/*now_ms=*/10000);
  EXPECT_EQ(Records(), (std::vector<Out>{{1, 1000, "a", "2"}}));
  EXPECT_EQ(manager_->Get(deleted)->log_start_offset(), 2);
  // No policy: untouched.
  EXPECT_EQ(manager_->Get(unknown)->log_start_offset(), 0);
  EXPECT_EQ(manager_->Get(unknown)->size_bytes(), unknown_size);
}

TEST_F(LogCleanerTest, BackgroundThreadCleansAndStops) {
  Append({Batch({{1000, "a", "1"}}), Batch({{1000, "a", "2"}})});
  LogCleanerOptions options;
  options.interval = absl::Milliseconds(10);
  LogCleaner cleaner(
      manager_.get(),
      [&](const PartitionId&) {
        return std::optional<CleanerPolicy>(CleanerPolicy{CompactPolicy(), hw()});
      },
      options);
  cleaner.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Records().size() != 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  cleaner.Stop();
  EXPECT_EQ(Records(), (std::vector<Out>{{1, 1000, "a", "2"}}));
}

}  // namespace
}  // namespace runnel::storage
