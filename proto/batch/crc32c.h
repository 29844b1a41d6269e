// CRC32C (Castagnoli), the checksum Kafka's RecordBatch v2 stores over the
// batch from the attributes field to the end. Uses the SSE4.2 crc32
// instruction when the CPU has it (checked once at run time) and a portable
// slicing-by-8 table otherwise; both give identical results.
//
// Thread-safety: stateless free functions.
#ifndef RUNNEL_PROTO_BATCH_CRC32C_H_
#define RUNNEL_PROTO_BATCH_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace runnel::batch {

// The CRC32C of `data` (standard pre- and post-inversion, as in Kafka's
// Crc32C and iSCSI): Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(absl::string_view data);

// Continues a checksum: ExtendCrc32c(Crc32c(a), b) == Crc32c(a + b).
uint32_t ExtendCrc32c(uint32_t crc, absl::string_view data);

// Both implementations, exposed so tests and benchmarks can pin each one.
namespace internal_crc32c {
bool HardwareAvailable();
// Same contract as ExtendCrc32c. The hardware one must only be called when
// HardwareAvailable() is true.
uint32_t ExtendPortable(uint32_t crc, absl::string_view data);
uint32_t ExtendHardware(uint32_t crc, absl::string_view data);
}  // namespace internal_crc32c

}  // namespace runnel::batch

#endif  // RUNNEL_PROTO_BATCH_CRC32C_H_
