#include "client/fetched_records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace runnel::client {

namespace batch = runnel::batch;

absl::Status DecodeFetchedRecords(absl::string_view data, bool verify, int64_t* position,
                                  std::vector<ConsumerRecordView>* out,
                                  batch::DecodedStorage* storage) {
  const std::vector<absl::string_view> batches = batch::SplitStoredBatches(data);
  // One reservation for all batches: DecodeRecordViews reserves only its batch's
  // count, and growing `out` batch by batch would copy it over and over.
  size_t expected = 0;
  for (absl::string_view bytes : batches) {
    absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(bytes);
    if (header.ok() && header->record_count > 0) {
      expected += std::min<size_t>(static_cast<size_t>(header->record_count), bytes.size());
    }
  }
  out->reserve(out->size() + expected);
  for (absl::string_view bytes : batches) {
    absl::StatusOr<batch::BatchHeader> header = batch::ParseHeader(bytes);
    if (!header.ok()) {
      return absl::DataLossError(absl::StrCat("corrupt batch after offset ", *position, ": ",
                                              header.status().message()));
    }
    if (header->last_offset() < *position) continue;
    auto corrupt = [&](const absl::Status& s) {
      return absl::DataLossError(absl::StrCat("corrupt batch at offset ", header->base_offset,
                                              ": ", s.message()));
    };
    if ((header->attributes & batch::kAttrControl) != 0) {
      // Not decoded, so only checked on request.
      if (verify) {
        if (absl::Status s = batch::ValidateBatch(bytes); !s.ok()) return corrupt(s);
      }
    } else {
      // DecodeRecords checks the CRC and every record's framing itself: a
      // separate ValidateBatch would walk every record twice (measured: a
      // quarter of the consumer's CPU time).
      // Decoded in place: only the first batch can start before *position.
      const size_t first = out->size();
      if (absl::Status s = batch::DecodeRecordViews(bytes, out, storage); !s.ok()) {
        return corrupt(s);
      }
      if (header->base_offset < *position) {
        const int64_t from = *position;
        out->erase(std::remove_if(out->begin() + static_cast<ptrdiff_t>(first), out->end(),
                                  [from](const ConsumerRecordView& r) { return r.offset < from; }),
                   out->end());
      }
    }
    *position = std::max(*position, header->last_offset() + 1);
  }
  return absl::OkStatus();
}

}  // namespace runnel::client
