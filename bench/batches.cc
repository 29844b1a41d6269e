#include "bench/batches.h"

#include <cstdlib>
#include <optional>
#include <random>

#include "absl/status/statusor.h"
#include "proto/batch/record_batch.h"

namespace runnel::bench {

std::string MakeRandomBatch(size_t batch_bytes, size_t value_bytes, int* record_count) {
  batch::BatchBuilder builder;
  std::mt19937 random(42);
  std::string value(value_bytes, '\0');
  for (char& c : value) c = static_cast<char>(random());
  while (builder.estimated_size() + value_bytes + 16 <= batch_bytes) {
    builder.Append(1700000000000, std::nullopt, value);
  }
  if (record_count != nullptr) *record_count = builder.record_count();
  absl::StatusOr<std::string> built = builder.Build();
  if (!built.ok()) abort();
  return *built;
}

}  // namespace runnel::bench
