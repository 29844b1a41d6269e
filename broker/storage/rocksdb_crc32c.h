// Hardware CRC32C for RocksDB's own checksums (write-ahead log records,
// MANIFEST, and CRC32C block checksums where used).
//
// Why: Debian builds RocksDB portable, so its CRC32C is a table-driven
// software loop ("Not supported on x86" from IsFastCrc32Supported), and the
// write-ahead log checksums every produced byte with it: about 2 ms of the
// ~3.4 ms of CPU a 1 MiB produce request cost the broker. librocksdb.so calls
// rocksdb::crc32c::Extend through its PLT, so a definition of that symbol
// exported by the executable takes its place (ordinary ELF symbol
// interposition). rocksdb_crc32c.cc defines it with runnel::batch's CRC32C
// (SSE4.2 instruction when present, the same portable table otherwise): the
// same function, so files written before and after remain readable by both.
//
// Only binaries that link this library (alwayslink) get the faster CRC;
// nothing needs to call it. Thread-safety: pure functions.
#ifndef RUNNEL_BROKER_STORAGE_ROCKSDB_CRC32C_H_
#define RUNNEL_BROKER_STORAGE_ROCKSDB_CRC32C_H_

#include <string>

namespace runnel::storage {

// Which CRC32C RocksDB's calls resolve to in this process: "runnel" when the
// interposition is in effect, "rocksdb" when RocksDB's own software loop is
// used, as the broker logs at startup.
std::string RocksDbCrc32cImplementation();

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_ROCKSDB_CRC32C_H_
