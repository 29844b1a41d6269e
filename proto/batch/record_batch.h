// Record batches: the unit in which records are produced, stored, replicated
// and fetched. The encoding is Kafka's RecordBatch v2 (magic 2), byte for byte,
// so a future Kafka wire-protocol listener can serve stored batches as they
// are. docs/batch-format.md documents the layout.
//
// The broker never decodes records on its produce or fetch path: it checks a
// batch with ValidateBatch, stamps base offset and leader epoch into the header
// (fields outside the CRC), and stores the bytes. Clients build batches with
// BatchBuilder and read them with DecodeRecords.
//
// Thread-safety: free functions are thread-safe; a BatchBuilder is not.
#ifndef RUNNEL_PROTO_BATCH_RECORD_BATCH_H_
#define RUNNEL_PROTO_BATCH_RECORD_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel::batch {

// Field offsets of the fixed header (all integers big-endian, as in Kafka).
inline constexpr size_t kBaseOffsetOffset = 0;             // int64
inline constexpr size_t kBatchLengthOffset = 8;            // int32: bytes after this field
inline constexpr size_t kPartitionLeaderEpochOffset = 12;  // int32
inline constexpr size_t kMagicOffset = 16;                 // int8, always 2
inline constexpr size_t kCrcOffset = 17;                   // uint32 CRC32C of [21, end)
inline constexpr size_t kAttributesOffset = 21;            // int16
inline constexpr size_t kLastOffsetDeltaOffset = 23;       // int32
inline constexpr size_t kFirstTimestampOffset = 27;        // int64
inline constexpr size_t kMaxTimestampOffset = 35;          // int64
inline constexpr size_t kProducerIdOffset = 43;            // int64, -1 if none
inline constexpr size_t kProducerEpochOffset = 51;         // int16, -1 if none
inline constexpr size_t kBaseSequenceOffset = 53;          // int32, -1 if none
inline constexpr size_t kRecordCountOffset = 57;           // int32
inline constexpr size_t kHeaderSize = 61;                  // records start here
// Bytes before batch_length counts: base offset and the length itself.
inline constexpr size_t kLogOverhead = 12;
inline constexpr int8_t kMagic = 2;

// Codec of the records section, in attributes bits 0-2 (Kafka's numbering).
enum class Compression : int8_t {
  kNone = 0,
  kGzip = 1,    // recognised, not supported: rejected
  kSnappy = 2,  // recognised, not supported: rejected
  kLz4 = 3,     // LZ4 frame format
  kZstd = 4,
};

// Attributes bits other than compression.
inline constexpr int16_t kAttrCompressionMask = 0x07;
inline constexpr int16_t kAttrTimestampTypeLogAppend = 0x08;
inline constexpr int16_t kAttrTransactional = 0x10;
inline constexpr int16_t kAttrControl = 0x20;

// The decoded fixed header.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = kMagic;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t first_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  Compression compression() const {
    return static_cast<Compression>(attributes & kAttrCompressionMask);
  }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // Size of the whole batch in bytes, header included.
  size_t size() const { return kLogOverhead + static_cast<size_t>(batch_length); }
};

// One record as clients see it. A missing key or value (std::nullopt) is
// distinct from an empty one: a record with no value is a tombstone.
struct Record {
  int64_t offset = 0;
  int64_t timestamp = 0;  // milliseconds since the Unix epoch
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

// A record as views into bytes someone else owns (see DecodeRecordViews):
// for readers that want no copy and no allocation per record. Readers may
// derive their own record type from it (the client adds topic and partition).
struct RecordView {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  std::optional<absl::string_view> key;
  std::optional<absl::string_view> value;
  std::vector<std::pair<absl::string_view, std::optional<absl::string_view>>> headers;
};

// Reads the fixed header at the front of `data`. Checks only that enough
// bytes are present and the magic byte; not the CRC.
absl::StatusOr<BatchHeader> ParseHeader(absl::string_view data);

// What ValidateBatch checks beyond the frame (header, length, CRC, codec) and
// the structure of every record.
struct ValidateOptions {
  // Offset deltas must run 0..last_offset_delta without gaps and the batch
  // must hold records, as producers write batches. Turn off for batches read
  // back from a log, which log compaction may have thinned: deltas then only
  // have to increase within 0..last_offset_delta, and a batch may hold no
  // records at all (Kafka v2 keeps such empty batches, see BatchBuilder).
  bool contiguous_offsets = true;
  // Every record must have a key (a null key fails with FailedPrecondition,
  // "record 3 has no key"): compacted topics need one to compact by.
  bool require_keys = false;
};

// Fully checks one batch that must span exactly `data`: header fields, length,
// CRC32C, supported compression, and that the records section holds exactly
// record_count records whose offset deltas run 0..last_offset_delta. Walks
// record length prefixes (decompressing a compressed batch first) but does not
// build Record objects. Errors are InvalidArgument (corrupt) with a message
// naming the failed check.
absl::Status ValidateBatch(absl::string_view data);
// Same with explicit options; FailedPrecondition when a record breaks
// options.require_keys.
absl::Status ValidateBatch(absl::string_view data, const ValidateOptions& options);
// ValidateBatch for a batch as a broker stores and serves it (gaps allowed,
// see ValidateOptions::contiguous_offsets): what consumers check.
absl::Status ValidateStoredBatch(absl::string_view data);
// Only the frame: header, exact length, CRC and codec, without walking the
// records. What a follower checks of batches the leader validated in full at
// produce time: the CRC catches what storage or transfer damaged since.
absl::Status ValidateFrame(absl::string_view data);

// Splits `data` into the batches it holds back to back, validating each with
// ValidateBatch. A batch larger than max_batch_bytes fails with
// ResourceExhausted naming both sizes. Returns views into `data`.
absl::StatusOr<std::vector<absl::string_view>> SplitBatches(absl::string_view data,
                                                            size_t max_batch_bytes);
absl::StatusOr<std::vector<absl::string_view>> SplitBatches(absl::string_view data,
                                                            size_t max_batch_bytes,
                                                            const ValidateOptions& options);

// Splits `data` into whole batches without validating CRCs: for reading data
// the broker already validated. A trailing partial batch is ignored.
std::vector<absl::string_view> SplitStoredBatches(absl::string_view data);

// The offset after the last whole batch of `data` (as SplitStoredBatches
// reads it): where a fetch continuing after `data` starts. -1 if `data`
// holds no whole batch.
int64_t NextOffsetAfter(absl::string_view data);

// Stamps the broker-assigned fields into an encoded batch in place. Neither is
// covered by the CRC.
void SetBaseOffset(char* batch, int64_t base_offset);
void SetPartitionLeaderEpoch(char* batch, int32_t epoch);

// Decodes every record of one batch (decompressing if needed) and appends them
// to `out` with absolute offsets. InvalidArgument on malformed input.
absl::Status DecodeRecords(absl::string_view batch, std::vector<Record>* out);

// Owner of decompressed batches that views point into.
using DecodedStorage = std::vector<std::unique_ptr<std::vector<Record>>>;

namespace internal_views {
// DecodeRecordViews' untyped core: `reserve(n)` announces n more records,
// `append()` returns a fresh default-constructed view to fill.
absl::Status Decode(absl::string_view batch, absl::FunctionRef<void(size_t)> reserve,
                    absl::FunctionRef<RecordView*()> append, DecodedStorage* storage);
}  // namespace internal_views

// DecodeRecords without copies: appends views to `out` (of RecordView or a
// type derived from it, whose own fields are left default). For an
// uncompressed batch they point into `batch`; a compressed one is decoded
// into a new element of *storage (elements never move) and they point there.
// The views are valid while both `batch`'s bytes and *storage live. Same
// checks and errors as DecodeRecords; on error nothing is appended to `out`.
template <typename View>
absl::Status DecodeRecordViews(absl::string_view batch, std::vector<View>* out,
                               DecodedStorage* storage) {
  static_assert(std::is_base_of_v<RecordView, View>, "View must derive from RecordView");
  const size_t old_size = out->size();
  absl::Status s = internal_views::Decode(
      batch, [out](size_t n) { out->reserve(out->size() + n); },
      [out]() -> RecordView* { return &out->emplace_back(); }, storage);
  if (!s.ok()) out->erase(out->begin() + static_cast<std::ptrdiff_t>(old_size), out->end());
  return s;
}

// Builds one batch from records appended in order. Offsets are relative (the
// broker assigns absolute ones); base_offset and leader epoch are written as 0.
//
// It also rebuilds stored batches for log compaction, which drops records
// without moving any offset: RebuildFrom(original header), then AppendAt each
// kept record at its original offset delta, then Build(). As in Kafka, the
// result keeps the original's base offset and last_offset_delta, so its
// offset range (and the broker's key for it, its last offset) is unchanged.
class BatchBuilder {
 public:
  using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;

  explicit BatchBuilder(Compression compression = Compression::kNone);

  // Adds a record at the offset delta after the previous record's (0 for the
  // first). Timestamps may be in any order; the header keeps the first and
  // the maximum.
  void Append(int64_t timestamp_ms, const std::optional<std::string>& key,
              const std::optional<std::string>& value, const Headers& headers = {});

  // Adds a record at an explicit offset delta, which must be greater than the
  // previous record's (gaps allowed) and, after RebuildFrom, at most the
  // original's last_offset_delta; InvalidArgument otherwise (nothing added).
  // A batch with gaps passes ValidateBatch only with contiguous_offsets off.
  absl::Status AppendAt(int32_t offset_delta, int64_t timestamp_ms,
                        const std::optional<std::string>& key,
                        const std::optional<std::string>& value, const Headers& headers = {});

  // Makes the next Build() keep `original`'s fields that do not come from the
  // records: base offset, partition leader epoch, attributes other than the
  // codec (timestamp type, transactional, control), last_offset_delta, the
  // producer id, epoch and base sequence (overriding set_producer), and with
  // LogAppendTime the max timestamp. Build() may then produce a batch with no
  // records, as Kafka v2 keeps one when compaction empties a batch whose
  // offsets must stay known: uncompressed, record_count 0, both timestamps
  // set to the original's max timestamp.
  void RebuildFrom(const BatchHeader& original);

  int32_t record_count() const { return record_count_; }
  bool empty() const { return record_count_ == 0; }
  // Bytes of encoded records so far (before compression) plus the header.
  size_t estimated_size() const { return kHeaderSize + records_.size(); }

  // Reserved for idempotent producers: defaults are -1 (none). Build() resets
  // them, since base_sequence differs per batch.
  void set_producer(int64_t producer_id, int16_t producer_epoch, int32_t base_sequence);

  // Returns the encoded batch (compressed per the constructor) and resets the
  // builder for reuse. Fails only if compression fails (or FailedPrecondition
  // when no record was appended: producers' batches are never empty; only a
  // rebuilt one may be).
  absl::StatusOr<std::string> Build();

 private:
  void AppendRecord(int32_t offset_delta, int64_t timestamp_ms,
                    const std::optional<std::string>& key, const std::optional<std::string>& value,
                    const Headers& headers);

  Compression compression_;
  std::string records_;  // encoded records, uncompressed
  int32_t record_count_ = 0;
  int32_t last_delta_ = -1;             // offset delta of the last record appended
  std::optional<BatchHeader> rebuild_;  // set by RebuildFrom until Build
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
};

}  // namespace runnel::batch

#endif  // RUNNEL_PROTO_BATCH_RECORD_BATCH_H_
