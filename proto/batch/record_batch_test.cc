#include "proto/batch/record_batch.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proto/batch/compression.h"
#include "proto/batch/crc32c.h"

namespace runnel::batch {
namespace {

using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;

std::string FromHex(absl::string_view hex) {
  std::string out;
  int nibbles = 0;
  int byte = 0;
  for (char c : hex) {
    if (c == ' ' || c == '\n') continue;
    const int v = c <= '9' ? c - '0' : c - 'a' + 10;
    byte = byte * 16 + v;
    if (++nibbles % 2 == 0) {
      out.push_back(static_cast<char>(byte));
      byte = 0;
    }
  }
  return out;
}

void PutBE(std::string* b, size_t offset, uint64_t value, size_t width) {
  for (size_t i = width; i-- > 0;) {
    (*b)[offset + i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
}

// Recomputes the CRC after a test edits bytes it covers, so that the check
// under test, not the CRC, is what fails.
void Reseal(std::string* b) {
  PutBE(b, kCrcOffset, Crc32c(absl::string_view(*b).substr(kAttributesOffset)), 4);
}

void ExpectInvalid(const absl::Status& s, absl::string_view needle) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(needle), absl::string_view::npos)
      << "expected '" << needle << "' in: " << s;
}

std::string MustBuild(BatchBuilder* builder) {
  absl::StatusOr<std::string> b = builder->Build();
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : std::string();
}

// Two records covering the interesting fields: a key, value and header; then
// a null key, an empty value, no headers and a timestamp delta.
std::string GoldenBatch() {
  BatchBuilder builder;
  builder.Append(1000, "k", "v", {{"h", "x"}});
  builder.Append(1005, std::nullopt, "", {});
  return MustBuild(&builder);
}

// Hand-assembled from Kafka's RecordBatch v2 / DefaultRecord layout; the CRC
// was computed with an independent bitwise CRC32C.
TEST(RecordBatchLayoutTest, MatchesKafkaByteForByte) {
  const std::string expected = FromHex(
      "0000000000000000"  // base offset
      "00000045"          // batch_length = 81 - 12
      "00000000"          // partition leader epoch
      "02"                // magic
      "afb4817e"          // CRC32C of bytes [21, 81)
      "0000"              // attributes: no compression, CreateTime
      "00000001"          // last offset delta
      "00000000000003e8"  // first timestamp 1000
      "00000000000003ed"  // max timestamp 1005
      "ffffffffffffffff"  // producer id -1
      "ffff"              // producer epoch -1
      "ffffffff"          // base sequence -1
      "00000002"          // record count
      // record 0: length 12, attrs, ts delta 0, offset delta 0, key "k",
      // value "v", 1 header "h" -> "x" (varints are zigzag: 1 -> 02)
      "18 00 00 00 02 6b 02 76 02 02 68 02 78"
      // record 1: length 6, attrs, ts delta 5, offset delta 1, null key,
      // empty value, no headers
      "0c 00 0a 02 01 00 00");
  const std::string batch = GoldenBatch();
  ASSERT_EQ(batch.size(), 81u);
  EXPECT_EQ(batch, expected);

  absl::StatusOr<BatchHeader> h = ParseHeader(batch);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->batch_length, 69);
  EXPECT_EQ(h->crc, 0xafb4817eu);
  EXPECT_EQ(h->record_count, 2);
  EXPECT_EQ(h->last_offset_delta, 1);
  EXPECT_EQ(h->first_timestamp, 1000);
  EXPECT_EQ(h->max_timestamp, 1005);
  EXPECT_EQ(h->producer_id, -1);
  EXPECT_EQ(h->producer_epoch, -1);
  EXPECT_EQ(h->base_sequence, -1);
  EXPECT_EQ(h->compression(), Compression::kNone);
  EXPECT_EQ(h->size(), batch.size());
  EXPECT_TRUE(ValidateBatch(batch).ok());
}

TEST(RecordBatchLayoutTest, StampingChangesOnlyUncoveredFields) {
  std::string batch = GoldenBatch();
  const std::string original = batch;
  SetBaseOffset(batch.data(), 0x0102030405060708);
  SetPartitionLeaderEpoch(batch.data(), 7);
  EXPECT_EQ(batch.substr(0, 8), FromHex("0102030405060708"));
  EXPECT_EQ(batch.substr(12, 4), FromHex("00000007"));
  EXPECT_EQ(batch.substr(8, 4), original.substr(8, 4));
  EXPECT_EQ(batch.substr(16), original.substr(16));
  EXPECT_TRUE(ValidateBatch(batch).ok());

  absl::StatusOr<BatchHeader> h = ParseHeader(batch);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->base_offset, 0x0102030405060708);
  EXPECT_EQ(h->partition_leader_epoch, 7);
  EXPECT_EQ(h->last_offset(), 0x0102030405060709);
}

// ---------------------------------------------------------------------------
// Round trips, for every supported codec.

struct Input {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
};

std::vector<Input> VariedInputs() {
  return {
      {1700000000000, "key", "value", {}},
      {1700000000005, std::nullopt, "no key", {}},
      {1700000000001, "tombstone", std::nullopt, {}},  // out of order timestamp
      {1699999999000, "", "", {}},                     // empty, not null; negative delta
      {1700000000002, "headers", "v", {{"trace", "abc"}, {"", ""}, {"null-value", std::nullopt}}},
      {1700000000003, std::nullopt, std::nullopt, {{"only", "headers"}}},
  };
}

std::string BuildFrom(Compression c, const std::vector<Input>& inputs) {
  BatchBuilder builder(c);
  for (const Input& in : inputs) builder.Append(in.timestamp, in.key, in.value, in.headers);
  return MustBuild(&builder);
}

void ExpectRecordsMatch(const std::vector<Record>& got, const std::vector<Input>& want,
                        int64_t base_offset) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].offset, base_offset + static_cast<int64_t>(i));
    EXPECT_EQ(got[i].timestamp, want[i].timestamp);
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].value, want[i].value);
    EXPECT_EQ(got[i].headers, want[i].headers);
  }
}

class RoundTripTest : public testing::TestWithParam<Compression> {};

TEST_P(RoundTripTest, VariedRecordsSurvive) {
  const std::vector<Input> inputs = VariedInputs();
  std::string batch = BuildFrom(GetParam(), inputs);
  ASSERT_TRUE(ValidateBatch(batch).ok()) << ValidateBatch(batch);

  absl::StatusOr<BatchHeader> h = ParseHeader(batch);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->compression(), GetParam());
  EXPECT_EQ(h->record_count, 6);
  EXPECT_EQ(h->last_offset_delta, 5);
  EXPECT_EQ(h->first_timestamp, 1700000000000);
  EXPECT_EQ(h->max_timestamp, 1700000000005);

  SetBaseOffset(batch.data(), 500);
  SetPartitionLeaderEpoch(batch.data(), 3);
  ASSERT_TRUE(ValidateBatch(batch).ok()) << ValidateBatch(batch);
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(batch, &records).ok()) << DecodeRecords(batch, &records);
  ExpectRecordsMatch(records, inputs, 500);
}

// Enough data that compressed batches cross the stream window and LZ4 blocks
// (64 KiB), with values straddling the boundaries.
TEST_P(RoundTripTest, ManyLargeRecordsSurvive) {
  std::mt19937 rng(1);
  std::vector<Input> inputs;
  for (int i = 0; i < 400; ++i) {
    std::string value(rng() % 3000, '\0');
    for (char& ch : value) ch = static_cast<char>('a' + rng() % 4);
    inputs.push_back(
        {1000 + i, "key-" + std::to_string(i), std::move(value), {{"i", std::to_string(i)}}});
  }
  const std::string batch = BuildFrom(GetParam(), inputs);
  ASSERT_TRUE(ValidateBatch(batch).ok()) << ValidateBatch(batch);
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(batch, &records).ok());
  ExpectRecordsMatch(records, inputs, 0);
}

TEST_P(RoundTripTest, LyingRecordCountIsRejected) {
  const std::string good = BuildFrom(GetParam(), VariedInputs());
  for (int32_t count : {5, 7}) {  // actual is 6
    std::string batch = good;
    PutBE(&batch, kRecordCountOffset, count, 4);
    PutBE(&batch, kLastOffsetDeltaOffset, count - 1, 4);
    Reseal(&batch);
    ExpectInvalid(ValidateBatch(batch), count < 6 ? "after the last" : "record 6");
  }
}

TEST_P(RoundTripTest, CorruptRecordsSectionWithValidCrcIsRejected) {
  std::string batch = BuildFrom(GetParam(), VariedInputs());
  batch[kHeaderSize] ^= 0x55;  // frame magic, or record 0's length when uncompressed
  Reseal(&batch);
  EXPECT_EQ(ValidateBatch(batch).code(), absl::StatusCode::kInvalidArgument);
  std::vector<Record> records;
  EXPECT_EQ(DecodeRecords(batch, &records).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(records.empty());
}

// The view decoder reads the same records as the copying one, from any codec,
// and the views stay valid while the batch and the storage live.
TEST_P(RoundTripTest, ViewsMatchDecodedRecords) {
  const std::vector<Input> inputs = VariedInputs();
  std::string batch = BuildFrom(GetParam(), inputs);
  SetBaseOffset(batch.data(), 70);
  std::vector<RecordView> views;
  DecodedStorage storage;
  ASSERT_TRUE(DecodeRecordViews(batch, &views, &storage).ok());
  // Uncompressed batches are read in place; compressed ones need storage.
  EXPECT_EQ(storage.size(), GetParam() == Compression::kNone ? 0u : 1u);
  std::vector<Record> copies;
  for (const RecordView& v : views) {
    Record r{v.offset, v.timestamp_ms, std::nullopt, std::nullopt, {}};
    if (v.key) r.key = std::string(*v.key);
    if (v.value) r.value = std::string(*v.value);
    for (const auto& [key, value] : v.headers) {
      r.headers.emplace_back(std::string(key),
                             value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
    }
    copies.push_back(std::move(r));
  }
  ExpectRecordsMatch(copies, inputs, 70);
  if (GetParam() == Compression::kNone) {
    EXPECT_GE(views[0].value->data(), batch.data());
    EXPECT_LT(views[0].value->data(), batch.data() + batch.size());
  }
}

// A reader's own record type, derived from RecordView, is filled in place and
// keeps its own fields; a failed decode leaves earlier elements alone.
struct TaggedView : RecordView {
  int tag = 7;
};

TEST_P(RoundTripTest, ViewsDecodeIntoDerivedTypes) {
  const std::string good = BuildFrom(GetParam(), VariedInputs());
  std::vector<TaggedView> views(1);
  views[0].tag = 1;
  DecodedStorage storage;
  ASSERT_TRUE(DecodeRecordViews(good, &views, &storage).ok());
  ASSERT_EQ(views.size(), 7u);
  EXPECT_EQ(views[0].tag, 1);
  EXPECT_EQ(views[1].tag, 7);
  EXPECT_EQ(views[1].value, "value");
  EXPECT_EQ(views[6].offset, 5);
  std::string bad = good;
  bad[bad.size() - 1] ^= 1;
  EXPECT_FALSE(DecodeRecordViews(bad, &views, &storage).ok());
  EXPECT_EQ(views.size(), 7u);
}

TEST_P(RoundTripTest, CorruptBatchGivesNoViews) {
  std::string batch = BuildFrom(GetParam(), VariedInputs());
  batch[kHeaderSize] ^= 0x55;
  Reseal(&batch);
  std::vector<RecordView> views;
  DecodedStorage storage;
  EXPECT_EQ(DecodeRecordViews(batch, &views, &storage).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(views.empty());
  batch = BuildFrom(GetParam(), VariedInputs());
  batch[batch.size() - 1] ^= 1;  // CRC no longer matches
  EXPECT_EQ(DecodeRecordViews(batch, &views, &storage).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(views.empty());
}

// Every single-byte corruption (with the CRC fixed up, so the record walk sees
// it) must be handled: either rejected by both ValidateBatch and DecodeRecords,
// or, where the byte does not matter structurally, accepted and decodable.
TEST_P(RoundTripTest, EveryByteCorruptionIsHandled) {
  const std::string good = BuildFrom(GetParam(), VariedInputs());
  int rejected = 0;
  for (size_t i = kAttributesOffset; i < good.size(); ++i) {
    for (char mask : {'\x01', '\x80', '\xff'}) {
      std::string batch = good;
      batch[i] ^= mask;
      Reseal(&batch);
      const absl::Status valid = ValidateBatch(batch);
      std::vector<Record> records;
      const absl::Status decoded = DecodeRecords(batch, &records);
      if (valid.ok()) {
        EXPECT_TRUE(decoded.ok()) << "byte " << i << ": " << decoded;
      } else {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RoundTripTest,
                         testing::Values(Compression::kNone, Compression::kLz4, Compression::kZstd),
                         [](const auto& p) { return CompressionName(p.param); });

// ---------------------------------------------------------------------------
// Builder behaviour.

TEST(BatchBuilderTest, ReusableAfterBuildAndProducerFieldsReset) {
  BatchBuilder builder(Compression::kZstd);
  EXPECT_TRUE(builder.empty());
  builder.set_producer(42, 3, 100);
  builder.Append(10, "a", "1");
  EXPECT_EQ(builder.record_count(), 1);
  EXPECT_GT(builder.estimated_size(), kHeaderSize);
  const std::string first = MustBuild(&builder);
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.estimated_size(), kHeaderSize);

  builder.Append(20, "b", "2");
  builder.Append(30, "c", "3");
  const std::string second = MustBuild(&builder);

  absl::StatusOr<BatchHeader> h1 = ParseHeader(first);
  absl::StatusOr<BatchHeader> h2 = ParseHeader(second);
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_EQ(h1->producer_id, 42);
  EXPECT_EQ(h1->producer_epoch, 3);
  EXPECT_EQ(h1->base_sequence, 100);
  EXPECT_EQ(h2->producer_id, -1);
  EXPECT_EQ(h2->record_count, 2);
  EXPECT_EQ(h2->first_timestamp, 20);
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(second, &records).ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, "b");
  EXPECT_EQ(records[1].offset, 1);
}

TEST(BatchBuilderTest, EmptyBuildFails) {
  BatchBuilder builder;
  EXPECT_EQ(builder.Build().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BatchBuilderTest, UnsupportedCompressionFailsToBuild) {
  BatchBuilder builder(Compression::kSnappy);
  builder.Append(1, "k", "v");
  ExpectInvalid(builder.Build().status(), "snappy");
}

// ---------------------------------------------------------------------------
// ValidateBatch rejections, each on the golden batch (record 0 starts at byte
// 61, record 1 at byte 74).

TEST(ValidateBatchTest, FlippedPayloadByteFailsCrc) {
  std::string batch = GoldenBatch();
  batch[batch.size() - 3] ^= 0x01;
  ExpectInvalid(ValidateBatch(batch), "CRC32C mismatch");
}

TEST(ValidateFrameTest, ChecksCrcButNotRecords) {
  EXPECT_TRUE(ValidateFrame(GoldenBatch()).ok());
  std::string flipped = GoldenBatch();
  flipped[flipped.size() - 3] ^= 0x01;
  ExpectInvalid(ValidateFrame(flipped), "CRC32C mismatch");
  // A resealed batch whose records lie about their count passes the frame
  // check (the leader's full validation at produce time catches it).
  std::string lying = GoldenBatch();
  PutBE(&lying, kRecordCountOffset, 3, 4);
  PutBE(&lying, kLastOffsetDeltaOffset, 2, 4);
  Reseal(&lying);
  EXPECT_TRUE(ValidateFrame(lying).ok());
  EXPECT_FALSE(ValidateBatch(lying).ok());
}

TEST(ValidateBatchTest, WrongMagic) {
  std::string batch = GoldenBatch();
  batch[kMagicOffset] = 1;
  ExpectInvalid(ValidateBatch(batch), "magic");
  ExpectInvalid(ParseHeader(batch).status(), "magic");
}

TEST(ValidateBatchTest, TruncatedBatch) {
  const std::string batch = GoldenBatch();
  ExpectInvalid(ValidateBatch(absl::string_view(batch).substr(0, batch.size() - 1)),
                "batch_length");
  ExpectInvalid(ValidateBatch(absl::string_view(batch).substr(0, 40)), "header");
  ExpectInvalid(ValidateBatch(""), "header");
}

TEST(ValidateBatchTest, BatchLengthMismatch) {
  for (int32_t length : {68, 70, 10, -1}) {  // actual 69
    std::string batch = GoldenBatch();
    PutBE(&batch, kBatchLengthOffset, static_cast<uint32_t>(length), 4);
    ExpectInvalid(ValidateBatch(batch), "batch_length");
  }
}

TEST(ValidateBatchTest, LyingRecordCount) {
  std::string more = GoldenBatch();
  PutBE(&more, kRecordCountOffset, 3, 4);
  PutBE(&more, kLastOffsetDeltaOffset, 2, 4);
  Reseal(&more);
  ExpectInvalid(ValidateBatch(more), "record 2: truncated");

  std::string fewer = GoldenBatch();
  PutBE(&fewer, kRecordCountOffset, 1, 4);
  PutBE(&fewer, kLastOffsetDeltaOffset, 0, 4);
  Reseal(&fewer);
  ExpectInvalid(ValidateBatch(fewer), "after the last of record_count=1");

  std::string zero = GoldenBatch();
  PutBE(&zero, kRecordCountOffset, 0, 4);
  PutBE(&zero, kLastOffsetDeltaOffset, static_cast<uint32_t>(-1), 4);
  Reseal(&zero);
  ExpectInvalid(ValidateBatch(zero), "not positive");
}

TEST(ValidateBatchTest, LastOffsetDeltaInconsistentWithCount) {
  std::string batch = GoldenBatch();
  PutBE(&batch, kLastOffsetDeltaOffset, 2, 4);
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "last_offset_delta 2");
}

TEST(ValidateBatchTest, UnsupportedCompression) {
  std::string batch = GoldenBatch();
  PutBE(&batch, kAttributesOffset, static_cast<uint16_t>(Compression::kGzip), 2);
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "gzip");
  PutBE(&batch, kAttributesOffset, 7, 2);
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "unknown(7)");
}

TEST(ValidateBatchTest, OffsetDeltaOutOfSequence) {
  std::string batch = GoldenBatch();
  batch[77] = 0x04;  // record 1's offset delta: 2 instead of 1
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "record 1: offset delta 2, expected 1");
  std::vector<Record> records;
  ExpectInvalid(DecodeRecords(batch, &records), "outside the batch");
}

TEST(ValidateBatchTest, RecordLengthDisagreesWithFields) {
  std::string batch = GoldenBatch();
  batch[61] = 0x16;  // record 0 claims 11 bytes, its fields take 12
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "record 0");
}

TEST(ValidateBatchTest, KeyLengthOverrunningRecord) {
  std::string batch = GoldenBatch();
  batch[65] = 0x14;  // record 0's key length: 10, with 8 bytes left in the record
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "key length 10 overruns the record (8 bytes left)");
}

TEST(ValidateBatchTest, HeaderCountBeyondRecord) {
  std::string batch = GoldenBatch();
  batch[69] = 0x7e;  // record 0's header count: 63, with 4 bytes left in the record
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "record 0: header count 63 is invalid");
  std::vector<Record> records;
  ExpectInvalid(DecodeRecords(batch, &records), "header count 63");
}

TEST(ValidateBatchTest, MaxTimestampMustMatchRecords) {
  std::string batch = GoldenBatch();
  PutBE(&batch, kMaxTimestampOffset, 2000, 8);
  Reseal(&batch);
  ExpectInvalid(ValidateBatch(batch), "max_timestamp 2000");
}

TEST(DecodeRecordsTest, AppendsWithAbsoluteOffsets) {
  std::string batch = GoldenBatch();
  SetBaseOffset(batch.data(), 1000);
  std::vector<Record> records(1);  // existing content is kept
  ASSERT_TRUE(DecodeRecords(batch, &records).ok());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].offset, 1000);
  EXPECT_EQ(records[1].timestamp, 1000);
  EXPECT_EQ(records[1].key, "k");
  EXPECT_EQ(records[1].value, "v");
  ASSERT_EQ(records[1].headers.size(), 1u);
  EXPECT_EQ(records[1].headers[0].first, "h");
  EXPECT_EQ(records[1].headers[0].second, "x");
  EXPECT_EQ(records[2].offset, 1001);
  EXPECT_EQ(records[2].timestamp, 1005);
  EXPECT_EQ(records[2].key, std::nullopt);
  EXPECT_EQ(records[2].value, "");
}

TEST(DecodeRecordsTest, LogAppendTimeReplacesRecordTimestamps) {
  std::string batch = GoldenBatch();
  PutBE(&batch, kAttributesOffset, kAttrTimestampTypeLogAppend, 2);
  PutBE(&batch, kMaxTimestampOffset, 777777, 8);
  Reseal(&batch);
  EXPECT_TRUE(ValidateBatch(batch).ok()) << ValidateBatch(batch);
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(batch, &records).ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].timestamp, 777777);
  EXPECT_EQ(records[1].timestamp, 777777);
}

TEST(DecodeRecordsTest, CorruptBatchLeavesOutputUntouched) {
  std::string batch = GoldenBatch();
  batch[80] ^= 0x01;
  std::vector<Record> records(2);
  ExpectInvalid(DecodeRecords(batch, &records), "CRC32C");
  EXPECT_EQ(records.size(), 2u);
}

// ---------------------------------------------------------------------------
// Rebuilding stored batches (log compaction) and stored-batch validation.

// The varied batch as a broker stores it: base offset 100, leader epoch 7,
// with producer fields.
std::string StoredVariedBatch(Compression c) {
  BatchBuilder builder(c);
  builder.set_producer(42, 3, 9);
  for (const Input& in : VariedInputs()) builder.Append(in.timestamp, in.key, in.value, in.headers);
  std::string batch = MustBuild(&builder);
  SetBaseOffset(batch.data(), 100);
  SetPartitionLeaderEpoch(batch.data(), 7);
  return batch;
}

class RebuildTest : public testing::TestWithParam<Compression> {};

TEST_P(RebuildTest, KeptRecordsKeepTheirOffsetsAndTheBatchItsRange) {
  const std::string original = StoredVariedBatch(GetParam());
  absl::StatusOr<BatchHeader> oh = ParseHeader(original);
  ASSERT_TRUE(oh.ok());
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(original, &records).ok());
  ASSERT_EQ(records.size(), 6u);

  // Keep records 1 and 3 (offsets 101 and 103): the last one (105) goes too.
  BatchBuilder builder(oh->compression());
  builder.RebuildFrom(*oh);
  for (int i : {1, 3}) {
    const Record& r = records[i];
    ASSERT_TRUE(builder.AppendAt(static_cast<int32_t>(r.offset - oh->base_offset), r.timestamp,
                                 r.key, r.value, r.headers)
                    .ok());
  }
  const std::string rebuilt = MustBuild(&builder);

  absl::StatusOr<BatchHeader> h = ParseHeader(rebuilt);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->base_offset, 100);
  EXPECT_EQ(h->partition_leader_epoch, 7);
  EXPECT_EQ(h->last_offset_delta, 5);  // the range still ends at 105
  EXPECT_EQ(h->record_count, 2);
  EXPECT_EQ(h->compression(), GetParam());
  EXPECT_EQ(h->producer_id, 42);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, 9);
  EXPECT_EQ(h->first_timestamp, records[1].timestamp);
  EXPECT_EQ(h->max_timestamp, std::max(records[1].timestamp, records[3].timestamp));

  EXPECT_TRUE(ValidateStoredBatch(rebuilt).ok()) << ValidateStoredBatch(rebuilt);
  // Producers may not send gaps.
  ExpectInvalid(ValidateBatch(rebuilt), "does not match record_count");

  std::vector<Record> kept;
  ASSERT_TRUE(DecodeRecords(rebuilt, &kept).ok());
  ASSERT_EQ(kept.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    const Record& want = records[k == 0 ? 1 : 3];
    EXPECT_EQ(kept[k].offset, want.offset);
    EXPECT_EQ(kept[k].timestamp, want.timestamp);
    EXPECT_EQ(kept[k].key, want.key);
    EXPECT_EQ(kept[k].value, want.value);
    EXPECT_EQ(kept[k].headers, want.headers);
  }
}

TEST_P(RebuildTest, EmptyRebuildKeepsTheOffsetRange) {
  const std::string original = StoredVariedBatch(GetParam());
  absl::StatusOr<BatchHeader> oh = ParseHeader(original);
  ASSERT_TRUE(oh.ok());
  BatchBuilder builder(oh->compression());
  builder.RebuildFrom(*oh);
  const std::string empty = MustBuild(&builder);

  absl::StatusOr<BatchHeader> h = ParseHeader(empty);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(empty.size(), kHeaderSize);
  EXPECT_EQ(h->record_count, 0);
  EXPECT_EQ(h->base_offset, 100);
  EXPECT_EQ(h->last_offset(), 105);
  EXPECT_EQ(h->compression(), Compression::kNone);
  EXPECT_EQ(h->first_timestamp, oh->max_timestamp);
  EXPECT_EQ(h->max_timestamp, oh->max_timestamp);
  EXPECT_TRUE(ValidateStoredBatch(empty).ok()) << ValidateStoredBatch(empty);
  ExpectInvalid(ValidateBatch(empty), "record_count 0 is not positive");
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(empty, &records).ok());
  EXPECT_TRUE(records.empty());

  // The builder is reset: a plain batch needs records again.
  EXPECT_EQ(builder.Build().status().code(), absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RebuildTest,
                         testing::Values(Compression::kNone, Compression::kLz4, Compression::kZstd),
                         [](const auto& p) { return CompressionName(p.param); });

TEST(RebuildTest, LogAppendTimeKeepsTheBrokersTimestamp) {
  std::string original = GoldenBatch();
  PutBE(&original, kAttributesOffset, kAttrTimestampTypeLogAppend, 2);
  PutBE(&original, kMaxTimestampOffset, 777777, 8);
  Reseal(&original);
  absl::StatusOr<BatchHeader> oh = ParseHeader(original);
  ASSERT_TRUE(oh.ok());
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(original, &records).ok());

  BatchBuilder builder;
  builder.RebuildFrom(*oh);
  ASSERT_TRUE(builder.AppendAt(1, records[1].timestamp, records[1].key, records[1].value).ok());
  const std::string rebuilt = MustBuild(&builder);
  absl::StatusOr<BatchHeader> h = ParseHeader(rebuilt);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->attributes & kAttrTimestampTypeLogAppend, kAttrTimestampTypeLogAppend);
  EXPECT_EQ(h->max_timestamp, 777777);
  EXPECT_TRUE(ValidateStoredBatch(rebuilt).ok()) << ValidateStoredBatch(rebuilt);
}

TEST(BatchBuilderTest, AppendAtNeedsIncreasingDeltasWithinTheRebuiltRange) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.AppendAt(2, 10, "a", "1").ok());
  ExpectInvalid(builder.AppendAt(2, 10, "b", "2"), "must be greater than the previous record's 2");
  builder.Append(11, "c", "3");  // continues at delta 3
  EXPECT_EQ(builder.record_count(), 2);
  const std::string gapped = MustBuild(&builder);
  absl::StatusOr<BatchHeader> h = ParseHeader(gapped);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->last_offset_delta, 3);
  EXPECT_TRUE(ValidateStoredBatch(gapped).ok()) << ValidateStoredBatch(gapped);
  std::vector<Record> records;
  ASSERT_TRUE(DecodeRecords(gapped, &records).ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 2);
  EXPECT_EQ(records[1].offset, 3);

  BatchHeader original;
  original.last_offset_delta = 4;
  builder.RebuildFrom(original);
  ExpectInvalid(builder.AppendAt(5, 10, "a", "1"),
                "beyond the rebuilt batch's last_offset_delta 4");
  EXPECT_TRUE(builder.empty());
}

TEST(ValidateStoredBatchTest, RejectsDeltasThatDoNotIncrease) {
  BatchBuilder builder;
  builder.Append(1000, "a", "1");
  builder.Append(1000, "b", "2");
  std::string batch = MustBuild(&builder);
  // Second record's offset delta (after its length, attributes and timestamp
  // delta): make it 0 like the first one's.
  const size_t first_record_size = 1 + 8;  // length varint + 8-byte body
  ASSERT_EQ(batch[kHeaderSize + first_record_size + 3], 0x02);  // delta 1, zigzag
  batch[kHeaderSize + first_record_size + 3] = 0x00;
  Reseal(&batch);
  ExpectInvalid(ValidateStoredBatch(batch), "record 1: offset delta 0 does not follow");
}

TEST(ValidateStoredBatchTest, RejectsMoreRecordsThanTheRangeHolds) {
  std::string batch = GoldenBatch();  // 2 records, last_offset_delta 1
  PutBE(&batch, kLastOffsetDeltaOffset, 0, 4);
  Reseal(&batch);
  ExpectInvalid(ValidateStoredBatch(batch), "record_count 2 does not fit last_offset_delta 0");
}

TEST(ValidateBatchTest, RequireKeysRejectsAKeylessRecord) {
  const std::string batch = GoldenBatch();  // record 1 has no key
  ValidateOptions options;
  options.require_keys = true;
  absl::Status s = ValidateBatch(batch, options);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(s.message(), "record 1 has no key");
  EXPECT_TRUE(ValidateBatch(batch).ok());

  BatchBuilder keyed;
  keyed.Append(1, "k", std::nullopt);  // a tombstone has a key
  const std::string tombstone = MustBuild(&keyed);
  EXPECT_TRUE(ValidateBatch(tombstone, options).ok());

  absl::StatusOr<std::vector<absl::string_view>> split =
      SplitBatches(tombstone + batch, 1 << 20, options);
  EXPECT_EQ(split.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(split.status().message().find("batch 1 at byte"), absl::string_view::npos)
      << split.status();
}

// ---------------------------------------------------------------------------
// Splitting.

std::vector<std::string> ThreeBatches() {
  return {GoldenBatch(), BuildFrom(Compression::kLz4, VariedInputs()),
          BuildFrom(Compression::kZstd, VariedInputs())};
}

TEST(SplitBatchesTest, BackToBack) {
  const std::vector<std::string> batches = ThreeBatches();
  const std::string data = batches[0] + batches[1] + batches[2];
  absl::StatusOr<std::vector<absl::string_view>> split = SplitBatches(data, 1 << 20);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*split)[i], batches[i]);
  EXPECT_EQ((*split)[1].data(), data.data() + batches[0].size());  // views, not copies

  absl::StatusOr<std::vector<absl::string_view>> none = SplitBatches("", 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SplitBatchesTest, TrailingGarbage) {
  const std::vector<std::string> batches = ThreeBatches();
  ExpectInvalid(SplitBatches(batches[0] + "junk", 1 << 20).status(), "batch 1 at byte 81");
  // A trailing partial batch is garbage too.
  ExpectInvalid(SplitBatches(batches[0] + batches[1].substr(0, 70), 1 << 20).status(),
                "only 70 remain");
}

TEST(SplitBatchesTest, InvalidBatchInTheMiddleIsNamed) {
  std::vector<std::string> batches = ThreeBatches();
  batches[1].back() ^= 0x01;
  ExpectInvalid(SplitBatches(batches[0] + batches[1] + batches[2], 1 << 20).status(),
                "batch 1 at byte 81: CRC32C mismatch");
}

TEST(SplitBatchesTest, TooLargeBatchNamesBothSizes) {
  const std::string batch = GoldenBatch();  // 81 bytes
  absl::Status s = SplitBatches(batch, 80).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("81"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("80"), absl::string_view::npos) << s;
  EXPECT_TRUE(SplitBatches(batch, 81).ok());
}

TEST(SplitStoredBatchesTest, IgnoresTrailingPartialBatch) {
  const std::vector<std::string> batches = ThreeBatches();
  const std::string data = batches[0] + batches[1] + batches[2].substr(0, 50);
  const std::vector<absl::string_view> split = SplitStoredBatches(data);
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0], batches[0]);
  EXPECT_EQ(split[1], batches[1]);
  EXPECT_EQ(SplitStoredBatches(batches[0] + "12345").size(), 1u);
  EXPECT_TRUE(SplitStoredBatches("").empty());
}

}  // namespace
}  // namespace runnel::batch
