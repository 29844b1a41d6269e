#include "proto/batch/compression.h"

#include <lz4frame.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace runnel::batch {
namespace {

constexpr size_t kNoLimit = 1 << 30;

// Half random, half repetitive: exercises both literal and match paths, and at
// 300 KB spans several 64 KiB LZ4 blocks.
std::string SampleData(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = (i / 1000) % 2 ? static_cast<char>(rng()) : static_cast<char>('a' + i % 7);
  }
  return s;
}

class CodecTest : public testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{300000}}) {
    const std::string input = SampleData(n);
    std::string compressed = "prefix";
    ASSERT_TRUE(Compress(GetParam(), input, &compressed).ok());
    ASSERT_EQ(compressed.substr(0, 6), "prefix");  // appends
    absl::StatusOr<std::string> out =
        Decompress(GetParam(), absl::string_view(compressed).substr(6), kNoLimit);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, input) << n;
  }
}

// Small reads force the streaming paths to stop and resume mid-block.
TEST_P(CodecTest, StreamsInTinyReads) {
  const std::string input = SampleData(200000);
  std::string compressed;
  ASSERT_TRUE(Compress(GetParam(), input, &compressed).ok());
  absl::StatusOr<std::unique_ptr<Decompressor>> d = Decompressor::Create(GetParam(), compressed);
  ASSERT_TRUE(d.ok()) << d.status();
  std::string out;
  char buf[37];
  for (;;) {
    absl::StatusOr<size_t> n = (*d)->Read(buf, sizeof(buf));
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    out.append(buf, *n);
  }
  EXPECT_EQ(out, input);
  absl::StatusOr<size_t> again = (*d)->Read(buf, sizeof(buf));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);  // stays at the end
}

TEST_P(CodecTest, OutputLimitIsEnforcedAndInclusive) {
  const std::string input(100000, 'z');
  std::string compressed;
  ASSERT_TRUE(Compress(GetParam(), input, &compressed).ok());
  EXPECT_TRUE(Decompress(GetParam(), compressed, input.size()).ok());
  absl::StatusOr<std::string> over = Decompress(GetParam(), compressed, input.size() - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
}

INSTANTIATE_TEST_SUITE_P(AllSupported, CodecTest,
                         testing::Values(Compression::kNone, Compression::kLz4, Compression::kZstd),
                         [](const auto& p) { return CompressionName(p.param); });

class RealCodecTest : public testing::TestWithParam<Compression> {};

TEST_P(RealCodecTest, TruncatedInputIsInvalidArgument) {
  const std::string input = SampleData(100000);
  std::string compressed;
  ASSERT_TRUE(Compress(GetParam(), input, &compressed).ok());
  for (size_t keep : {size_t{0}, size_t{3}, compressed.size() / 2, compressed.size() - 1}) {
    absl::StatusOr<std::string> out =
        Decompress(GetParam(), absl::string_view(compressed).substr(0, keep), kNoLimit);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << keep;
  }
}

TEST_P(RealCodecTest, TrailingGarbageIsInvalidArgument) {
  std::string compressed;
  ASSERT_TRUE(Compress(GetParam(), "hello hello hello", &compressed).ok());
  compressed += "garbage!";
  EXPECT_EQ(Decompress(GetParam(), compressed, kNoLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(RealCodecTest, CorruptInputIsInvalidArgument) {
  EXPECT_EQ(Decompress(GetParam(), "definitely not compressed data", kNoLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Lz4AndZstd, RealCodecTest,
                         testing::Values(Compression::kLz4, Compression::kZstd),
                         [](const auto& p) { return CompressionName(p.param); });

TEST(CompressionTest, GzipAndSnappyAreRejectedByName) {
  for (Compression c : {Compression::kGzip, Compression::kSnappy}) {
    std::string out;
    absl::Status s = Compress(c, "x", &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(CompressionName(c)), absl::string_view::npos) << s;
    EXPECT_EQ(Decompress(c, "x", kNoLimit).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(CompressionName(static_cast<Compression>(6)), "unknown(6)");
  EXPECT_FALSE(CheckSupported(static_cast<Compression>(6)).ok());
}

// Kafka's Java LZ4 reader rejects frames without the block-independence flag;
// pin the frame descriptor we write: magic, FLG (version 01, independent
// blocks, no checksums, no content size) and BD (64 KiB blocks).
TEST(CompressionTest, Lz4FrameDescriptorIsKafkaCompatible) {
  std::string out;
  ASSERT_TRUE(Compress(Compression::kLz4, SampleData(1000), &out).ok());
  ASSERT_GE(out.size(), 7u);
  EXPECT_EQ(out.substr(0, 4), "\x04\x22\x4d\x18");
  EXPECT_EQ(static_cast<uint8_t>(out[4]), 0x60);
  EXPECT_EQ(static_cast<uint8_t>(out[5]), 0x40);
}

// Other producers write LZ4 frames with checksums and content size
// (librdkafka) and zstd frames without a content size (Kafka's streaming
// zstd-jni writer); both must decode.
TEST(CompressionTest, DecodesFramesFromOtherWriters) {
  const std::string input = SampleData(150000);

  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  prefs.frameInfo.contentSize = input.size();
  std::string lz4(LZ4F_compressFrameBound(input.size(), &prefs), '\0');
  const size_t lz4_size =
      LZ4F_compressFrame(lz4.data(), lz4.size(), input.data(), input.size(), &prefs);
  ASSERT_FALSE(LZ4F_isError(lz4_size));
  lz4.resize(lz4_size);
  absl::StatusOr<std::string> out = Decompress(Compression::kLz4, lz4, kNoLimit);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);

  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string zstd(ZSTD_compressBound(input.size()), '\0');
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  ZSTD_outBuffer zout{zstd.data(), zstd.size(), 0};
  // Feeding input before ending the frame, as a stream writer does, leaves the
  // content size out of the frame header.
  while (in.pos < in.size) {
    ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &zout, &in, ZSTD_e_continue)));
  }
  size_t left;
  do {
    left = ZSTD_compressStream2(cctx, &zout, &in, ZSTD_e_end);
    ASSERT_FALSE(ZSTD_isError(left));
  } while (left != 0);
  ZSTD_freeCCtx(cctx);
  zstd.resize(zout.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(zstd.data(), zstd.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  out = Decompress(Compression::kZstd, zstd, kNoLimit);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, input);
}

}  // namespace
}  // namespace runnel::batch
