#include "broker/storage/wal_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/batch/crc32c.h"

namespace runnel::storage {
namespace {

constexpr char kFileMagic[8] = {'R', 'U', 'N', 'N', 'E', 'L', 'W', 'R'};
constexpr uint32_t kFileVersion = 1;
constexpr uint32_t kRecordMagic = 0x57524e52;  // "RNRW" read little-endian
// The smallest ring that holds a useful record; tests use small rings.
constexpr uint64_t kMinCapacity = 4096;

void PutLittle32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutLittle64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetLittle32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetLittle64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " write-ahead ring ", path, ": ", strerror(errno)));
}

// pread/pwrite until done (they may return short counts).
bool ReadFully(int fd, char* buf, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t got = pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool WriteFully(int fd, struct iovec* iov, int iovcnt, uint64_t offset) {
  while (iovcnt > 0) {
    const ssize_t put = pwritev(fd, iov, iovcnt, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    offset += static_cast<uint64_t>(put);
    size_t left = static_cast<size_t>(put);
    while (iovcnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --iovcnt;
    }
    if (iovcnt > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

// Writes zeros over [offset, offset + size). The whole ring is written once
// when it is created: its disk space is taken (and a full disk reported) then
// rather than in the middle of a produce; appends never allocate blocks, so
// a synced append changes no file metadata; and the ring's pages are in the
// page cache from the start, so even the first lap rewrites cached pages
// instead of faulting in new ones (what made the WAL costly; see wal_ring.h).
bool FillWithZeros(int fd, uint64_t offset, uint64_t size) {
  const std::string zeros(std::min<uint64_t>(size, 1 << 20), '\0');
  for (uint64_t done = 0; done < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - done));
    struct iovec iov = {const_cast<char*>(zeros.data()), n};
    if (!WriteFully(fd, &iov, 1, offset + done)) return false;
    done += n;
  }
  return true;
}

uint64_t RecordSize(size_t payload_size) { return WalRing::kRecordHeaderSize + payload_size; }

// The CRC of a record: its header after the CRC field, then the payload.
uint32_t RecordCrc(const char* header, absl::string_view payload) {
  const uint32_t crc = batch::Crc32c(absl::string_view(header + 8, WalRing::kRecordHeaderSize - 8));
  return batch::ExtendCrc32c(crc, payload);
}

}  // namespace

WalRing::WalRing(std::string path, int fd, uint64_t capacity, uint64_t id,
                 const WalRingOptions& options)
    : path_(std::move(path)), fd_(fd), capacity_(capacity), id_(id), options_(options) {}

WalRing::~WalRing() { close(fd_); }

absl::StatusOr<std::unique_ptr<WalRing>> WalRing::Create(const std::string& path,
                                                         const WalRingOptions& options) {
  if (options.capacity_bytes < kMinCapacity) {
    return absl::InvalidArgumentError(absl::StrCat("write-ahead ring capacity ",
                                                   options.capacity_bytes, " is below the minimum ",
                                                   kMinCapacity));
  }
  // Written under a temporary name and renamed, so a crash never leaves a
  // half-made ring where a ring is expected.
  const std::string temp = path + ".new";
  const int fd = open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("creating", temp);
  std::random_device random;
  const uint64_t id = (static_cast<uint64_t>(random()) << 32) ^ random();
  char header[kFileHeaderSize] = {};
  std::memcpy(header, kFileMagic, sizeof(kFileMagic));
  PutLittle32(kFileVersion, header + 8);
  PutLittle64(options.capacity_bytes, header + 16);
  PutLittle64(id, header + 24);
  struct iovec iov = {header, sizeof(header)};
  const uint64_t file_size = kFileHeaderSize + options.capacity_bytes;
  if (ftruncate(fd, static_cast<off_t>(file_size)) != 0 || !WriteFully(fd, &iov, 1, 0) ||
      !FillWithZeros(fd, kFileHeaderSize, options.capacity_bytes) || fsync(fd) != 0) {
    absl::Status error = ErrnoError("creating", temp);
    close(fd);
    unlink(temp.c_str());
    return error;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status error = ErrnoError("renaming into place", temp);
    close(fd);
    return error;
  }
  // The rename is durable once the directory is.
  const std::string dir =
      path.find('/') == std::string::npos ? std::string(".") : path.substr(0, path.rfind('/') + 1);
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return std::unique_ptr<WalRing>(new WalRing(path, fd, options.capacity_bytes, id, options));
}

absl::StatusOr<std::unique_ptr<WalRing>> WalRing::Open(const std::string& path,
                                                       const WalRingOptions& options) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no write-ahead ring at ", path));
    return ErrnoError("opening", path);
  }
  char header[kFileHeaderSize];
  struct stat st;
  if (!ReadFully(fd, header, sizeof(header), 0) || fstat(fd, &st) != 0) {
    close(fd);
    return absl::DataLossError(absl::StrCat(path, " is not a write-ahead ring: short header"));
  }
  const uint64_t capacity = GetLittle64(header + 16);
  std::string why;
  if (std::memcmp(header, kFileMagic, sizeof(kFileMagic)) != 0) {
    why = "bad magic";
  } else if (GetLittle32(header + 8) != kFileVersion) {
    why = absl::StrCat("unknown version ", GetLittle32(header + 8));
  } else if (capacity < kMinCapacity ||
             static_cast<uint64_t>(st.st_size) < kFileHeaderSize + capacity) {
    why = absl::StrCat("capacity ", capacity, " does not match the file's ", st.st_size, " bytes");
  }
  if (!why.empty()) {
    close(fd);
    return absl::DataLossError(absl::StrCat(path, " is not a write-ahead ring: ", why));
  }
  return std::unique_ptr<WalRing>(
      new WalRing(path, fd, capacity, GetLittle64(header + 24), options));
}

uint64_t WalRing::StartFor(uint64_t head, size_t record_size) const {
  const uint64_t in_lap = head % capacity_;
  if (in_lap + record_size <= capacity_) return head;
  return head - in_lap + capacity_;  // the start of the next lap
}

uint64_t WalRing::EndOfNext(size_t payload_size) const {
  const uint64_t size = RecordSize(payload_size);
  return StartFor(head(), size) + size;
}

absl::StatusOr<bool> WalRing::ReadRecord(uint64_t position, uint64_t ordinal,
                                         std::string* payload) const {
  const uint64_t in_lap = position % capacity_;
  if (in_lap + kRecordHeaderSize > capacity_) return false;
  char header[kRecordHeaderSize];
  if (!ReadFully(fd_, header, sizeof(header), FileOffset(position))) {
    return ErrnoError("reading", path_);
  }
  const uint32_t length = GetLittle32(header + 8);
  if (GetLittle32(header) != kRecordMagic || GetLittle64(header + 16) != ordinal ||
      in_lap + kRecordHeaderSize + length > capacity_) {
    return false;
  }
  payload->resize(length);
  if (!ReadFully(fd_, payload->data(), length, FileOffset(position) + kRecordHeaderSize)) {
    return ErrnoError("reading", path_);
  }
  return RecordCrc(header, *payload) == GetLittle32(header + 4);
}

absl::StatusOr<WalRing::ReplayResult> WalRing::Replay(
    uint64_t from, uint64_t first_ordinal,
    const std::function<absl::Status(uint64_t, absl::string_view, uint64_t)>& fn) {
  ReplayResult result;
  result.end = from;
  result.next_ordinal = first_ordinal;
  std::string payload;
  uint64_t position = from;
  while (true) {
    absl::StatusOr<bool> found = ReadRecord(position, result.next_ordinal, &payload);
    if (!found.ok()) return found.status();
    if (!*found && position % capacity_ != 0) {
      // The writer goes to the next lap when a record does not fit.
      const uint64_t next_lap = position - position % capacity_ + capacity_;
      found = ReadRecord(next_lap, result.next_ordinal, &payload);
      if (!found.ok()) return found.status();
      if (*found) position = next_lap;
    }
    if (!*found) break;
    position += RecordSize(payload.size());
    absl::Status applied = fn(result.next_ordinal, payload, position);
    if (!applied.ok()) return applied;
    result.end = position;
    ++result.next_ordinal;
    ++result.records;
  }
  next_ordinal_ = result.next_ordinal;
  absl::MutexLock lock(&mu_);
  head_ = result.end;
  released_ = from;
  return result;
}

absl::StatusOr<uint64_t> WalRing::Append(absl::string_view payload,
                                         const std::function<void()>& on_full) {
  const uint64_t size = RecordSize(payload.size());
  if (size > capacity_) {
    return absl::InvalidArgumentError(absl::StrCat("a write of ", payload.size(),
                                                   " bytes does not fit the write-ahead ring (",
                                                   capacity_, " bytes)"));
  }
  uint64_t start = 0;
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    start = StartFor(head_, size);
    full = start + size - released_ > capacity_;
  }
  if (full && on_full) on_full();  // outside mu_: it may take a while
  {
    absl::MutexLock lock(&mu_);
    const uint64_t end = start + size;
    auto has_room = [this, end]()
                        ABSL_SHARED_LOCKS_REQUIRED(mu_) { return end - released_ <= capacity_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&has_room), options_.full_timeout)) {
      return absl::UnavailableError(
          absl::StrCat("write-ahead ring ", path_, " is full: ", head_ - released_,
                       " bytes not yet flushed to table files after waiting ",
                       absl::FormatDuration(options_.full_timeout)));
    }
  }

  char header[kRecordHeaderSize];
  PutLittle32(kRecordMagic, header);
  PutLittle32(static_cast<uint32_t>(payload.size()), header + 8);
  PutLittle32(0, header + 12);
  PutLittle64(next_ordinal_, header + 16);
  PutLittle32(RecordCrc(header, payload), header + 4);
  struct iovec iov[2] = {{header, sizeof(header)},
                         {const_cast<char*>(payload.data()), payload.size()}};
  if (!WriteFully(fd_, iov, 2, FileOffset(start))) return ErrnoError("writing", path_);
  if (options_.sync && fdatasync(fd_) != 0) return ErrnoError("syncing", path_);
  ++next_ordinal_;
  absl::MutexLock lock(&mu_);
  head_ = start + size;
  return head_;
}

void WalRing::Release(uint64_t position) {
  absl::MutexLock lock(&mu_);
  if (position > released_) released_ = std::min(position, head_);
}

uint64_t WalRing::head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

uint64_t WalRing::unreleased_bytes() const {
  absl::MutexLock lock(&mu_);
  return head_ - released_;
}

}  // namespace runnel::storage
