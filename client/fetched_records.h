// Turning a Fetch answer's record bytes into records at or after the
// consumer's position. A Fetch returns whole stored batches, so the first
// batch may begin before the requested offset: those earlier records were
// already delivered and must be skipped, while the position still advances
// past every batch read (offsets inside a batch may have gaps).
//
// Thread-safety: pure function.
#ifndef RUNNEL_CLIENT_FETCHED_RECORDS_H_
#define RUNNEL_CLIENT_FETCHED_RECORDS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "client/consumer_records.h"
#include "proto/batch/record_batch.h"

namespace runnel::client {

// Appends to `out` views of the records of `data` (zero or more whole
// batches, back to back, as FetchPartitionResponse.records holds them) whose
// offset is at least *position, and sets *position past the last batch read.
// The views point into `data`, or for compressed batches into new elements of
// *storage (see batch::DecodeRecordViews). Batches that
// end before *position are skipped without decoding; control batches
// (transaction markers) are skipped but advance the position. A trailing
// partial batch is ignored (the next fetch re-reads it). Decoding always
// checks a batch's CRC and record framing; `verify` also checks the skipped
// control batches. DATA_LOSS naming the batch's base offset if a batch is
// corrupt; records before it are kept.
// The views' topic and partition are left for the caller to fill in.
absl::Status DecodeFetchedRecords(absl::string_view data, bool verify, int64_t* position,
                                  std::vector<ConsumerRecordView>* out,
                                  runnel::batch::DecodedStorage* storage);

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_FETCHED_RECORDS_H_
