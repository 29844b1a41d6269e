#include "broker/storage/rocksdb_crc32c.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "proto/batch/crc32c.h"

// RocksDB's declaration (util/crc32c.h, not installed by Debian): Extend
// continues a CRC32C, Extend(Value(a), b) == Value(a + b), with the standard
// pre- and post-inversion; runnel::batch::ExtendCrc32c has the same contract.
namespace rocksdb::crc32c {
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  return runnel::batch::ExtendCrc32c(init_crc, absl::string_view(data, n));
}
}  // namespace rocksdb::crc32c

namespace runnel::storage {

std::string RocksDbCrc32cImplementation() {
  // The definition every caller in the process binds to, librocksdb.so's PLT
  // included: the first in the global lookup scope.
  void* bound = dlsym(RTLD_DEFAULT, "_ZN7rocksdb6crc32c6ExtendEjPKcm");
  return bound == reinterpret_cast<void*>(&rocksdb::crc32c::Extend) ? "runnel" : "rocksdb";
}

}  // namespace runnel::storage
