#include "broker/storage/layout.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace runnel::storage::layout {
namespace {

constexpr uint8_t kMetaVersion = 2;
constexpr size_t kMetaV1Size = 1 + 8;
constexpr size_t kMetaV2Size = kMetaV1Size + 8;
constexpr uint8_t kWalStateVersion = 1;
constexpr size_t kWalStateSize = 1 + 8 + 8 + 8;

}  // namespace

void AppendBigEndian64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t ReadBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t ReadBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string PartitionPrefix(char tag, const PartitionId& id) {
  std::string key;
  key.reserve(kLogKeySize);  // callers usually append an offset or epoch
  key.push_back(tag);
  AppendBigEndian64(id.topic_id, &key);
  AppendBigEndian32(static_cast<uint32_t>(id.partition), &key);
  return key;
}

std::string LogKey(const PartitionId& id, int64_t last_offset) {
  std::string key = PartitionPrefix(kLogTag, id);
  AppendBigEndian64(static_cast<uint64_t>(last_offset), &key);
  return key;
}

std::string MetaKey(const PartitionId& id) { return PartitionPrefix(kMetaTag, id); }

std::string EpochKey(const PartitionId& id, int32_t epoch) {
  std::string key = PartitionPrefix(kEpochTag, id);
  AppendBigEndian32(static_cast<uint32_t>(epoch), &key);
  return key;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  // Increment as a big-endian number, dropping trailing 0xff bytes (which
  // cannot be incremented without changing the length).
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;  // all 0xff: no finite bound; callers never pass such a prefix
}

bool DecodePartitionPrefix(absl::string_view key, char tag, PartitionId* id) {
  if (key.size() < kPartitionPrefixSize || key[0] != tag) return false;
  id->topic_id = ReadBigEndian64(key.data() + 1);
  id->partition = static_cast<int32_t>(ReadBigEndian32(key.data() + 9));
  return true;
}

bool DecodeLogKey(absl::string_view key, PartitionId* id, int64_t* last_offset) {
  if (key.size() != kLogKeySize || !DecodePartitionPrefix(key, kLogTag, id)) return false;
  *last_offset = static_cast<int64_t>(ReadBigEndian64(key.data() + kPartitionPrefixSize));
  return true;
}

bool DecodeEpochKey(absl::string_view key, PartitionId* id, int32_t* epoch) {
  if (key.size() != kEpochKeySize || !DecodePartitionPrefix(key, kEpochTag, id)) return false;
  *epoch = static_cast<int32_t>(ReadBigEndian32(key.data() + kPartitionPrefixSize));
  return true;
}

std::string EncodeMeta(const PartitionMeta& meta) {
  std::string value;
  value.push_back(static_cast<char>(kMetaVersion));
  AppendBigEndian64(static_cast<uint64_t>(meta.log_start_offset), &value);
  AppendBigEndian64(static_cast<uint64_t>(meta.size_bytes), &value);
  return value;
}

absl::StatusOr<PartitionMeta> DecodeMeta(absl::string_view value) {
  if (value.empty() || static_cast<uint8_t>(value[0]) < 1) {
    return absl::DataLossError("partition metadata has no valid version byte");
  }
  const uint8_t version = static_cast<uint8_t>(value[0]);
  const size_t want = version == 1 ? kMetaV1Size : kMetaV2Size;
  if (value.size() < want) {
    return absl::DataLossError(absl::StrCat("partition metadata version ", version, " is ",
                                            value.size(), " bytes, want at least ", want));
  }
  PartitionMeta meta;
  meta.log_start_offset = static_cast<int64_t>(ReadBigEndian64(value.data() + 1));
  if (version >= 2) meta.size_bytes = static_cast<int64_t>(ReadBigEndian64(value.data() + 9));
  return meta;
}

std::string EncodeWalState(const WalState& state) {
  std::string value;
  value.push_back(static_cast<char>(kWalStateVersion));
  AppendBigEndian64(state.ring_id, &value);
  AppendBigEndian64(state.ordinal, &value);
  AppendBigEndian64(state.end, &value);
  return value;
}

absl::StatusOr<WalState> DecodeWalState(absl::string_view value) {
  if (value.size() < kWalStateSize || static_cast<uint8_t>(value[0]) != kWalStateVersion) {
    return absl::DataLossError(
        absl::StrCat("write-ahead ring state is ", value.size(), " bytes with version ",
                     value.empty() ? 0 : static_cast<uint8_t>(value[0]), ", want ", kWalStateSize,
                     " bytes, version ", kWalStateVersion));
  }
  WalState state;
  state.ring_id = ReadBigEndian64(value.data() + 1);
  state.ordinal = ReadBigEndian64(value.data() + 9);
  state.end = ReadBigEndian64(value.data() + 17);
  return state;
}

std::string EncodeEpochStart(int64_t start_offset) {
  std::string value;
  AppendBigEndian64(static_cast<uint64_t>(start_offset), &value);
  return value;
}

absl::StatusOr<int64_t> DecodeEpochStart(absl::string_view value) {
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("leader epoch entry is ", value.size(), " bytes, want 8"));
  }
  return static_cast<int64_t>(ReadBigEndian64(value.data()));
}

}  // namespace runnel::storage::layout
