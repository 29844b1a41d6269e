#include "broker/storage/rocksdb_crc32c.h"

#include <dlfcn.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace rocksdb::crc32c {
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
}  // namespace rocksdb::crc32c

namespace runnel::storage {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

constexpr char kSymbol[] = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

TEST(RocksDbCrc32cTest, RocksDbCallsResolveToOurs) {
  EXPECT_EQ(RocksDbCrc32cImplementation(), "runnel");
}

TEST(RocksDbCrc32cTest, KnownValue) {
  EXPECT_EQ(rocksdb::crc32c::Extend(0, "123456789", 9), 0xE3069283u);
  // Extending continues the same checksum.
  const uint32_t head = rocksdb::crc32c::Extend(0, "1234", 4);
  EXPECT_EQ(rocksdb::crc32c::Extend(head, "56789", 5), 0xE3069283u);
}

// Ours must equal RocksDB's software loop bit for bit: logs and MANIFESTs
// written by either must read back with the other.
TEST(RocksDbCrc32cTest, MatchesRocksDbsOwnImplementation) {
  auto original = reinterpret_cast<ExtendFn>(dlsym(RTLD_NEXT, kSymbol));
  ASSERT_NE(original, nullptr) << "librocksdb.so's definition not found";
  ASSERT_NE(original, &rocksdb::crc32c::Extend);
  std::mt19937 rng(7);
  std::string data(70000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset : {0, 1, 3, 7}) {
    for (size_t n : {0, 1, 7, 8, 9, 31, 64, 1000, 65536}) {
      const uint32_t init = static_cast<uint32_t>(rng());
      EXPECT_EQ(rocksdb::crc32c::Extend(init, data.data() + offset, n),
                original(init, data.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
}

// A write-ahead log written with it is replayed (and checksum-verified) on
// reopen, and a flipped byte in it is detected.
TEST(RocksDbCrc32cTest, WriteAheadLogRoundTripAndCorruption) {
  const std::string dir = MakeTempDir("rocksdb-crc32c");
  rocksdb::Options options;
  options.create_if_missing = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  options.avoid_flush_during_shutdown = true;  // leave the data in the WAL only
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "key", std::string(5000, 'v')).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "key", &value).ok());
    EXPECT_EQ(value, std::string(5000, 'v'));
    // Written again so that the newest log holds it after this reopen.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "key2", std::string(5000, 'w')).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  // Flip a byte in the middle of the newest log's record payload.
  std::vector<std::string> children;
  ASSERT_TRUE(rocksdb::Env::Default()->GetChildren(dir, &children).ok());
  std::string newest;
  for (const std::string& name : children) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".log" && name > newest) newest = name;
  }
  ASSERT_FALSE(newest.empty());
  const std::string path = dir + "/" + newest;
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
  const long size = ftell(f);
  ASSERT_GT(size, 4000);
  ASSERT_EQ(fseek(f, size - 2000, SEEK_SET), 0);
  const int c = fgetc(f);
  ASSERT_EQ(fseek(f, size - 2000, SEEK_SET), 0);
  fputc(c ^ 0x5a, f);
  fclose(f);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  delete raw;
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

}  // namespace
}  // namespace runnel::storage
