// WalRing: the broker's write-ahead log, one preallocated file written as a
// ring. DurableWriter (durable_writer.h) appends every write of the log store
// here before applying it to RocksDB with RocksDB's own write-ahead log off,
// and releases ring space once RocksDB has flushed the write to table files.
//
// Why a ring of our own: RocksDB writes each WAL file once and deletes it
// after a flush, so every appended byte went into page-cache pages the kernel
// had just allocated, and then into new pages again for the table file. New
// pages are what the produce path paid for (on this project's VM a write into
// fresh pages costs about ten times one into cached pages, and more when the
// host must back them: docs/BENCHMARKS.md). A ring overwrites the same file
// pages lap after lap, so its pages stay cached and are reused; only the table
// files take new ones. (RocksDB's recycle_log_file_num reuses WAL files too,
// but RocksDB allows it only with kSkipAnyCorruptedRecords recovery, which
// replays past a damaged record and could leave a hole inside a partition.)
//
// File format (integers little-endian):
//   header, kFileHeaderSize bytes: magic(8) version(4) reserved(4)
//                                  capacity(8) ring id(8), zero padded
//   then the ring: `capacity` bytes holding records
//     magic(4) crc32c(4) length(4) reserved(4) ordinal(8) payload(length)
//   The CRC32C covers everything after itself: length, reserved, ordinal and
//   the payload.
// Positions are virtual and only grow: position p is byte p % capacity of the
// ring. A record never straddles the ring's end: one that does not fit goes to
// the start of the next lap. Ordinals are consecutive, one per record, never
// reused for the life of the file, so data of an earlier lap can never pass
// for the record that follows: Replay walks the chain from a known position
// and stops at the first place that does not hold the next ordinal with a
// good checksum (a torn write, an earlier lap, or never written).
//
// Space: Append never overwrites bytes at or after the release point (the
// oldest byte still needed); the owner calls Release once the records before
// a position are durable elsewhere. When the ring is full Append waits for a
// release, up to WalRingOptions::full_timeout.
//
// Ownership: WalRing owns its file descriptor.
// Thread-safety: Replay and Append are for one caller at a time (the owner
// serialises its writes); Release, head() and unreleased_bytes() may be called
// from any thread at any time.
#ifndef RUNNEL_BROKER_STORAGE_WAL_RING_H_
#define RUNNEL_BROKER_STORAGE_WAL_RING_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace runnel::storage {

struct WalRingOptions {
  // Bytes of records the ring holds, all written (zeros) when the file is
  // created. Used when the file is created; an existing ring keeps the
  // capacity it was created with.
  uint64_t capacity_bytes = uint64_t{512} << 20;
  // fdatasync after each Append (the broker's --sync-writes). Without it an
  // appended record is in the page cache when Append returns: it survives a
  // crash of the process, not of the machine.
  bool sync = false;
  // How long Append waits for space when the ring is full before it gives up
  // with Unavailable.
  absl::Duration full_timeout = absl::Seconds(30);
};

class WalRing {
 public:
  static constexpr size_t kFileHeaderSize = 4096;
  static constexpr size_t kRecordHeaderSize = 24;

  // Creates a new, empty ring at `path` with a new random id, replacing any
  // file there. Writes the whole file (zeros: the disk space is taken now)
  // and syncs it before it returns.
  static absl::StatusOr<std::unique_ptr<WalRing>> Create(const std::string& path,
                                                         const WalRingOptions& options);
  // Opens an existing ring. NotFound if there is no file; DataLoss if its
  // header is not a ring's.
  static absl::StatusOr<std::unique_ptr<WalRing>> Open(const std::string& path,
                                                       const WalRingOptions& options);
  ~WalRing();

  WalRing(const WalRing&) = delete;
  WalRing& operator=(const WalRing&) = delete;

  uint64_t id() const { return id_; }
  uint64_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

  struct ReplayResult {
    uint64_t end = 0;           // position after the last record found
    uint64_t next_ordinal = 0;  // ordinal the next Append must use
    uint64_t records = 0;       // how many records fn was called for
  };
  // Calls fn(ordinal, payload, end) for each record of the chain that starts
  // at position `from` with ordinal `first_ordinal`, in order; `end` is the
  // position after that record. Stops at the first missing or damaged record,
  // or when fn fails (returning its error). Afterwards the ring appends after
  // the last record found and everything from `from` on is unreleased. Call
  // at most once, before the first Append; without it the ring starts at
  // position 0 with ordinal 1.
  absl::StatusOr<ReplayResult> Replay(
      uint64_t from, uint64_t first_ordinal,
      const std::function<absl::Status(uint64_t ordinal, absl::string_view payload, uint64_t end)>&
          fn);

  // The position just after the record Append would write next for a payload
  // of `payload_size` bytes (what the owner stores to resume from it).
  uint64_t EndOfNext(size_t payload_size) const;

  // Appends the next record (ordinal next_ordinal()) and returns the position
  // after it (== EndOfNext(payload.size())). When the ring has no room for
  // it, calls `on_full` (if set; without holding any lock of the ring: the
  // owner asks for the flush that will free space) and waits for a Release.
  // InvalidArgument if the record can never fit; Unavailable if the ring
  // stays full for full_timeout; Internal on a write error (nothing is
  // considered written then; the next Append writes at the same place).
  absl::StatusOr<uint64_t> Append(absl::string_view payload,
                                  const std::function<void()>& on_full = nullptr);

  // The ordinal the next Append uses.
  uint64_t next_ordinal() const { return next_ordinal_; }

  // Everything before `position` is no longer needed; Append may overwrite
  // it. Positions only move forward: an older one is ignored.
  void Release(uint64_t position);

  // The append point (position after the last record written).
  uint64_t head() const;
  // Bytes between the release point and the append point.
  uint64_t unreleased_bytes() const;

 private:
  WalRing(std::string path, int fd, uint64_t capacity, uint64_t id, const WalRingOptions& options);

  // Where a record of `record_size` bytes goes if appended at `head`.
  uint64_t StartFor(uint64_t head, size_t record_size) const;
  // Reads the record at `position` if it is the one with `ordinal`, intact;
  // false (and no error) if it is not there.
  absl::StatusOr<bool> ReadRecord(uint64_t position, uint64_t ordinal, std::string* payload) const;
  uint64_t FileOffset(uint64_t position) const { return kFileHeaderSize + position % capacity_; }

  const std::string path_;
  const int fd_;
  const uint64_t capacity_;
  const uint64_t id_;
  const WalRingOptions options_;
  uint64_t next_ordinal_ = 1;  // only the appending caller touches it
  mutable absl::Mutex mu_;
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t released_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_WAL_RING_H_
