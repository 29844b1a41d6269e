#include "broker/storage/wal_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace runnel::storage {
namespace {

struct Replayed {
  std::vector<std::pair<uint64_t, std::string>> records;  // (ordinal, payload)
  std::vector<uint64_t> ends;
  WalRing::ReplayResult result;
};

Replayed ReplayAll(WalRing& ring, uint64_t from, uint64_t first_ordinal) {
  Replayed out;
  absl::StatusOr<WalRing::ReplayResult> result = ring.Replay(
      from, first_ordinal, [&out](uint64_t ordinal, absl::string_view payload, uint64_t end) {
        out.records.emplace_back(ordinal, std::string(payload));
        out.ends.push_back(end);
        return absl::OkStatus();
      });
  EXPECT_TRUE(result.ok()) << result.status();
  if (result.ok()) out.result = *result;
  return out;
}

class WalRingTest : public ::testing::Test {
 protected:
  std::string path_ = MakeTempDir("wal_ring_test") + "/wal.ring";

  std::unique_ptr<WalRing> Create(uint64_t capacity) {
    WalRingOptions options;
    options.capacity_bytes = capacity;
    options.full_timeout = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<WalRing>> ring = WalRing::Create(path_, options);
    EXPECT_TRUE(ring.ok()) << ring.status();
    return ring.ok() ? std::move(*ring) : nullptr;
  }
  std::unique_ptr<WalRing> Reopen() {
    absl::StatusOr<std::unique_ptr<WalRing>> ring = WalRing::Open(path_, WalRingOptions());
    EXPECT_TRUE(ring.ok()) << ring.status();
    return ring.ok() ? std::move(*ring) : nullptr;
  }
  // Overwrites one byte of the file.
  void CorruptByteAt(uint64_t file_offset) {
    const int fd = open(path_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c = 0;
    ASSERT_EQ(pread(fd, &c, 1, static_cast<off_t>(file_offset)), 1);
    c = static_cast<char>(c ^ 0x5a);
    ASSERT_EQ(pwrite(fd, &c, 1, static_cast<off_t>(file_offset)), 1);
    close(fd);
  }
};

TEST_F(WalRingTest, AppendedRecordsReplayInOrderAfterReopen) {
  uint64_t id = 0;
  std::vector<uint64_t> ends;
  {
    std::unique_ptr<WalRing> ring = Create(1 << 20);
    id = ring->id();
    for (int i = 0; i < 5; ++i) {
      const std::string payload = absl::StrCat("record-", i, std::string(i * 100, 'x'));
      const uint64_t predicted = ring->EndOfNext(payload.size());
      absl::StatusOr<uint64_t> end = ring->Append(payload);
      ASSERT_TRUE(end.ok()) << end.status();
      EXPECT_EQ(*end, predicted);
      ends.push_back(*end);
    }
    EXPECT_EQ(ring->next_ordinal(), 6u);
  }
  std::unique_ptr<WalRing> ring = Reopen();
  EXPECT_EQ(ring->id(), id);
  EXPECT_EQ(ring->capacity(), 1u << 20);
  Replayed all = ReplayAll(*ring, 0, 1);
  ASSERT_EQ(all.records.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all.records[i].first, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(all.records[i].second, absl::StrCat("record-", i, std::string(i * 100, 'x')));
  }
  EXPECT_EQ(all.ends, ends);
  EXPECT_EQ(all.result.end, ends.back());
  EXPECT_EQ(all.result.next_ordinal, 6u);
  EXPECT_EQ(ring->head(), ends.back());
}

TEST_F(WalRingTest, ReplayResumesAfterAGivenRecordAndAppendsAfterTheLast) {
  std::vector<uint64_t> ends;
  {
    std::unique_ptr<WalRing> ring = Create(1 << 20);
    for (int i = 0; i < 4; ++i) ends.push_back(*ring->Append(absl::StrCat("r", i)));
  }
  std::unique_ptr<WalRing> ring = Reopen();
  // As if records 1 and 2 were flushed: resume after record 2.
  Replayed rest = ReplayAll(*ring, ends[1], 3);
  ASSERT_EQ(rest.records.size(), 2u);
  EXPECT_EQ(rest.records[0], std::make_pair(uint64_t{3}, std::string("r2")));
  EXPECT_EQ(rest.records[1], std::make_pair(uint64_t{4}, std::string("r3")));
  EXPECT_EQ(ring->unreleased_bytes(), ends[3] - ends[1]);
  absl::StatusOr<uint64_t> next = ring->Append("r4");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_GT(*next, ends[3]);
  EXPECT_EQ(ring->next_ordinal(), 6u);
}

TEST_F(WalRingTest, ReplayStopsAtADamagedRecordAndNothingAfterItIsReplayed) {
  std::vector<uint64_t> ends;
  {
    std::unique_ptr<WalRing> ring = Create(1 << 20);
    for (int i = 0; i < 4; ++i) ends.push_back(*ring->Append(std::string(100, 'a' + i)));
  }
  // One payload byte of the third record (it starts at ends[1]).
  CorruptByteAt(WalRing::kFileHeaderSize + ends[1] + WalRing::kRecordHeaderSize + 10);
  std::unique_ptr<WalRing> ring = Reopen();
  Replayed all = ReplayAll(*ring, 0, 1);
  ASSERT_EQ(all.records.size(), 2u);
  EXPECT_EQ(all.result.end, ends[1]);
  EXPECT_EQ(all.result.next_ordinal, 3u);
  // The next append overwrites the damaged record.
  EXPECT_EQ(ring->EndOfNext(5), ends[1] + WalRing::kRecordHeaderSize + 5);
}

TEST_F(WalRingTest, ATornTailIsTheEnd) {
  std::vector<uint64_t> ends;
  {
    std::unique_ptr<WalRing> ring = Create(1 << 20);
    for (int i = 0; i < 3; ++i) ends.push_back(*ring->Append(std::string(1000, 'z')));
  }
  // A crash in the middle of writing the third record: its second half is
  // what the file held before (zeros).
  const int fd = open(path_.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const std::string zeros(500, '\0');
  ASSERT_EQ(pwrite(fd, zeros.data(), zeros.size(),
                   static_cast<off_t>(WalRing::kFileHeaderSize + ends[2] - 500)),
            500);
  close(fd);
  std::unique_ptr<WalRing> ring = Reopen();
  Replayed all = ReplayAll(*ring, 0, 1);
  EXPECT_EQ(all.records.size(), 2u);
  EXPECT_EQ(all.result.end, ends[1]);
}

TEST_F(WalRingTest, WrapsToTheNextLapAndReplaysAcrossIt) {
  constexpr uint64_t kCapacity = 8192;
  const std::string payload(1000, 'p');  // 1024-byte records
  std::unique_ptr<WalRing> ring = Create(kCapacity);
  std::vector<uint64_t> ends;
  for (int i = 0; i < 7; ++i) ends.push_back(*ring->Append(payload));
  ring->Release(ends[5]);  // records 1..6 flushed
  // 1024 bytes are left in lap 0; a 1025-byte record must go to lap 1.
  const std::string larger(1001, 'q');
  absl::StatusOr<uint64_t> wrapped = ring->Append(larger);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(*wrapped, kCapacity + WalRing::kRecordHeaderSize + larger.size());
  ring.reset();

  ring = Reopen();
  Replayed rest = ReplayAll(*ring, ends[5], 7);
  ASSERT_EQ(rest.records.size(), 2u);
  EXPECT_EQ(rest.records[0].first, 7u);
  EXPECT_EQ(rest.records[1].first, 8u);
  EXPECT_EQ(rest.records[1].second, larger);
  EXPECT_EQ(rest.result.end, *wrapped);
}

TEST_F(WalRingTest, AnEarlierLapIsNeverReplayedAsNewRecords) {
  constexpr uint64_t kCapacity = 8192;
  const std::string payload(1000, 'p');
  std::unique_ptr<WalRing> ring = Create(kCapacity);
  // Lap 0 full of records 1..8, all flushed; then records 9 and 10 overwrite
  // the start of the ring.
  uint64_t end = 0;
  for (int i = 0; i < 8; ++i) {
    end = *ring->Append(payload);
    ring->Release(end);
  }
  ASSERT_TRUE(ring->Append("nine").ok());
  const uint64_t after_10 = *ring->Append("ten");
  ring.reset();
  ring = Reopen();
  Replayed rest = ReplayAll(*ring, after_10, 11);
  // What follows record 10 in the file is the middle of lap 0's record 1,
  // and the next lap starts with record 9: neither is record 11.
  EXPECT_TRUE(rest.records.empty());
  EXPECT_EQ(rest.result.end, after_10);
}

TEST_F(WalRingTest, AFullRingWaitsForARelease) {
  constexpr uint64_t kCapacity = 8192;
  const std::string payload(2000, 'f');
  std::unique_ptr<WalRing> ring = Create(kCapacity);
  std::vector<uint64_t> ends;
  for (int i = 0; i < 4; ++i) ends.push_back(*ring->Append(payload));  // 8096 bytes

  // No release: the ring stays full and Append gives up.
  absl::StatusOr<uint64_t> refused = ring->Append(payload);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_NE(refused.status().message().find("full"), std::string::npos);
  EXPECT_EQ(ring->next_ordinal(), 5u);

  // A release from another thread lets a waiting Append through; before
  // waiting, Append told its owner that the ring is full.
  std::thread releaser;
  int told = 0;
  absl::StatusOr<uint64_t> appended = ring->Append(payload, [&] {
    ++told;
    releaser = std::thread([&ring, &ends] {
      absl::SleepFor(absl::Milliseconds(50));
      ring->Release(ends[0]);
    });
  });
  releaser.join();
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(told, 1);
  EXPECT_EQ(*appended, kCapacity + WalRing::kRecordHeaderSize + payload.size());
}

TEST_F(WalRingTest, ARecordLargerThanTheRingIsRefused) {
  std::unique_ptr<WalRing> ring = Create(8192);
  absl::StatusOr<uint64_t> refused = ring->Append(std::string(8192, 'x'));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(ring->head(), 0u);
}

TEST_F(WalRingTest, OpenRefusesMissingAndForeignFiles) {
  EXPECT_EQ(WalRing::Open(path_, WalRingOptions()).status().code(), absl::StatusCode::kNotFound);
  {
    const int fd = open(path_.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    const std::string junk(8192, 'j');
    ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
    close(fd);
  }
  absl::StatusOr<std::unique_ptr<WalRing>> foreign = WalRing::Open(path_, WalRingOptions());
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kDataLoss) << foreign.status();
  EXPECT_NE(foreign.status().message().find("not a write-ahead ring"), std::string::npos);
}

TEST_F(WalRingTest, CreateWritesTheWholeRingUpFront) {
  std::unique_ptr<WalRing> ring = Create(1 << 20);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), WalRing::kFileHeaderSize + (1u << 20));
  // Allocated, not sparse: the disk space is taken when the ring is made.
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, WalRing::kFileHeaderSize + (1u << 20));
}

TEST_F(WalRingTest, CreateReplacesAnOldRingWithAnEmptyOne) {
  uint64_t old_id = 0;
  {
    std::unique_ptr<WalRing> ring = Create(1 << 20);
    old_id = ring->id();
    ASSERT_TRUE(ring->Append("old").ok());
  }
  std::unique_ptr<WalRing> ring = Create(1 << 16);
  EXPECT_NE(ring->id(), old_id);
  ring.reset();
  ring = Reopen();
  EXPECT_EQ(ring->capacity(), 1u << 16);
  EXPECT_TRUE(ReplayAll(*ring, 0, 1).records.empty());
}

TEST_F(WalRingTest, SyncedAppendsReplayToo) {
  WalRingOptions options;
  options.capacity_bytes = 1 << 16;
  options.sync = true;
  {
    absl::StatusOr<std::unique_ptr<WalRing>> ring = WalRing::Create(path_, options);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ASSERT_TRUE((*ring)->Append("synced").ok());
  }
  std::unique_ptr<WalRing> ring = Reopen();
  Replayed all = ReplayAll(*ring, 0, 1);
  ASSERT_EQ(all.records.size(), 1u);
  EXPECT_EQ(all.records[0].second, "synced");
}

}  // namespace
}  // namespace runnel::storage
