// DurableWriter through the LogManager that owns it: what a crash leaves in
// the write-ahead ring comes back, in order, and nothing the ring still needs
// is overwritten. A "crash" is a child process (this test binary run again,
// see main) that writes and then _exits without closing the store, so RocksDB
// never flushes its memtables: exactly what kill -9 leaves behind. (Not a
// plain fork: RocksDB's background threads, started by earlier tests, would
// not exist in the child, and its flushes would never run.)
#include "broker/storage/durable_writer.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/storage/log.h"
#include "broker/storage/wal_ring.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"

namespace runnel::storage {
namespace {

std::string MakeBatch(int count, const std::string& tag, size_t value_size = 0) {
  batch::BatchBuilder builder;
  for (int i = 0; i < count; ++i) {
    std::string value = absl::StrCat(tag, "-", i);
    value.resize(std::max(value.size(), value_size), '.');
    builder.Append(1000 + i, absl::StrCat("k", i), value);
  }
  absl::StatusOr<std::string> built = builder.Build();
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *built : std::string();
}

// Every record value of a partition, in offset order.
std::vector<std::string> Values(const PartitionLog& log) {
  std::vector<std::string> values;
  absl::StatusOr<std::string> data =
      log.Read(log.log_start_offset(), size_t{1} << 30, log.log_end_offset());
  EXPECT_TRUE(data.ok()) << data.status();
  if (!data.ok()) return values;
  for (absl::string_view one : batch::SplitStoredBatches(*data)) {
    std::vector<batch::Record> records;
    EXPECT_TRUE(batch::DecodeRecords(one, &records).ok());
    for (const batch::Record& r : records) values.push_back(r.value.value_or("<null>"));
  }
  return values;
}

class DurableWriterTest : public ::testing::Test {
 protected:
  std::string dir_ = MakeTempDir("durable_writer_test");

  StorageOptions Options(uint64_t wal_bytes = uint64_t{16} << 20) const {
    StorageOptions options;
    options.data_dir = dir_;
    options.wal_bytes = wal_bytes;
    return options;
  }

  std::unique_ptr<LogManager> MustOpen(const StorageOptions& options) {
    absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  // Runs the crash-writer scenario `name` (kCrashWriters) against the store
  // in a child process that then exits without closing it.
  void WriteAndCrash(const StorageOptions& options, const std::string& name) {
    const std::string scenario = absl::StrCat("RUNNEL_CRASH_WRITER=", name);
    const std::string dir = absl::StrCat("RUNNEL_CRASH_DIR=", options.data_dir);
    const std::string wal = absl::StrCat("RUNNEL_CRASH_WAL_BYTES=", options.wal_bytes);
    char* const argv[] = {const_cast<char*>("durable_writer_test"), nullptr};
    char* const envp[] = {const_cast<char*>(scenario.c_str()), const_cast<char*>(dir.c_str()),
                          const_cast<char*>(wal.c_str()), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "crash writer did not exit normally";
    ASSERT_EQ(WEXITSTATUS(status), 0) << "crash writer " << name << " failed (see its stderr)";
  }
};

bool Check(const absl::Status& status, const char* what) {
  if (!status.ok()) fprintf(stderr, "child: %s: %s\n", what, status.ToString().c_str());
  return status.ok();
}

bool AppendOne(PartitionLog& log, const std::string& batch) {
  return Check(log.Append({batch}, 0).status(), "append");
}

// --- What the crash writers do (run in the child process) ---

constexpr int kSmallRingBatches = 400;  // about 8 MiB: eight laps of a 1 MiB ring

bool WriteThreePartitions(LogManager& store) {
  // First the deletion: it compacts the partition's range, which flushes
  // the memtables, so what follows is written after the last flush.
  auto deleted = store.GetOrCreate({2, 0});
  if (!deleted.ok() || !AppendOne(**deleted, MakeBatch(2, "gone"))) return false;
  deleted->reset();
  if (!Check(store.Delete({2, 0}), "delete")) return false;
  auto kept = store.GetOrCreate({1, 0});
  auto truncated = store.GetOrCreate({1, 1});
  if (!kept.ok() || !truncated.ok()) return false;
  for (int i = 0; i < 20; ++i) {
    if (!AppendOne(**kept, MakeBatch(3, absl::StrCat("kept", i)))) return false;
  }
  return AppendOne(**truncated, MakeBatch(4, "t0")) && AppendOne(**truncated, MakeBatch(4, "t1")) &&
         Check((*truncated)->TruncatePrefix(4), "truncate");
}

bool AppendOneMore(LogManager& store) {
  auto log = store.Get({1, 0});
  return log != nullptr && AppendOne(*log, MakeBatch(1, "b"));
}

bool FillSmallRing(LogManager& store) {
  auto log = store.GetOrCreate({7, 3});
  if (!log.ok()) return false;
  for (int i = 0; i < kSmallRingBatches; ++i) {
    if (!AppendOne(**log, MakeBatch(4, absl::StrCat("b", i), 5000))) return false;
    if (store.unflushed_wal_bytes() > (1 << 20)) {
      fprintf(stderr, "crash writer: %llu unflushed ring bytes exceed the ring\n",
              static_cast<unsigned long long>(store.unflushed_wal_bytes()));
      return false;
    }
  }
  return true;
}

const std::map<std::string, std::function<bool(LogManager&)>>& CrashWriters() {
  static const auto* writers = new std::map<std::string, std::function<bool(LogManager&)>>{
      {"three_partitions", WriteThreePartitions},
      {"one_more", AppendOneMore},
      {"fill_small_ring", FillSmallRing},
  };
  return *writers;
}

// The child's side of WriteAndCrash: opens the store, writes, and exits
// without closing it.
int RunCrashWriterImpl(const std::string& name) {
  StorageOptions options;
  options.data_dir = getenv("RUNNEL_CRASH_DIR");
  options.wal_bytes = std::strtoull(getenv("RUNNEL_CRASH_WAL_BYTES"), nullptr, 10);
  auto writer = CrashWriters().find(name);
  if (writer == CrashWriters().end()) {
    fprintf(stderr, "crash writer: unknown scenario %s\n", name.c_str());
    _exit(3);
  }
  absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(options);
  if (!opened.ok()) {
    fprintf(stderr, "crash writer: open: %s\n", opened.status().ToString().c_str());
    _exit(2);
  }
  _exit(writer->second(**opened) ? 0 : 1);  // no destructor: RocksDB does not flush
}

TEST_F(DurableWriterTest, EveryWriteComesBackAfterACrashBeforeAnyFlush) {
  MustOpen(Options()).reset();  // the store and its ring exist, nothing else
  WriteAndCrash(Options(), "three_partitions");

  std::unique_ptr<LogManager> store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  // Two partition creations, 22 appends and a truncation.
  EXPECT_EQ(store->replayed_wal_records(), 25u);
  auto kept = store->Get({1, 0});
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->log_end_offset(), 60);
  std::vector<std::string> values = Values(*kept);
  ASSERT_EQ(values.size(), 60u);
  EXPECT_EQ(values.front(), "kept0-0");
  EXPECT_EQ(values.back(), "kept19-2");
  auto truncated = store->Get({1, 1});
  ASSERT_NE(truncated, nullptr);
  EXPECT_EQ(truncated->log_start_offset(), 4);
  EXPECT_EQ(truncated->log_end_offset(), 8);
  EXPECT_EQ(Values(*truncated), (std::vector<std::string>{"t1-0", "t1-1", "t1-2", "t1-3"}));
  EXPECT_EQ(store->Get({2, 0}), nullptr);
  // Offsets go on where they were.
  absl::StatusOr<AppendResult> next = kept->Append({MakeBatch(1, "after")}, 0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->base_offset, 60);
}

TEST_F(DurableWriterTest, ACleanCloseLeavesNothingToReplay) {
  {
    std::unique_ptr<LogManager> store = MustOpen(Options());
    auto log = store->GetOrCreate({1, 0});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append({MakeBatch(5, "a")}, 0).ok());
  }
  std::unique_ptr<LogManager> store = MustOpen(Options());
  EXPECT_EQ(store->replayed_wal_records(), 0u);
  auto log = store->Get({1, 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 5);
  // And a crash right after reopening replays nothing it should not: the
  // closed store's writes are in table files, not replayed twice.
  log.reset();
  store.reset();
  WriteAndCrash(Options(), "one_more");
  store = MustOpen(Options());
  EXPECT_EQ(store->replayed_wal_records(), 1u);
  EXPECT_EQ(Values(*store->Get({1, 0})),
            (std::vector<std::string>{"a-0", "a-1", "a-2", "a-3", "a-4", "b-0"}));
}

// A ring much smaller than RocksDB's memtables: the store must ask RocksDB to
// flush before the ring fills, and release only what the flushes made
// durable. If it released too early, the crash would lose the overwritten
// writes; if it never released, the writes would stop with "ring full".
TEST_F(DurableWriterTest, ASmallRingFlushesEarlyAndACrashStillLosesNothing) {
  const StorageOptions options = Options(/*wal_bytes=*/1 << 20);
  MustOpen(options).reset();
  WriteAndCrash(options, "fill_small_ring");
  std::unique_ptr<LogManager> store = MustOpen(options);
  auto log = store->Get({7, 3});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_end_offset(), 4 * kSmallRingBatches);
  std::vector<std::string> values = Values(*log);
  ASSERT_EQ(values.size(), static_cast<size_t>(4 * kSmallRingBatches));
  for (int i = 0; i < kSmallRingBatches; ++i) {
    ASSERT_EQ(values[4 * i].substr(0, values[4 * i].find('.')), absl::StrCat("b", i, "-0"));
  }
  // Flushes happened (the whole 8 MiB could not have been in the ring).
  EXPECT_LT(store->replayed_wal_records(), static_cast<uint64_t>(kSmallRingBatches));
}

TEST_F(DurableWriterTest, AStoreWhoseRingIsMissingRefusesToOpen) {
  MustOpen(Options()).reset();
  ASSERT_TRUE(std::filesystem::remove(std::filesystem::path(dir_) / kWalRingFileName));
  absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(Options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_NE(opened.status().message().find("missing"), absl::string_view::npos) << opened.status();
}

TEST_F(DurableWriterTest, AStoreRefusesAnotherStoresRing) {
  MustOpen(Options()).reset();
  WalRingOptions ring_options;
  ring_options.capacity_bytes = 1 << 20;
  ASSERT_TRUE(
      WalRing::Create((std::filesystem::path(dir_) / kWalRingFileName).string(), ring_options)
          .ok());
  absl::StatusOr<std::unique_ptr<LogManager>> opened = LogManager::Open(Options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  EXPECT_NE(opened.status().message().find("another store"), absl::string_view::npos)
      << opened.status();
}

}  // namespace

// Outside the anonymous namespace only so main can reach it.
int RunCrashWriter(const std::string& name) { return RunCrashWriterImpl(name); }

}  // namespace runnel::storage

int main(int argc, char** argv) {
  if (const char* scenario = getenv("RUNNEL_CRASH_WRITER")) {
    return runnel::storage::RunCrashWriter(scenario);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
