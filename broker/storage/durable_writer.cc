#include "broker/storage/durable_writer.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/storage/errors.h"
#include "broker/storage/layout.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace runnel::storage {
namespace {

// RocksDB's own write-ahead log is off: the ring is the log.
rocksdb::WriteOptions ApplyOptions() {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  return options;
}

}  // namespace

void WalFlushListener::OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo& info) {
  // Every write puts the ring state into the meta column family, so the meta
  // family's flush holds the last write of the flushed state; atomic flush
  // flushed the other family to the same point.
  if (info.cf_name != layout::kMetaColumnFamily) return;
  absl::MutexLock lock(&mu_);
  if (writer_ != nullptr) writer_->OnFlushed(info.largest_seqno);
}

void WalFlushListener::Attach(DurableWriter* writer) {
  absl::MutexLock lock(&mu_);
  writer_ = writer;
}

void WalFlushListener::Detach() {
  absl::MutexLock lock(&mu_);
  writer_ = nullptr;
}

DurableWriter::DurableWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
                             std::shared_ptr<WalFlushListener> listener,
                             std::unique_ptr<WalRing> ring)
    : db_(db), meta_cf_(meta_cf), listener_(std::move(listener)), ring_(std::move(ring)) {}

DurableWriter::~DurableWriter() { listener_->Detach(); }

absl::StatusOr<std::unique_ptr<DurableWriter>> DurableWriter::Open(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta_cf,
    std::shared_ptr<WalFlushListener> listener, const std::string& ring_path,
    const WalRingOptions& options) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta_cf, layout::kWalStateKey, &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocksDb(s, "reading the write-ahead ring state");
  }

  if (s.IsNotFound()) {
    // A new store (or one from before the ring, whose data RocksDB recovered
    // from its own WAL when it opened): start a ring and make the store
    // remember which one, durably, before anything is written to it.
    absl::StatusOr<std::unique_ptr<WalRing>> ring = WalRing::Create(ring_path, options);
    if (!ring.ok()) return ring.status();
    rocksdb::WriteBatch batch;
    batch.Put(meta_cf, layout::kWalStateKey, layout::EncodeWalState({(*ring)->id(), 0, 0}));
    s = db->Write(ApplyOptions(), &batch);
    if (s.ok()) {
      rocksdb::FlushOptions flush;
      flush.wait = true;
      s = db->Flush(flush, {db->DefaultColumnFamily(), meta_cf});
    }
    if (!s.ok()) return FromRocksDb(s, "recording a new write-ahead ring");
    std::unique_ptr<DurableWriter> writer(
        new DurableWriter(db, meta_cf, std::move(listener), std::move(*ring)));
    writer->listener_->Attach(writer.get());
    return writer;
  }

  absl::StatusOr<layout::WalState> state = layout::DecodeWalState(value);
  if (!state.ok()) return state.status();
  absl::StatusOr<std::unique_ptr<WalRing>> ring = WalRing::Open(ring_path, options);
  if (absl::IsNotFound(ring.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the write-ahead ring ", ring_path,
        " of this log store is missing: the writes not yet flushed to RocksDB's table files "
        "would be lost. Restore the file, or remove the whole data directory to start this "
        "broker empty (its partitions then re-replicate)"));
  }
  if (!ring.ok()) return ring.status();
  if ((*ring)->id() != state->ring_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("the write-ahead ring ", ring_path, " has id ", (*ring)->id(),
                     " but this log store writes to ring ", state->ring_id,
                     ": the file belongs to another store"));
  }
  std::unique_ptr<DurableWriter> writer(
      new DurableWriter(db, meta_cf, std::move(listener), std::move(*ring)));
  writer->listener_->Attach(writer.get());

  // Everything after the flushed state's write, in order.
  absl::MutexLock lock(&writer->write_mu_);
  absl::StatusOr<WalRing::ReplayResult> replayed =
      writer->ring_->Replay(state->end, state->ordinal + 1,
                            [&writer](uint64_t, absl::string_view payload, uint64_t end)
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer->write_mu_) {
                                  rocksdb::WriteBatch batch{std::string(payload)};
                                  return writer->Apply(&batch, end);
                                });
  if (!replayed.ok()) {
    return absl::Status(replayed.status().code(),
                        absl::StrCat("replaying the write-ahead ring ", ring_path, ": ",
                                     replayed.status().message()));
  }
  writer->replayed_records_ = replayed->records;
  return writer;
}

absl::Status DurableWriter::Write(rocksdb::WriteBatch* batch) {
  absl::MutexLock lock(&write_mu_);
  if (!failed_.ok()) return failed_;

  // The ring state this write carries names its own end, which depends on
  // the write's size: measure it with a placeholder state of the same size.
  const uint64_t ordinal = ring_->next_ordinal();
  batch->SetSavePoint();
  batch->Put(meta_cf_, layout::kWalStateKey, layout::EncodeWalState({ring_->id(), ordinal, 0}));
  const uint64_t end = ring_->EndOfNext(batch->GetDataSize());
  rocksdb::Status s = batch->RollbackToSavePoint();
  if (s.ok()) {
    s = batch->Put(meta_cf_, layout::kWalStateKey,
                   layout::EncodeWalState({ring_->id(), ordinal, end}));
  }
  if (!s.ok()) return FromRocksDb(s, "adding the write-ahead ring state");

  // A full ring waits for a flush: make sure one is coming.
  absl::StatusOr<uint64_t> appended = ring_->Append(batch->Data(), [this] { RequestFlush(); });
  if (!appended.ok()) return appended.status();
  if (*appended != end) {
    return absl::InternalError(
        absl::StrCat("write-ahead ring record ended at ", *appended, ", expected ", end));
  }
  absl::Status applied = Apply(batch, end);
  if (!applied.ok()) {
    // The ring holds the write, RocksDB does not: later writes would be
    // applied without it. Refuse them; reopening replays it.
    failed_ = absl::Status(applied.code(),
                           absl::StrCat(applied.message(),
                                        " (the log store takes no more writes until the broker "
                                        "restarts)"));
    return failed_;
  }

  // RocksDB flushes when a memtable fills, which normally frees ring space
  // long before the ring fills; if the ring is smaller than the memtables,
  // ask for a flush at half the ring (once until the next flush completes).
  if (ring_->unreleased_bytes() > ring_->capacity() / 2 && !flush_requested_.exchange(true)) {
    RequestFlush();
  }
  return absl::OkStatus();
}

void DurableWriter::RequestFlush() {
  rocksdb::FlushOptions flush;
  flush.wait = false;
  flush.allow_write_stall = true;
  rocksdb::Status s = db_->Flush(flush, {db_->DefaultColumnFamily(), meta_cf_});
  // Not fatal: RocksDB flushes anyway once a memtable fills, and a full ring
  // asks again.
  s.PermitUncheckedError();
}

absl::Status DurableWriter::Apply(rocksdb::WriteBatch* batch, uint64_t ring_end) {
  rocksdb::Status s = db_->Write(ApplyOptions(), batch);
  if (!s.ok()) return FromRocksDb(s, "applying a logged write");
  // Writes are serialised by write_mu_, so the latest sequence number is the
  // last one of this write.
  absl::MutexLock lock(&release_mu_);
  unflushed_.emplace_back(db_->GetLatestSequenceNumber(), ring_end);
  return absl::OkStatus();
}

void DurableWriter::OnFlushed(uint64_t largest_seqno) {
  // Cleared before the release, so that a writer the release lets through
  // asks for the next flush if it needs one.
  flush_requested_ = false;
  uint64_t release_to = 0;
  {
    absl::MutexLock lock(&release_mu_);
    while (!unflushed_.empty() && unflushed_.front().first <= largest_seqno) {
      release_to = unflushed_.front().second;
      unflushed_.pop_front();
    }
  }
  if (release_to != 0) ring_->Release(release_to);
}

}  // namespace runnel::storage
