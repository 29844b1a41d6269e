// Test batches for the storage benchmarks: records of random (incompressible)
// bytes, as real payloads compress far less than a repeated letter and
// RocksDB may compress blocks.
#ifndef RUNNEL_BENCH_BATCHES_H_
#define RUNNEL_BENCH_BATCHES_H_

#include <cstddef>
#include <string>

namespace runnel::bench {

// One uncompressed batch of at most about `batch_bytes`, of keyless records
// with `value_bytes`-byte values. Sets *record_count if given.
std::string MakeRandomBatch(size_t batch_bytes, size_t value_bytes, int* record_count = nullptr);

}  // namespace runnel::bench

#endif  // RUNNEL_BENCH_BATCHES_H_
