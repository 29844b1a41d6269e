#include "broker/storage/log.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/storage/errors.h"
#include "broker/storage/layout.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"
#include "rocksdb/db.h"

namespace runnel::storage {
namespace {

using EpochList = std::vector<std::pair<int32_t, int64_t>>;
using Ranges = std::vector<std::pair<int64_t, int64_t>>;  // (base, last) per batch

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// Builds a batch of `count` records with values "<tag>-<i>" padded to
// value_size bytes, timestamps first_ts, first_ts+1, ...
std::string MakeBatch(int count, const std::string& tag, int64_t first_ts = 1000,
                      size_t value_size = 0) {
  batch::BatchBuilder builder;
  for (int i = 0; i < count; ++i) {
    std::string value = absl::StrCat(tag, "-", i);
    // Pseudo-random padding: RocksDB compresses values, and the delete test
    // measures stored bytes.
    std::minstd_rand random(static_cast<uint32_t>(first_ts + i));
    while (value.size() < value_size) value.push_back(static_cast<char>(random()));
    builder.Append(first_ts + i, absl::StrCat("k", i), value);
  }
  absl::StatusOr<std::string> built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : std::string();
}

// The (base offset, last offset) of each batch in a Read result.
Ranges BatchRanges(const std::string& data) {
  Ranges ranges;
  size_t total = 0;
  for (absl::string_view one : batch::SplitStoredBatches(data)) {
    absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(one);
    EXPECT_TRUE(header.ok()) << header.status();
    if (!header.ok()) break;
    ranges.emplace_back(header->base_offset, header->last_offset());
    total += one.size();
  }
  EXPECT_EQ(total, data.size()) << "read returned a partial batch";
  return ranges;
}

// Every record in a Read result, checking each batch's CRC on the way.
std::vector<batch::Record> Records(const std::string& data) {
  std::vector<batch::Record> records;
  for (absl::string_view one : batch::SplitStoredBatches(data)) {
    EXPECT_TRUE(batch::ValidateBatch(one).ok()) << batch::ValidateBatch(one);
    EXPECT_TRUE(batch::DecodeRecords(one, &records).ok());
  }
  return records;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("log_test");
    Reopen();
  }

  void TearDown() override {
    manager_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A small write-ahead ring: every new store writes its ring whole.
  StorageOptions TestOptions() const {
    StorageOptions options;
    options.data_dir = dir_;
    options.wal_bytes = 8 << 20;
    return options;
  }

  // Closes the store (if open) and opens it again, as a broker restart does.
  void Reopen() {
    manager_.reset();
    absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(TestOptions());
    ASSERT_TRUE(opened.ok()) << opened.status();
    manager_ = std::move(*opened);
  }

  std::shared_ptr<PartitionLog> Create(PartitionId id) {
    absl::StatusOr<std::shared_ptr<PartitionLog>> log = manager_->GetOrCreate(id);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *log : nullptr;
  }

  static AppendResult MustAppend(PartitionLog& log, const std::vector<std::string>& batches,
                                 int32_t epoch = 0) {
    std::vector<absl::string_view> views(batches.begin(), batches.end());
    absl::StatusOr<AppendResult> result = log.Append(views, epoch);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : AppendResult{};
  }

  static std::string MustRead(const PartitionLog& log, int64_t offset, size_t max_bytes = 1 << 30,
                              int64_t max_offset = kNoLimit) {
    absl::StatusOr<std::string> data = log.Read(offset, max_bytes, max_offset);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : std::string();
  }

  // Appends batches of 3, 2 and 4 records: offsets [0-2] [3-4] [5-8].
  static void AppendThreeBatches(PartitionLog& log) {
    MustAppend(log, {MakeBatch(3, "a"), MakeBatch(2, "b"), MakeBatch(4, "c")});
  }

  std::string dir_;
  std::unique_ptr<LogManager> manager_;
};

TEST_F(LogTest, AppendAssignsConsecutiveOffsetsAndReadReturnsStampedBatches) {
  auto log = Create({42, 3});
  AppendResult first = MustAppend(*log, {MakeBatch(3, "a"), MakeBatch(2, "b")}, /*epoch=*/7);
  EXPECT_EQ(first.base_offset, 0);
  EXPECT_EQ(first.last_offset, 4);
  EXPECT_EQ(first.log_end_offset, 5);
  AppendResult second = MustAppend(*log, {MakeBatch(4, "c")}, /*epoch=*/7);
  EXPECT_EQ(second.base_offset, 5);
  EXPECT_EQ(second.last_offset, 8);
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 9);

  const std::string data = MustRead(*log, 0);
  EXPECT_EQ(BatchRanges(data), (Ranges{{0, 2}, {3, 4}, {5, 8}}));
  for (absl::string_view one : batch::SplitStoredBatches(data)) {
    EXPECT_EQ(batch::ParseHeader(one)->partition_leader_epoch, 7);
  }
  std::vector<batch::Record> records = Records(data);
  ASSERT_EQ(records.size(), 9u);
  EXPECT_EQ(records[0].offset, 0);
  EXPECT_EQ(records[0].value, "a-0");
  EXPECT_EQ(records[4].offset, 4);
  EXPECT_EQ(records[4].value, "b-1");
  EXPECT_EQ(records[8].offset, 8);
  EXPECT_EQ(records[8].value, "c-3");
}

TEST_F(LogTest, ReadFromInsideABatchStartsWithThatBatch) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);
  EXPECT_EQ(BatchRanges(MustRead(*log, 4)), (Ranges{{3, 4}, {5, 8}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 3)), (Ranges{{3, 4}, {5, 8}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 8)), (Ranges{{5, 8}}));
}

TEST_F(LogTest, ReadStopsAtMaxBytesButReturnsAtLeastOneBatch) {
  auto log = Create({1, 0});
  std::vector<std::string> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(MakeBatch(1, "v", 1000, 1000));
  MustAppend(*log, batches);
  const size_t batch_size = batches[0].size();

  EXPECT_EQ(BatchRanges(MustRead(*log, 0, 2 * batch_size)), (Ranges{{0, 0}, {1, 1}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 0, 3 * batch_size - 1)), (Ranges{{0, 0}, {1, 1}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 1, 1)), (Ranges{{1, 1}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 2, 0)), (Ranges{{2, 2}}));
}

TEST_F(LogTest, ReadStopsBeforeBatchReachingMaxOffset) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);  // [0-2] [3-4] [5-8]
  EXPECT_EQ(BatchRanges(MustRead(*log, 0, 1 << 20, 9)), (Ranges{{0, 2}, {3, 4}, {5, 8}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 0, 1 << 20, 5)), (Ranges{{0, 2}, {3, 4}}));
  // [3-4] holds offset 4, which is not below max_offset 4.
  EXPECT_EQ(BatchRanges(MustRead(*log, 0, 1 << 20, 4)), (Ranges{{0, 2}}));
  EXPECT_EQ(MustRead(*log, 3, 1 << 20, 4), "");
  EXPECT_EQ(MustRead(*log, 6, 1 << 20, 5), "");
  EXPECT_EQ(MustRead(*log, 9), "");  // the log end: nothing yet
}

TEST_F(LogTest, ReadOutsideTheLogIsOutOfRangeNamingTheValidRange) {
  auto log = Create({42, 3});
  AppendThreeBatches(*log);
  absl::StatusOr<std::string> above = log->Read(10, 1 << 20, kNoLimit);
  EXPECT_EQ(above.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(above.status().message(),
            "offset 10 out of range for partition 3 (topic id 42): valid offsets are 0 to 9");

  ASSERT_TRUE(log->TruncatePrefix(5).ok());
  absl::StatusOr<std::string> below = log->Read(4, 1 << 20, kNoLimit);
  EXPECT_EQ(below.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(below.status().message(),
            "offset 4 out of range for partition 3 (topic id 42): valid offsets are 5 to 9");
  EXPECT_EQ(log->Read(-1, 1 << 20, kNoLimit).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(LogTest, BadBatchesAreRejectedAndNothingIsWritten) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);
  const std::string good = MakeBatch(2, "g");

  EXPECT_EQ(log->Append({}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<AppendResult> garbage = log->Append({good, "not a batch"}, 0);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("batch 1"), absl::string_view::npos)
      << garbage.status();
  const std::string trailing = good + "junk";
  EXPECT_EQ(log->Append({trailing}, 0).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(log->log_end_offset(), 9);
  EXPECT_EQ(BatchRanges(MustRead(*log, 0)), (Ranges{{0, 2}, {3, 4}, {5, 8}}));
  EXPECT_EQ(MustAppend(*log, {good}).base_offset, 9);
}

TEST_F(LogTest, RecoveryRestoresOffsetsOfEveryPartition) {
  // Interleaved writes to neighbouring keys: topics 1 and 2, partitions 0-2,
  // plus topic 256 (whose id differs from 1 only in a higher byte).
  const std::vector<PartitionId> ids = {{1, 0}, {1, 1}, {1, 2}, {2, 0}, {2, 1}, {256, 0}};
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < ids.size(); ++i) {
      auto log = Create(ids[i]);
      MustAppend(*log, {MakeBatch(static_cast<int>(i) + 1, absl::StrCat("r", round))});
    }
  }
  Create({3, 0});  // created, never written
  {
    auto truncated = Create({4, 0});
    MustAppend(*truncated, {MakeBatch(5, "t")});
    ASSERT_TRUE(truncated->TruncatePrefix(5).ok());  // no batches left, start 5
  }

  Reopen();
  std::vector<PartitionId> listed = manager_->List();
  EXPECT_EQ(listed.size(), ids.size() + 2);
  for (size_t i = 0; i < ids.size(); ++i) {
    SCOPED_TRACE(DescribePartition(ids[i]));
    auto log = manager_->Get(ids[i]);
    ASSERT_NE(log, nullptr);
    const int64_t per_round = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(log->log_start_offset(), 0);
    EXPECT_EQ(log->log_end_offset(), 3 * per_round);
    std::vector<batch::Record> records = Records(MustRead(*log, 0));
    ASSERT_EQ(records.size(), static_cast<size_t>(3 * per_round));
    EXPECT_EQ(records.back().value, "r2-" + std::to_string(per_round - 1));
    // Offsets continue after the restart.
    EXPECT_EQ(MustAppend(*log, {MakeBatch(1, "after")}).base_offset, 3 * per_round);
  }
  auto empty = manager_->Get({3, 0});
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->log_start_offset(), 0);
  EXPECT_EQ(empty->log_end_offset(), 0);
  auto truncated = manager_->Get({4, 0});
  ASSERT_NE(truncated, nullptr);
  EXPECT_EQ(truncated->log_start_offset(), 5);
  EXPECT_EQ(truncated->log_end_offset(), 5);
  EXPECT_EQ(MustAppend(*truncated, {MakeBatch(1, "x")}).base_offset, 5);
}

TEST_F(LogTest, OffsetForTimestampFindsFirstBatchReachingTheTimestamp) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(3, "a", /*first_ts=*/1000), MakeBatch(2, "b", /*first_ts=*/2000),
                    MakeBatch(4, "c", /*first_ts=*/3000)});  // [0-2] [3-4] [5-8]
  auto at = [&](int64_t ts) {
    absl::StatusOr<int64_t> offset = log->OffsetForTimestamp(ts);
    EXPECT_TRUE(offset.ok()) << offset.status();
    return offset.ok() ? *offset : -1;
  };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(1002), 0);
  EXPECT_EQ(at(1003), 3);
  EXPECT_EQ(at(2001), 3);
  EXPECT_EQ(at(2002), 5);
  EXPECT_EQ(at(3003), 5);
  EXPECT_EQ(at(3004), 9);  // none: the log end

  // A batch straddling the start answers with the start, not a deleted offset.
  ASSERT_TRUE(log->TruncatePrefix(4).ok());
  EXPECT_EQ(at(0), 4);
}

TEST_F(LogTest, WaitForAppendWakesOnAppend) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(2, "a")});
  // Data past offset 1 already exists: no wait.
  EXPECT_TRUE(log->WaitForAppend(1, absl::Now()));

  std::thread appender([&] {
    absl::SleepFor(absl::Milliseconds(50));
    MustAppend(*log, {MakeBatch(1, "b")});
  });
  EXPECT_TRUE(log->WaitForAppend(2, absl::Now() + absl::Seconds(30)));
  EXPECT_EQ(log->log_end_offset(), 3);
  appender.join();
}

TEST_F(LogTest, WaitForAppendTimesOutWithoutAppend) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(2, "a")});
  const absl::Time start = absl::Now();
  EXPECT_FALSE(log->WaitForAppend(2, start + absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(LogTest, DeleteFreesDataAndARecreatedPartitionStartsEmpty) {
  const PartitionId id{7, 1};
  const PartitionId neighbour{7, 2};
  auto log = Create(id);
  auto other = Create(neighbour);
  for (int i = 0; i < 16; ++i) {
    MustAppend(*log, {MakeBatch(64, absl::StrCat("v", i), 1000, 4000)});  // ~256 KiB each
  }
  MustAppend(*other, {MakeBatch(3, "keep")});
  // Reopening flushes the data to SST files, so the delete must compact them.
  log.reset();
  other.reset();
  Reopen();
  log = manager_->Get(id);
  other = manager_->Get(neighbour);
  ASSERT_NE(log, nullptr);
  EXPECT_GT(manager_->ApproximateSizeBytes(id), 2u << 20);

  std::thread waiter([&] { EXPECT_FALSE(log->WaitForAppend(1 << 20, absl::InfiniteFuture())); });
  ASSERT_TRUE(manager_->Delete(id).ok());
  waiter.join();  // woken by the delete

  EXPECT_LT(manager_->ApproximateSizeBytes(id), 64u << 10);
  EXPECT_EQ(manager_->Get(id), nullptr);
  EXPECT_EQ(manager_->List(), std::vector<PartitionId>{neighbour});
  // The handle still held sees a dead log.
  EXPECT_EQ(log->Read(0, 1 << 20, kNoLimit).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->Append({MakeBatch(1, "x")}, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->OffsetForTimestamp(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_->Delete(id).code(), absl::StatusCode::kNotFound);
  log.reset();

  auto recreated = Create(id);
  EXPECT_EQ(recreated->log_start_offset(), 0);
  EXPECT_EQ(recreated->log_end_offset(), 0);
  EXPECT_EQ(MustRead(*recreated, 0), "");
  EXPECT_TRUE(recreated->EpochHistory().empty());
  MustAppend(*recreated, {MakeBatch(2, "new")}, /*epoch=*/1);

  recreated.reset();
  other.reset();
  Reopen();
  auto reopened = manager_->Get(id);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->log_end_offset(), 2);
  std::vector<batch::Record> records = Records(MustRead(*reopened, 0));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "new-0");
  EXPECT_EQ(Records(MustRead(*manager_->Get(neighbour), 0)).size(), 3u);
}

TEST_F(LogTest, TruncatePrefixAdvancesTheStartAndPersistsIt) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);  // [0-2] [3-4] [5-8]
  ASSERT_TRUE(log->TruncatePrefix(4).ok());
  EXPECT_EQ(log->log_start_offset(), 4);
  // The batch straddling the new start is kept whole.
  EXPECT_EQ(BatchRanges(MustRead(*log, 4)), (Ranges{{3, 4}, {5, 8}}));
  ASSERT_TRUE(log->TruncatePrefix(2).ok());  // behind the start: no-op
  EXPECT_EQ(log->log_start_offset(), 4);
  EXPECT_EQ(log->TruncatePrefix(10).code(), absl::StatusCode::kOutOfRange);

  ASSERT_TRUE(log->TruncatePrefix(5).ok());
  EXPECT_EQ(BatchRanges(MustRead(*log, 5)), (Ranges{{5, 8}}));
  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_start_offset(), 5);
  EXPECT_EQ(log->log_end_offset(), 9);
  EXPECT_EQ(BatchRanges(MustRead(*log, 5)), (Ranges{{5, 8}}));

  ASSERT_TRUE(log->TruncatePrefix(9).ok());  // everything
  EXPECT_EQ(log->log_start_offset(), 9);
  EXPECT_EQ(MustRead(*log, 9), "");
  EXPECT_EQ(MustAppend(*log, {MakeBatch(1, "z")}).base_offset, 9);
}

TEST_F(LogTest, TruncateSuffixRemovesTheTailAndItsEpochs) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(3, "a")}, /*epoch=*/1);  // [0-2]
  MustAppend(*log, {MakeBatch(2, "b")}, /*epoch=*/2);  // [3-4]
  MustAppend(*log, {MakeBatch(4, "c")}, /*epoch=*/3);  // [5-8]
  ASSERT_EQ(log->EpochHistory(), (EpochList{{1, 0}, {2, 3}, {3, 5}}));

  absl::Status straddle = log->TruncateSuffix(4);
  EXPECT_EQ(straddle.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->log_end_offset(), 9);
  EXPECT_EQ(log->TruncateSuffix(10).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(log->TruncateSuffix(9).ok());  // the end: no-op
  EXPECT_EQ(log->log_end_offset(), 9);

  ASSERT_TRUE(log->TruncateSuffix(5).ok());
  EXPECT_EQ(log->log_end_offset(), 5);
  EXPECT_EQ(log->EpochHistory(), (EpochList{{1, 0}, {2, 3}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 0)), (Ranges{{0, 2}, {3, 4}}));
  EXPECT_EQ(log->Read(6, 1 << 20, kNoLimit).status().code(), absl::StatusCode::kOutOfRange);

  // The new leader's appends reuse the truncated offsets.
  EXPECT_EQ(MustAppend(*log, {MakeBatch(1, "d")}, /*epoch=*/4).base_offset, 5);
  EXPECT_EQ(log->EpochHistory(), (EpochList{{1, 0}, {2, 3}, {4, 5}}));
  ASSERT_TRUE(log->TruncateSuffix(3).ok());
  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 3);
  EXPECT_EQ(log->EpochHistory(), (EpochList{{1, 0}}));
  std::vector<batch::Record> records = Records(MustRead(*log, 0));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.back().value, "a-2");
  EXPECT_EQ(MustAppend(*log, {MakeBatch(1, "e")}).base_offset, 3);
}

TEST_F(LogTest, EpochHistoryRecordsNewerEpochsAndSurvivesReopen) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(2, "a")}, /*epoch=*/0);
  MustAppend(*log, {MakeBatch(2, "b")}, /*epoch=*/0);  // same epoch: no new entry
  MustAppend(*log, {MakeBatch(2, "c"), MakeBatch(1, "d")}, /*epoch=*/5);
  MustAppend(*log, {MakeBatch(1, "e")}, /*epoch=*/3);  // older: stored, not recorded
  MustAppend(*log, {MakeBatch(1, "f")}, /*epoch=*/6);
  const EpochList want = {{0, 0}, {5, 4}, {6, 8}};
  EXPECT_EQ(log->EpochHistory(), want);
  // The stale epoch is still stamped as given.
  absl::StatusOr<batch::BatchHeader> stale = batch::ParseHeader(MustRead(*log, 7));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->partition_leader_epoch, 3);

  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->EpochHistory(), want);
  MustAppend(*log, {MakeBatch(1, "g")}, /*epoch=*/6);
  EXPECT_EQ(log->EpochHistory(), want);
}

TEST_F(LogTest, TruncatePrefixTrimsTheEpochHistory) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(3, "a")}, /*epoch=*/1);  // [0-2]
  MustAppend(*log, {MakeBatch(2, "b")}, /*epoch=*/2);  // [3-4]
  MustAppend(*log, {MakeBatch(4, "c")}, /*epoch=*/3);  // [5-8]
  ASSERT_TRUE(log->TruncatePrefix(4).ok());
  EXPECT_EQ(log->EpochHistory(), (EpochList{{2, 4}, {3, 5}}));
  ASSERT_TRUE(log->TruncatePrefix(5).ok());
  EXPECT_EQ(log->EpochHistory(), (EpochList{{3, 5}}));
  log.reset();
  Reopen();
  EXPECT_EQ(manager_->Get({1, 0})->EpochHistory(), (EpochList{{3, 5}}));
}

TEST_F(LogTest, SizeBytesIsExactThroughEveryWriteAndSurvivesReopen) {
  auto log = Create({1, 0});
  EXPECT_EQ(log->size_bytes(), 0);
  const std::vector<std::string> batches = {MakeBatch(3, "a"), MakeBatch(2, "b"),
                                            MakeBatch(4, "c"), MakeBatch(1, "d")};
  MustAppend(*log, {batches[0], batches[1], batches[2]});  // [0-2] [3-4] [5-8]
  MustAppend(*log, {batches[3]});                          // [9]
  int64_t total = 0;
  for (const std::string& b : batches) total += static_cast<int64_t>(b.size());
  EXPECT_EQ(log->size_bytes(), total);

  ASSERT_TRUE(log->TruncatePrefix(4).ok());  // drops [0-2]; [3-4] straddles and stays
  total -= static_cast<int64_t>(batches[0].size());
  EXPECT_EQ(log->size_bytes(), total);
  ASSERT_TRUE(log->TruncateSuffix(9).ok());  // drops [9]
  total -= static_cast<int64_t>(batches[3].size());
  EXPECT_EQ(log->size_bytes(), total);

  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size_bytes(), total);
}

// Data directories written before sizes were tracked have version 1
// metadata: opening one sums the batches once.
TEST_F(LogTest, SizeIsRecomputedFromOlderMetadata) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);
  ASSERT_TRUE(log->TruncatePrefix(3).ok());
  const int64_t size = log->size_bytes();
  log.reset();
  manager_.reset();
  {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_,
                                  {{rocksdb::kDefaultColumnFamilyName, {}},
                                   {layout::kMetaColumnFamily, {}}},
                                  &handles, &raw)
                    .ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string v1(1, '\x01');
    layout::AppendBigEndian64(3, &v1);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], layout::MetaKey({1, 0}), v1).ok());
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_start_offset(), 3);
  EXPECT_EQ(log->size_bytes(), size);
}

// A store from before the meta column family (meta keys among the batches)
// is refused with a clear error, not misread.
TEST_F(LogTest, OpeningAStoreWithTheOldSingleColumnFamilyLayoutFails) {
  manager_.reset();
  std::filesystem::remove_all(dir_);
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), layout::LogKey({1, 0}, 2), MakeBatch(3, "a")).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), layout::MetaKey({1, 0}),
                        layout::EncodeMeta({0, 100}))
                    .ok());
    ASSERT_TRUE(db->Close().ok());
  }
  absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(TestOptions());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_NE(opened.status().message().find("old layout"), absl::string_view::npos)
      << opened.status();
}

TEST_F(LogTest, ScanBatchesVisitsBatchesEndingInTheRangeUntilTold) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);  // [0-2] [3-4] [5-8]
  auto scan = [&](int64_t from, int64_t to, int stop_after) {
    Ranges seen;
    absl::Status s = log->ScanBatches(from, to, [&](absl::string_view b) {
      absl::StatusOr<batch::BatchHeader> h = batch::ParseHeader(b);
      EXPECT_TRUE(h.ok());
      seen.emplace_back(h->base_offset, h->last_offset());
      return static_cast<int>(seen.size()) < stop_after;
    });
    EXPECT_TRUE(s.ok()) << s;
    return seen;
  };
  EXPECT_EQ(scan(0, kNoLimit, 10), (Ranges{{0, 2}, {3, 4}, {5, 8}}));
  EXPECT_EQ(scan(4, 8, 10), (Ranges{{3, 4}}));  // [5-8] ends at 8, not below it
  EXPECT_EQ(scan(0, kNoLimit, 2), (Ranges{{0, 2}, {3, 4}}));
  ASSERT_TRUE(log->TruncatePrefix(3).ok());
  EXPECT_EQ(scan(0, kNoLimit, 10), (Ranges{{3, 4}, {5, 8}}));
}

// The batch a compaction would leave of `original`: the records at the given
// absolute offsets, at their offsets.
std::string KeepOnly(absl::string_view original, const std::vector<int64_t>& offsets) {
  absl::StatusOr<batch::BatchHeader> h = batch::ParseHeader(original);
  EXPECT_TRUE(h.ok());
  std::vector<batch::Record> records;
  EXPECT_TRUE(batch::DecodeRecords(original, &records).ok());
  batch::BatchBuilder builder(h->compression());
  builder.RebuildFrom(*h);
  for (const batch::Record& r : records) {
    if (std::find(offsets.begin(), offsets.end(), r.offset) == offsets.end()) continue;
    EXPECT_TRUE(builder
                    .AppendAt(static_cast<int32_t>(r.offset - h->base_offset), r.timestamp, r.key,
                              r.value, r.headers)
                    .ok());
  }
  absl::StatusOr<std::string> built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : std::string();
}

TEST_F(LogTest, RewriteBatchesReplacesAndDeletesAtomicallyKeepingOffsets) {
  auto log = Create({1, 0});
  AppendThreeBatches(*log);  // [0-2] [3-4] [5-8]
  std::vector<std::string> stored;
  std::vector<batch::BatchHeader> headers;
  const std::string before = MustRead(*log, 0);
  for (absl::string_view b : batch::SplitStoredBatches(before)) {
    stored.emplace_back(b);
    headers.push_back(*batch::ParseHeader(b));
  }
  ASSERT_EQ(stored.size(), 3u);

  const std::string thinned = KeepOnly(stored[1], {4});
  absl::StatusOr<int> applied = log->RewriteBatches({
      {headers[0], std::nullopt},  // delete [0-2]
      {headers[1], thinned},       // [3-4] keeps only offset 4
      {headers[2], std::nullopt},  // the last batch: skipped, recovery needs it
  });
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 2);
  const int64_t want_size = static_cast<int64_t>(thinned.size() + stored[2].size());
  EXPECT_EQ(log->size_bytes(), want_size);

  auto check = [&](const PartitionLog& l) {
    EXPECT_EQ(l.log_start_offset(), 0);
    EXPECT_EQ(l.log_end_offset(), 9);
    // Reading from the start lands on the first batch left.
    const std::string data = MustRead(l, 0);
    EXPECT_EQ(BatchRanges(data), (Ranges{{3, 4}, {5, 8}}));
    std::vector<int64_t> offsets;
    for (absl::string_view b : batch::SplitStoredBatches(data)) {
      EXPECT_TRUE(batch::ValidateStoredBatch(b).ok()) << batch::ValidateStoredBatch(b);
      std::vector<batch::Record> records;
      EXPECT_TRUE(batch::DecodeRecords(b, &records).ok());
      for (const auto& r : records) offsets.push_back(r.offset);
    }
    EXPECT_EQ(offsets, (std::vector<int64_t>{4, 5, 6, 7, 8}));
  };
  check(*log);

  // A rewrite of a batch that is gone or changed is skipped.
  batch::BatchHeader stale = headers[1];
  stale.crc ^= 1;
  applied = log->RewriteBatches({{headers[0], std::nullopt}, {stale, std::nullopt}});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 0);
  // A replacement must keep the batch's offsets.
  EXPECT_EQ(log->RewriteBatches({{headers[2], stored[0]}}).status().code(),
            absl::StatusCode::kInvalidArgument);

  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  check(*log);
  EXPECT_EQ(log->size_bytes(), want_size);
  EXPECT_EQ(MustAppend(*log, {MakeBatch(1, "z")}).base_offset, 9);
}

TEST_F(LogTest, ConcurrentAppendsProduceAGaplessOrderedLog) {
  auto log = Create({1, 0});
  constexpr int kThreads = 4;
  constexpr int kAppendsPerThread = 100;
  std::atomic<bool> done{false};

  // A reader runs alongside: every read must be gapless too.
  std::thread reader([&] {
    while (!done.load()) {
      absl::StatusOr<std::string> data = log->Read(0, 1 << 30, kNoLimit);
      ASSERT_TRUE(data.ok()) << data.status();
      int64_t expected = 0;
      for (const auto& [base, last] : BatchRanges(*data)) {
        ASSERT_EQ(base, expected);
        expected = last + 1;
      }
    }
  });
  std::vector<std::thread> writers;
  int64_t total_records = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kAppendsPerThread; ++i) total_records += 1 + (t + i) % 5;
    writers.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        AppendResult result =
            MustAppend(*log, {MakeBatch(1 + (t + i) % 5, absl::StrCat(t, "/", i))});
        EXPECT_EQ(result.last_offset - result.base_offset, (t + i) % 5);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done.store(true);
  reader.join();

  EXPECT_EQ(log->log_end_offset(), total_records);
  std::vector<batch::Record> records = Records(MustRead(*log, 0));
  ASSERT_EQ(records.size(), static_cast<size_t>(total_records));
  // Each writer's batches appear in the order it appended them.
  std::vector<int> next_index(kThreads, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(records[i].offset, static_cast<int64_t>(i));
    if (records[i].key != "k0") continue;  // first record of a batch
    const std::string& value = *records[i].value;
    const int thread = value[0] - '0';
    EXPECT_EQ(value, absl::StrCat(thread, "/", next_index[thread], "-0"));
    ++next_index[thread];
  }
  EXPECT_EQ(next_index, std::vector<int>(kThreads, kAppendsPerThread));
}

// --- Replication (followers) ---

// A batch as a leader would send it: `count` records at `base` with offset
// deltas spaced by `stride` (stride > 1 looks like a compacted batch with
// gaps inside), stamped with the leader's `epoch`.
std::string LeaderBatch(int64_t base, int count, int32_t epoch, int stride = 1) {
  batch::BatchBuilder builder;
  for (int i = 0; i < count; ++i) {
    EXPECT_TRUE(builder.AppendAt(i * stride, 1000 + i, absl::StrCat("k", i), "v").ok());
  }
  absl::StatusOr<std::string> built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status();
  if (!built.ok()) return std::string();
  batch::SetBaseOffset(built->data(), base);
  batch::SetPartitionLeaderEpoch(built->data(), epoch);
  return *built;
}

absl::StatusOr<AppendResult> Replicate(PartitionLog& log, const std::vector<std::string>& batches) {
  std::vector<absl::string_view> views(batches.begin(), batches.end());
  return log.AppendReplicated(views);
}

TEST_F(LogTest, AppendReplicatedKeepsLeaderOffsetsAndEpochsAcrossReopen) {
  auto log = Create({1, 0});
  const std::vector<std::string> first = {LeaderBatch(0, 3, /*epoch=*/2),
                                          // Offsets 3, 5, 7: a compacted batch, last offset 7.
                                          LeaderBatch(3, 3, /*epoch=*/2, /*stride=*/2)};
  absl::StatusOr<AppendResult> result = Replicate(*log, first);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->base_offset, 0);
  EXPECT_EQ(result->last_offset, 7);
  EXPECT_EQ(result->log_end_offset, 8);
  // Batches 8..11 were deleted by compaction on the leader: a gap.
  const std::vector<std::string> second = {LeaderBatch(12, 2, /*epoch=*/4),
                                           LeaderBatch(14, 1, /*epoch=*/5)};
  result = Replicate(*log, second);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->base_offset, 12);
  EXPECT_EQ(result->log_end_offset, 15);
  const int64_t want_size = static_cast<int64_t>(first[0].size() + first[1].size() +
                                                 second[0].size() + second[1].size());
  const EpochList want_epochs = {{2, 0}, {4, 12}, {5, 14}};

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before reopen" : "after reopen");
    EXPECT_EQ(log->log_start_offset(), 0);
    EXPECT_EQ(log->log_end_offset(), 15);
    EXPECT_EQ(log->size_bytes(), want_size);
    EXPECT_EQ(log->EpochHistory(), want_epochs);
    EXPECT_EQ(log->latest_epoch(), 5);
    const std::string all = MustRead(*log, 0);
    EXPECT_EQ(BatchRanges(all), (Ranges{{0, 2}, {3, 7}, {12, 13}, {14, 14}}));
    // Stored byte for byte as the leader sent them, epochs included.
    EXPECT_EQ(all, first[0] + first[1] + second[0] + second[1]);
    EXPECT_EQ(BatchRanges(MustRead(*log, 9)), (Ranges{{12, 13}, {14, 14}}));
    log.reset();
    Reopen();
    log = manager_->Get({1, 0});
    ASSERT_NE(log, nullptr);
  }
}

TEST_F(LogTest, AppendReplicatedRefusesOverlapAndDisorderWritingNothing) {
  auto log = Create({1, 0});
  ASSERT_TRUE(Replicate(*log, {LeaderBatch(0, 5, 1)}).ok());  // [0-4]
  const int64_t size = log->size_bytes();
  struct Case {
    const char* name;
    std::vector<std::string> batches;
  };
  const std::vector<Case> cases = {
      {"starts below the end", {LeaderBatch(4, 2, 1)}},
      {"replays the log", {LeaderBatch(0, 5, 1)}},
      {"second overlaps first", {LeaderBatch(5, 3, 1), LeaderBatch(7, 2, 1)}},
      {"out of order", {LeaderBatch(10, 1, 1), LeaderBatch(6, 1, 1)}},
      {"negative base offset", {LeaderBatch(-3, 1, 1)}},
      {"not a batch", {std::string("garbage")}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<AppendResult> result = Replicate(*log, c.batches);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_EQ(log->log_end_offset(), 5);
    EXPECT_EQ(log->size_bytes(), size);
    EXPECT_EQ(log->EpochHistory(), (EpochList{{1, 0}}));
  }
  EXPECT_EQ(Replicate(*log, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchRanges(MustRead(*log, 0)), (Ranges{{0, 4}}));
}

TEST_F(LogTest, AppendReplicatedWakesWaiters) {
  auto log = Create({1, 0});
  std::thread appender([&log] {
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(Replicate(*log, {LeaderBatch(0, 1, 0)}).ok());
  });
  EXPECT_TRUE(log->WaitForAppend(0, absl::Now() + absl::Seconds(30)));
  appender.join();
}

TEST_F(LogTest, ResetToEmptiesTheLogAndReplicationResumesThere) {
  auto log = Create({1, 0});
  MustAppend(*log, {MakeBatch(3, "a"), MakeBatch(2, "b")}, /*epoch=*/1);  // [0-2] [3-4]
  ASSERT_TRUE(log->ResetTo(100).ok());
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 100);
  EXPECT_EQ(log->size_bytes(), 0);
  EXPECT_TRUE(log->EpochHistory().empty());
  EXPECT_EQ(log->latest_epoch(), -1);
  EXPECT_EQ(log->Read(0, 1 << 20, kNoLimit).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(MustRead(*log, 100), "");

  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 100);
  EXPECT_EQ(log->size_bytes(), 0);
  EXPECT_TRUE(log->EpochHistory().empty());

  // The leader's first batch straddles its log start (100): accepted whole on
  // an empty log; the start stays and the epoch begins at the old end.
  const std::string straddling = LeaderBatch(98, 5, /*epoch=*/7);  // [98-102]
  absl::StatusOr<AppendResult> result = Replicate(*log, {straddling});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->base_offset, 100);
  EXPECT_EQ(result->log_end_offset, 103);
  // Not empty any more: a straddling batch is now an overlap.
  EXPECT_EQ(Replicate(*log, {LeaderBatch(101, 3, 7)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Replicate(*log, {LeaderBatch(103, 2, 8)}).ok());

  log.reset();
  Reopen();
  log = manager_->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 105);
  EXPECT_EQ(log->size_bytes(), static_cast<int64_t>(straddling.size() +
                                                    LeaderBatch(103, 2, 8).size()));
  EXPECT_EQ(log->EpochHistory(), (EpochList{{7, 100}, {8, 103}}));
  EXPECT_EQ(BatchRanges(MustRead(*log, 100)), (Ranges{{98, 102}, {103, 104}}));

  EXPECT_EQ(log->ResetTo(-1).code(), absl::StatusCode::kInvalidArgument);
  // Resetting below the current start is allowed too (a diverged follower).
  ASSERT_TRUE(log->ResetTo(50).ok());
  EXPECT_EQ(log->log_end_offset(), 50);
  ASSERT_TRUE(Replicate(*log, {LeaderBatch(50, 1, 9)}).ok());
  EXPECT_EQ(BatchRanges(MustRead(*log, 50)), (Ranges{{50, 50}}));
}

TEST_F(LogTest, EndOffsetForEpochFindsTheEndOfTheLargestEpochNotAbove) {
  using Answer = std::optional<std::pair<int32_t, int64_t>>;
  auto log = Create({1, 0});
  EXPECT_EQ(log->EndOffsetForEpoch(0), Answer());  // no history at all
  MustAppend(*log, {MakeBatch(3, "a")}, /*epoch=*/2);  // [0-2]
  EXPECT_EQ(log->EndOffsetForEpoch(2), Answer({2, 3}));  // the only, latest epoch: the end
  MustAppend(*log, {MakeBatch(2, "b")}, /*epoch=*/4);  // [3-4]
  MustAppend(*log, {MakeBatch(4, "c")}, /*epoch=*/7);  // [5-8]
  // History {2,0} {4,3} {7,5}; end 9.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before reopen" : "after reopen");
    EXPECT_EQ(log->latest_epoch(), 7);
    EXPECT_EQ(log->EndOffsetForEpoch(1), Answer());        // below every epoch
    EXPECT_EQ(log->EndOffsetForEpoch(2), Answer({2, 3}));  // first
    EXPECT_EQ(log->EndOffsetForEpoch(3), Answer({2, 3}));  // between 2 and 4
    EXPECT_EQ(log->EndOffsetForEpoch(4), Answer({4, 5}));  // middle
    EXPECT_EQ(log->EndOffsetForEpoch(6), Answer({4, 5}));  // between 4 and 7
    EXPECT_EQ(log->EndOffsetForEpoch(7), Answer({7, 9}));  // latest: the log end
    EXPECT_EQ(log->EndOffsetForEpoch(100), Answer({7, 9}));
    log.reset();
    Reopen();
    log = manager_->Get({1, 0});
    ASSERT_NE(log, nullptr);
  }
  // A follower truncating to the answer drops the later epochs.
  ASSERT_TRUE(log->TruncateSuffix(5).ok());
  EXPECT_EQ(log->latest_epoch(), 4);
  EXPECT_EQ(log->EndOffsetForEpoch(7), Answer({4, 5}));
}

}  // namespace
}  // namespace runnel::storage
