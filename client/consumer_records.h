// ConsumerRecords: what Consumer::PollViews returns. The records' keys,
// values and headers are views into the fetched answers, which this object
// owns, so a poll costs no copy and no allocation per record (what Poll adds
// on top by copying each into a ConsumerRecord). Use it where that cost
// matters, e.g. when handling millions of small records a second; copy out
// whatever must outlive the object.
//
// Ownership: the object owns everything its views point into; a view is
// valid until the ConsumerRecords it came from is destroyed (moving the
// object keeps them valid). Thread-safety: none needed once returned
// (read-only); not for concurrent mutation.
#ifndef RUNNEL_CLIENT_CONSUMER_RECORDS_H_
#define RUNNEL_CLIENT_CONSUMER_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/types.h"
#include "proto/batch/record_batch.h"

namespace runnel::client {

// ConsumerRecord's fields, as views: topic and partition here; offset,
// timestamp_ms, key (nullopt: no key), value (nullopt: a tombstone) and
// headers from batch::RecordView, which the batch decoder fills in place.
struct ConsumerRecordView : runnel::batch::RecordView {
  absl::string_view topic;
  int32_t partition = 0;

  // A copy that owns its bytes.
  ConsumerRecord ToRecord() const;
};

class ConsumerRecords {
 public:
  ConsumerRecords() = default;
  ConsumerRecords(ConsumerRecords&&) = default;
  ConsumerRecords& operator=(ConsumerRecords&&) = default;
  ConsumerRecords(const ConsumerRecords&) = delete;
  ConsumerRecords& operator=(const ConsumerRecords&) = delete;

  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  const ConsumerRecordView& operator[](size_t i) const { return records_[i]; }
  std::vector<ConsumerRecordView>::const_iterator begin() const { return records_.begin(); }
  std::vector<ConsumerRecordView>::const_iterator end() const { return records_.end(); }

 private:
  friend class Consumer;

  std::vector<ConsumerRecordView> records_;
  // What the views point into: fetch rounds (their answers) and decompressed
  // batches. Type-erased so this header needs no gRPC types.
  std::vector<std::shared_ptr<const void>> owned_;
  runnel::batch::DecodedStorage decompressed_;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_CONSUMER_RECORDS_H_
