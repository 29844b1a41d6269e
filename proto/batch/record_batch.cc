#include "proto/batch/record_batch.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "proto/batch/compression.h"
#include "proto/batch/crc32c.h"
#include "proto/batch/errors.h"
#include "proto/batch/varint.h"

namespace runnel::batch {
namespace {

// batch_length counts everything after itself, so a record-less batch has this.
constexpr int32_t kMinBatchLength = static_cast<int32_t>(kHeaderSize - kLogOverhead);
// Smallest record: length, attributes, timestamp delta, offset delta, key
// length, value length and header count, one byte each.
constexpr size_t kMinRecordBytes = 7;

// Big-endian integers, byte by byte so alignment and host order never matter
// (compilers emit a load plus bswap).
template <typename T>
T LoadBE(const char* p) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<U>((static_cast<uint64_t>(v) << 8) | static_cast<unsigned char>(p[i]));
  }
  return static_cast<T>(v);
}

template <typename T>
void StoreBE(char* p, T value) {
  auto v = static_cast<uint64_t>(static_cast<std::make_unsigned_t<T>>(value));
  for (size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

// Timestamps are client data: add and subtract with two's-complement wrap (as
// Java does) instead of signed-overflow UB.
int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

uint32_t ComputeCrc(absl::string_view batch) { return Crc32c(batch.substr(kAttributesOffset)); }

// ---------------------------------------------------------------------------
// Byte sources for the record walker. Both offer the same small interface so
// one templated walker serves uncompressed batches (read in place, no copies)
// and compressed ones (decompressed through a fixed-size window, so memory
// stays constant however large the records section inflates). Every read
// returns false when the data runs out; status() then tells a decompression
// error apart from plain truncation.

class FlatSource {
 public:
  explicit FlatSource(absl::string_view data)
      : begin_(data.data()), p_(data.data()), end_(data.data() + data.size()) {}

  bool ReadVarint32(int32_t* v) { return DecodeVarint32(&p_, end_, v); }
  bool ReadVarint64(int64_t* v) { return DecodeVarint64(&p_, end_, v); }
  bool Skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }
  bool ReadBytes(size_t n, std::string* out) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    out->assign(p_, n);
    p_ += n;
    return true;
  }
  // In place: the view points into the source's bytes.
  bool ReadBytes(size_t n, absl::string_view* out) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    *out = absl::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool AtEnd() { return p_ == end_; }
  uint64_t position() const { return static_cast<uint64_t>(p_ - begin_); }
  absl::Status status() const { return absl::OkStatus(); }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
};

class StreamSource {
 public:
  explicit StreamSource(Decompressor* decompressor)
      : decompressor_(decompressor), buf_(new char[kWindow]), p_(buf_.get()), end_(buf_.get()) {}

  bool ReadVarint32(int32_t* v) {
    return EnsureAvailable(kMaxVarint32Bytes) && DecodeVarint32(&p_, end_, v);
  }
  bool ReadVarint64(int64_t* v) {
    return EnsureAvailable(kMaxVarint64Bytes) && DecodeVarint64(&p_, end_, v);
  }
  bool Skip(size_t n) {
    while (n > available()) {
      n -= available();
      p_ = end_;
      if (!EnsureAvailable(1) || available() == 0) return false;
    }
    p_ += n;
    return true;
  }
  // Appends chunk by chunk rather than reserving n up front: n comes from the
  // data, and the stream may end long before n bytes.
  bool ReadBytes(size_t n, std::string* out) {
    out->clear();
    while (n > available()) {
      out->append(p_, available());
      n -= available();
      p_ = end_;
      if (!EnsureAvailable(1) || available() == 0) return false;
    }
    out->append(p_, n);
    p_ += n;
    return true;
  }
  bool AtEnd() { return EnsureAvailable(1) && available() == 0; }
  uint64_t position() const { return window_start_ + static_cast<uint64_t>(p_ - buf_.get()); }
  absl::Status status() const { return status_; }

 private:
  static constexpr size_t kWindow = 64 * 1024;

  size_t available() const { return static_cast<size_t>(end_ - p_); }

  // Tries to make `want` (<= kWindow) bytes available at p_, fewer only at
  // the end of the stream. False on a decompression error.
  bool EnsureAvailable(size_t want) {
    if (available() >= want || eof_) return true;
    if (!status_.ok()) return false;
    const size_t have = available();
    std::memmove(buf_.get(), p_, have);
    window_start_ += static_cast<uint64_t>(p_ - buf_.get());
    p_ = buf_.get();
    end_ = buf_.get() + have;
    while (available() < want && !eof_) {
      absl::StatusOr<size_t> n = decompressor_->Read(end_, kWindow - available());
      if (!n.ok()) {
        status_ = n.status();
        return false;
      }
      eof_ = *n == 0;
      end_ += *n;
    }
    return true;
  }

  Decompressor* decompressor_;
  std::unique_ptr<char[]> buf_;
  const char* p_;              // next unread byte in buf_
  char* end_;                  // end of decompressed bytes in buf_
  uint64_t window_start_ = 0;  // stream position of buf_[0]
  bool eof_ = false;
  absl::Status status_;
};

// ---------------------------------------------------------------------------
// The record walker.

// Reads a varint length then that many bytes into *dst (or skips them when dst
// is null). Null (-1) is allowed only if `nullable`; *len gets the length.
// Fields may not run past the record's declared end, which keeps a lying
// length from making us read or allocate beyond the record. Str is
// std::string (a copy) or absl::string_view (in place; FlatSource only).
template <typename Source, typename Str>
absl::Status ReadSized(Source& src, uint64_t record_end, const char* what, bool nullable,
                       int32_t* len, Str* dst) {
  if (!src.ReadVarint32(len)) return Corrupt("truncated or malformed ", what, " length");
  if (*len < 0) {
    if (*len == -1 && nullable) return absl::OkStatus();
    return Corrupt(what, " length ", *len, " is invalid");
  }
  const uint64_t pos = src.position();
  const uint64_t left = record_end >= pos ? record_end - pos : 0;
  if (static_cast<uint64_t>(*len) > left) {
    return Corrupt(what, " length ", *len, " overruns the record (", left, " bytes left)");
  }
  const bool ok =
      dst ? src.ReadBytes(static_cast<size_t>(*len), dst) : src.Skip(static_cast<size_t>(*len));
  if (!ok) return Corrupt("truncated ", what);
  return absl::OkStatus();
}

// Same, into an optional that ends up empty for null; *is_null (if given)
// says whether it was null.
template <typename Source, typename Str>
absl::Status ReadNullable(Source& src, uint64_t record_end, const char* what,
                          std::optional<Str>* dst, bool* is_null = nullptr) {
  int32_t len = 0;
  absl::Status s =
      ReadSized(src, record_end, what, /*nullable=*/true, &len, dst ? &dst->emplace() : nullptr);
  if (dst && len == -1) dst->reset();
  if (is_null) *is_null = len == -1;
  return s;
}

// What the walker needs of a record it does not decode.
struct RecordPosition {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  bool has_key = false;
};

// Reads one record into a Record or a RecordView. With rec == null it checks
// the structure and skips key, value and headers without copying them.
template <typename Source, typename Rec>
absl::Status ReadRecord(Source& src, RecordPosition* pos, Rec* rec) {
  using Str = typename decltype(Rec::key)::value_type;
  int32_t length;
  if (!src.ReadVarint32(&length)) return Corrupt("truncated or malformed record length");
  if (length < 0) return Corrupt("record length ", length, " is negative");
  const uint64_t start = src.position();
  const uint64_t end = start + static_cast<uint64_t>(length);
  if (!src.Skip(1)) return Corrupt("truncated attributes");  // unused in v2
  if (!src.ReadVarint64(&pos->timestamp_delta)) {
    return Corrupt("truncated or malformed timestamp delta");
  }
  if (!src.ReadVarint32(&pos->offset_delta)) return Corrupt("truncated or malformed offset delta");
  bool null_key = false;
  if (absl::Status s = ReadNullable(src, end, "key", rec ? &rec->key : nullptr, &null_key);
      !s.ok()) {
    return s;
  }
  pos->has_key = !null_key;
  if (absl::Status s = ReadNullable(src, end, "value", rec ? &rec->value : nullptr); !s.ok()) {
    return s;
  }
  int32_t header_count;
  if (!src.ReadVarint32(&header_count)) return Corrupt("truncated or malformed header count");
  // Each header takes at least two bytes: a cheap early bound on a lying count.
  // (No reserve() from it: the record's length may be a lie too.)
  const uint64_t header_room = end > src.position() ? end - src.position() : 0;
  if (header_count < 0 || static_cast<uint64_t>(header_count) > header_room / 2) {
    return Corrupt("header count ", header_count, " is invalid for ", header_room,
                   " bytes left in the record");
  }
  for (int32_t i = 0; i < header_count; ++i) {
    Str* key = nullptr;
    std::optional<Str>* value = nullptr;
    if (rec) {
      rec->headers.emplace_back();
      key = &rec->headers.back().first;
      value = &rec->headers.back().second;
    }
    int32_t key_len;
    absl::Status s = ReadSized(src, end, "header key", /*nullable=*/false, &key_len, key);
    if (s.ok()) s = ReadNullable(src, end, "header value", value);
    if (!s.ok()) return WithContext(s, absl::StrCat("header ", i));
  }
  const uint64_t used = src.position() - start;
  if (used != static_cast<uint64_t>(length)) {
    return Corrupt("record length says ", length, " bytes but its fields take ", used);
  }
  return absl::OkStatus();
}

// Where decoded views go: slots handed out by the caller (DecodeRecordViews).
struct ViewSink {
  absl::FunctionRef<RecordView*()> append;
  RecordView& emplace_back() { return *append(); }
};

inline void SetTimestamp(Record* rec, int64_t ms) { rec->timestamp = ms; }
inline void SetTimestamp(RecordView* rec, int64_t ms) { rec->timestamp_ms = ms; }

// Walks all record_count records of a batch. With out == null it validates
// per `options` (offset deltas run 0, 1, 2, ... or at least increase, and
// max_timestamp must match the records); otherwise it appends decoded records
// (to a std::vector<Record> or a ViewSink) with absolute offsets and only
// requires deltas within the batch's offset range, since Kafka's log
// compaction can leave gaps.
template <typename Source, typename Out>
absl::Status WalkRecords(Source& src, const BatchHeader& h, const ValidateOptions& options,
                         Out* out) {
  using Rec = std::remove_reference_t<decltype(out->emplace_back())>;
  const bool log_append_time = (h.attributes & kAttrTimestampTypeLogAppend) != 0;
  int64_t max_timestamp = std::numeric_limits<int64_t>::min();
  int32_t previous_delta = -1;
  for (int32_t i = 0; i < h.record_count; ++i) {
    Rec* rec = nullptr;
    if (out) rec = &out->emplace_back();
    RecordPosition pos;
    if (absl::Status s = ReadRecord(src, &pos, rec); !s.ok()) {
      return WithContext(src.status().ok() ? s : src.status(), absl::StrCat("record ", i));
    }
    const int64_t timestamp = WrappingAdd(h.first_timestamp, pos.timestamp_delta);
    if (!out && options.contiguous_offsets && pos.offset_delta != i) {
      return Corrupt("record ", i, ": offset delta ", pos.offset_delta, ", expected ", i);
    }
    if (pos.offset_delta < 0 || pos.offset_delta > h.last_offset_delta) {
      return Corrupt("record ", i, ": offset delta ", pos.offset_delta,
                     " is outside the batch (last_offset_delta ", h.last_offset_delta, ")");
    }
    if (out) {
      rec->offset = WrappingAdd(h.base_offset, pos.offset_delta);
      // With LogAppendTime the broker's time in max_timestamp replaces the
      // producer's record timestamps, as Kafka consumers do.
      SetTimestamp(rec, log_append_time ? h.max_timestamp : timestamp);
      continue;
    }
    if (pos.offset_delta <= previous_delta) {
      return Corrupt("record ", i, ": offset delta ", pos.offset_delta,
                     " does not follow the previous record's ", previous_delta);
    }
    previous_delta = pos.offset_delta;
    if (options.require_keys && !pos.has_key) {
      return absl::FailedPreconditionError(absl::StrCat("record ", i, " has no key"));
    }
    max_timestamp = std::max(max_timestamp, timestamp);
  }
  if (!src.AtEnd()) {
    if (!src.status().ok()) return WithContext(src.status(), "after the last record");
    return Corrupt("records section has data after the last of record_count=", h.record_count,
                   " records");
  }
  if (!out && !log_append_time && h.record_count > 0 && max_timestamp != h.max_timestamp) {
    return Corrupt("max_timestamp ", h.max_timestamp, " differs from the records' maximum ",
                   max_timestamp);
  }
  return absl::OkStatus();
}

// The count comes from the data: no more than the bytes could hold.
size_t RecordsToReserve(const BatchHeader& h, absl::string_view section) {
  if (h.record_count <= 0) return 0;
  return std::min(static_cast<size_t>(h.record_count), section.size() / kMinRecordBytes);
}

// Runs the walker over the records section, decompressing if needed.
absl::Status WalkBatch(absl::string_view batch, const BatchHeader& h,
                       const ValidateOptions& options, std::vector<Record>* out) {
  const absl::string_view section = batch.substr(kHeaderSize);
  if (out) out->reserve(out->size() + RecordsToReserve(h, section));
  if (h.compression() == Compression::kNone) {
    FlatSource src(section);
    return WalkRecords(src, h, options, out);
  }
  absl::StatusOr<std::unique_ptr<Decompressor>> decompressor =
      Decompressor::Create(h.compression(), section);
  if (!decompressor.ok()) return decompressor.status();
  StreamSource src(decompressor->get());
  return WalkRecords(src, h, options, out);
}

// Checks everything about a batch that does not need its records: header,
// exact length, CRC and codec.
absl::StatusOr<BatchHeader> CheckFrame(absl::string_view data) {
  absl::StatusOr<BatchHeader> h = ParseHeader(data);
  if (!h.ok()) return h;
  if (h->batch_length < kMinBatchLength) {
    return Corrupt("batch_length ", h->batch_length, " is below the minimum of ", kMinBatchLength);
  }
  if (h->size() != data.size()) {
    return Corrupt("batch_length ", h->batch_length, " means a ", h->size(), "-byte batch but ",
                   data.size(), " bytes were given");
  }
  const uint32_t crc = ComputeCrc(data);
  if (crc != h->crc) {
    return Corrupt("CRC32C mismatch: header has 0x", absl::Hex(h->crc, absl::kZeroPad8),
                   ", data has 0x", absl::Hex(crc, absl::kZeroPad8));
  }
  if (absl::Status s = CheckSupported(h->compression()); !s.ok()) return s;
  return h;
}

// Encoded size of a length-prefixed byte string.
size_t SizedBytes(absl::string_view s) {
  return Varint32Size(static_cast<int32_t>(s.size())) + s.size();
}
size_t NullableBytes(const std::optional<std::string>& s) {
  return s ? SizedBytes(*s) : Varint32Size(-1);
}

char* PutSized(absl::string_view s, char* p) {
  p = EncodeVarint32(static_cast<int32_t>(s.size()), p);
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* PutNullable(const std::optional<std::string>& s, char* p) {
  return s ? PutSized(*s, p) : EncodeVarint32(-1, p);
}

}  // namespace

absl::StatusOr<BatchHeader> ParseHeader(absl::string_view data) {
  if (data.size() < kHeaderSize) {
    return Corrupt("batch has ", data.size(), " bytes, fewer than the ", kHeaderSize,
                   "-byte header");
  }
  const char* p = data.data();
  BatchHeader h;
  h.magic = LoadBE<int8_t>(p + kMagicOffset);
  if (h.magic != kMagic) {
    return Corrupt("magic byte is ", static_cast<int>(h.magic), ", only ", static_cast<int>(kMagic),
                   " is supported");
  }
  h.base_offset = LoadBE<int64_t>(p + kBaseOffsetOffset);
  h.batch_length = LoadBE<int32_t>(p + kBatchLengthOffset);
  h.partition_leader_epoch = LoadBE<int32_t>(p + kPartitionLeaderEpochOffset);
  h.crc = LoadBE<uint32_t>(p + kCrcOffset);
  h.attributes = LoadBE<int16_t>(p + kAttributesOffset);
  h.last_offset_delta = LoadBE<int32_t>(p + kLastOffsetDeltaOffset);
  h.first_timestamp = LoadBE<int64_t>(p + kFirstTimestampOffset);
  h.max_timestamp = LoadBE<int64_t>(p + kMaxTimestampOffset);
  h.producer_id = LoadBE<int64_t>(p + kProducerIdOffset);
  h.producer_epoch = LoadBE<int16_t>(p + kProducerEpochOffset);
  h.base_sequence = LoadBE<int32_t>(p + kBaseSequenceOffset);
  h.record_count = LoadBE<int32_t>(p + kRecordCountOffset);
  return h;
}

absl::Status ValidateBatch(absl::string_view data) { return ValidateBatch(data, {}); }

absl::Status ValidateFrame(absl::string_view data) { return CheckFrame(data).status(); }

absl::Status ValidateBatch(absl::string_view data, const ValidateOptions& options) {
  absl::StatusOr<BatchHeader> h = CheckFrame(data);
  if (!h.ok()) return h.status();
  if (options.contiguous_offsets) {
    if (h->record_count <= 0) {
      return Corrupt("record_count ", h->record_count, " is not positive");
    }
    if (h->last_offset_delta != h->record_count - 1) {
      return Corrupt("last_offset_delta ", h->last_offset_delta, " does not match record_count ",
                     h->record_count, " (expected ", h->record_count - 1, ")");
    }
  } else {
    if (h->last_offset_delta < 0) {
      return Corrupt("last_offset_delta ", h->last_offset_delta, " is negative");
    }
    // Deltas increase within 0..last_offset_delta, which bounds the count.
    if (h->record_count < 0 || h->record_count > int64_t{h->last_offset_delta} + 1) {
      return Corrupt("record_count ", h->record_count, " does not fit last_offset_delta ",
                     h->last_offset_delta);
    }
  }
  return WalkBatch(data, *h, options, /*out=*/nullptr);
}

absl::Status ValidateStoredBatch(absl::string_view data) {
  ValidateOptions options;
  options.contiguous_offsets = false;
  return ValidateBatch(data, options);
}

absl::StatusOr<std::vector<absl::string_view>> SplitBatches(absl::string_view data,
                                                            size_t max_batch_bytes) {
  return SplitBatches(data, max_batch_bytes, {});
}

absl::StatusOr<std::vector<absl::string_view>> SplitBatches(absl::string_view data,
                                                            size_t max_batch_bytes,
                                                            const ValidateOptions& options) {
  std::vector<absl::string_view> batches;
  size_t pos = 0;
  while (pos < data.size()) {
    const std::string where = absl::StrCat("batch ", batches.size(), " at byte ", pos);
    const absl::string_view rest = data.substr(pos);
    if (rest.size() < kLogOverhead) {
      return Corrupt(where, ": ", rest.size(), " trailing bytes are too few for a batch");
    }
    const int32_t batch_length = LoadBE<int32_t>(rest.data() + kBatchLengthOffset);
    if (batch_length < kMinBatchLength) {
      return Corrupt(where, ": batch_length ", batch_length, " is below the minimum of ",
                     kMinBatchLength);
    }
    const size_t size = kLogOverhead + static_cast<size_t>(batch_length);
    if (size > max_batch_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": batch is ", size, " bytes, larger than the maximum of ", max_batch_bytes));
    }
    if (size > rest.size()) {
      return Corrupt(where, ": batch is ", size, " bytes but only ", rest.size(), " remain");
    }
    const absl::string_view batch = rest.substr(0, size);
    if (absl::Status s = ValidateBatch(batch, options); !s.ok()) return WithContext(s, where);
    batches.push_back(batch);
    pos += size;
  }
  return batches;
}

std::vector<absl::string_view> SplitStoredBatches(absl::string_view data) {
  std::vector<absl::string_view> batches;
  while (data.size() >= kLogOverhead) {
    const int32_t batch_length = LoadBE<int32_t>(data.data() + kBatchLengthOffset);
    if (batch_length < kMinBatchLength) break;
    const size_t size = kLogOverhead + static_cast<size_t>(batch_length);
    if (size > data.size()) break;
    batches.push_back(data.substr(0, size));
    data.remove_prefix(size);
  }
  return batches;
}

int64_t NextOffsetAfter(absl::string_view data) {
  std::vector<absl::string_view> batches = SplitStoredBatches(data);
  if (batches.empty()) return -1;
  absl::StatusOr<BatchHeader> last = ParseHeader(batches.back());
  return last.ok() ? last->last_offset() + 1 : -1;
}

void SetBaseOffset(char* batch, int64_t base_offset) {
  StoreBE(batch + kBaseOffsetOffset, base_offset);
}

void SetPartitionLeaderEpoch(char* batch, int32_t epoch) {
  StoreBE(batch + kPartitionLeaderEpochOffset, epoch);
}

namespace {

// What both decoders check before walking the records: the frame (header,
// length, CRC, codec) and a record count that can be walked.
absl::StatusOr<BatchHeader> CheckDecodable(absl::string_view batch) {
  absl::StatusOr<BatchHeader> h = CheckFrame(batch);
  if (h.ok() && h->record_count < 0) {
    return Corrupt("record_count ", h->record_count, " is negative");
  }
  return h;
}

}  // namespace

absl::Status DecodeRecords(absl::string_view batch, std::vector<Record>* out) {
  absl::StatusOr<BatchHeader> h = CheckDecodable(batch);
  if (!h.ok()) return h.status();
  const size_t old_size = out->size();
  absl::Status s = WalkBatch(batch, *h, ValidateOptions(), out);
  if (!s.ok()) out->erase(out->begin() + static_cast<ptrdiff_t>(old_size), out->end());
  return s;
}

namespace internal_views {

absl::Status Decode(absl::string_view batch, absl::FunctionRef<void(size_t)> reserve,
                    absl::FunctionRef<RecordView*()> append, DecodedStorage* storage) {
  absl::StatusOr<BatchHeader> h = CheckDecodable(batch);
  if (!h.ok()) return h.status();
  ViewSink sink{append};
  if (h->compression() == Compression::kNone) {
    const absl::string_view section = batch.substr(kHeaderSize);
    reserve(RecordsToReserve(*h, section));
    FlatSource src(section);
    return WalkRecords(src, *h, ValidateOptions(), &sink);
  }
  // Decompressed bytes need an owner: decode copies into storage (its
  // elements never move once added, so views into them stay valid).
  auto decoded = std::make_unique<std::vector<Record>>();
  absl::Status s = WalkBatch(batch, *h, ValidateOptions(), decoded.get());
  if (!s.ok()) return s;
  reserve(decoded->size());
  for (const Record& r : *decoded) {
    RecordView& v = sink.emplace_back();
    v.offset = r.offset;
    v.timestamp_ms = r.timestamp;
    if (r.key) v.key = *r.key;
    if (r.value) v.value = *r.value;
    for (const auto& [key, value] : r.headers) {
      v.headers.emplace_back(key, value ? std::optional<absl::string_view>(*value) : std::nullopt);
    }
  }
  storage->push_back(std::move(decoded));
  return absl::OkStatus();
}

}  // namespace internal_views

BatchBuilder::BatchBuilder(Compression compression) : compression_(compression) {}

void BatchBuilder::Append(int64_t timestamp_ms, const std::optional<std::string>& key,
                          const std::optional<std::string>& value, const Headers& headers) {
  AppendRecord(last_delta_ + 1, timestamp_ms, key, value, headers);
}

absl::Status BatchBuilder::AppendAt(int32_t offset_delta, int64_t timestamp_ms,
                                    const std::optional<std::string>& key,
                                    const std::optional<std::string>& value,
                                    const Headers& headers) {
  if (offset_delta <= last_delta_) {
    return absl::InvalidArgumentError(absl::StrCat("offset delta ", offset_delta,
                                                   " must be greater than the previous record's ",
                                                   last_delta_));
  }
  if (rebuild_ && offset_delta > rebuild_->last_offset_delta) {
    return absl::InvalidArgumentError(absl::StrCat("offset delta ", offset_delta,
                                                   " is beyond the rebuilt batch's "
                                                   "last_offset_delta ",
                                                   rebuild_->last_offset_delta));
  }
  AppendRecord(offset_delta, timestamp_ms, key, value, headers);
  return absl::OkStatus();
}

void BatchBuilder::AppendRecord(int32_t offset_delta, int64_t timestamp_ms,
                                const std::optional<std::string>& key,
                                const std::optional<std::string>& value, const Headers& headers) {
  if (record_count_ == 0) {
    first_timestamp_ = timestamp_ms;
    max_timestamp_ = timestamp_ms;
  } else {
    max_timestamp_ = std::max(max_timestamp_, timestamp_ms);
  }
  const int64_t timestamp_delta = WrappingSub(timestamp_ms, first_timestamp_);
  const auto header_count = static_cast<int32_t>(headers.size());

  // Size the record first so it is written straight into records_ in one go.
  size_t body = 1 + Varint64Size(timestamp_delta) + Varint32Size(offset_delta) +
                NullableBytes(key) + NullableBytes(value) + Varint32Size(header_count);
  for (const auto& [k, v] : headers) body += SizedBytes(k) + NullableBytes(v);
  const auto body_len = static_cast<int32_t>(body);

  const size_t old_size = records_.size();
  records_.resize(old_size + Varint32Size(body_len) + body);
  char* p = &records_[old_size];
  p = EncodeVarint32(body_len, p);
  *p++ = 0;  // record attributes: unused in v2
  p = EncodeVarint64(timestamp_delta, p);
  p = EncodeVarint32(offset_delta, p);
  p = PutNullable(key, p);
  p = PutNullable(value, p);
  p = EncodeVarint32(header_count, p);
  for (const auto& [k, v] : headers) {
    p = PutSized(k, p);
    p = PutNullable(v, p);
  }
  ++record_count_;
  last_delta_ = offset_delta;
}

void BatchBuilder::RebuildFrom(const BatchHeader& original) { rebuild_ = original; }

void BatchBuilder::set_producer(int64_t producer_id, int16_t producer_epoch,
                                int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  base_sequence_ = base_sequence;
}

absl::StatusOr<std::string> BatchBuilder::Build() {
  if (record_count_ == 0 && !rebuild_) {
    return absl::FailedPreconditionError("cannot build a batch without records");
  }
  // The header fields, from the records or (when rebuilding) the original.
  BatchHeader h;
  h.record_count = record_count_;
  h.last_offset_delta = last_delta_;
  h.first_timestamp = first_timestamp_;
  h.max_timestamp = max_timestamp_;
  h.producer_id = producer_id_;
  h.producer_epoch = producer_epoch_;
  h.base_sequence = base_sequence_;
  // An empty records section is written uncompressed: a compressed frame of
  // nothing would only add bytes (Kafka's empty batches carry no codec either).
  const Compression codec = record_count_ == 0 ? Compression::kNone : compression_;
  h.attributes = static_cast<int16_t>(codec);  // CreateTime
  if (rebuild_) {
    const BatchHeader& o = *rebuild_;
    h.base_offset = o.base_offset;
    h.partition_leader_epoch = o.partition_leader_epoch;
    h.attributes =
        static_cast<int16_t>((o.attributes & ~kAttrCompressionMask) | static_cast<int16_t>(codec));
    h.last_offset_delta = o.last_offset_delta;
    h.producer_id = o.producer_id;
    h.producer_epoch = o.producer_epoch;
    h.base_sequence = o.base_sequence;
    if (record_count_ == 0) {
      h.first_timestamp = o.max_timestamp;
      h.max_timestamp = o.max_timestamp;
    } else if ((o.attributes & kAttrTimestampTypeLogAppend) != 0) {
      h.max_timestamp = o.max_timestamp;  // the broker's append time, not the records'
    }
  }

  std::string batch;
  if (codec == Compression::kNone) batch.reserve(kHeaderSize + records_.size());
  batch.resize(kHeaderSize);
  if (absl::Status s = Compress(codec, records_, &batch); !s.ok()) return s;
  if (batch.size() - kLogOverhead > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("batch of ", batch.size(), " bytes does not fit the int32 batch_length"));
  }

  char* p = batch.data();
  StoreBE(p + kBaseOffsetOffset, h.base_offset);
  StoreBE(p + kBatchLengthOffset, static_cast<int32_t>(batch.size() - kLogOverhead));
  StoreBE(p + kPartitionLeaderEpochOffset, h.partition_leader_epoch);
  StoreBE(p + kMagicOffset, kMagic);
  StoreBE(p + kAttributesOffset, h.attributes);
  StoreBE(p + kLastOffsetDeltaOffset, h.last_offset_delta);
  StoreBE(p + kFirstTimestampOffset, h.first_timestamp);
  StoreBE(p + kMaxTimestampOffset, h.max_timestamp);
  StoreBE(p + kProducerIdOffset, h.producer_id);
  StoreBE(p + kProducerEpochOffset, h.producer_epoch);
  StoreBE(p + kBaseSequenceOffset, h.base_sequence);
  StoreBE(p + kRecordCountOffset, h.record_count);
  StoreBE(p + kCrcOffset, ComputeCrc(batch));  // last: covers everything above from offset 21

  records_.clear();  // keeps capacity for the next batch
  record_count_ = 0;
  last_delta_ = -1;
  rebuild_.reset();
  first_timestamp_ = 0;
  max_timestamp_ = 0;
  producer_id_ = -1;
  producer_epoch_ = -1;
  base_sequence_ = -1;
  return batch;
}

}  // namespace runnel::batch
