#include "client/fetched_records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace runnel::client {

namespace batch = runnel::batch;

absl::Status DecodeFetchedRecords(absl::string_view data, bool verify, int64_t* position,
                                  std::vector<batch::Record>* out) {
  for (absl::string_view bytes : batch::SplitStoredBatches(data)) {
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
    if (verify) {
      if (absl::Status s = batch::ValidateBatch(bytes); !s.ok()) return corrupt(s);
    }
    if ((header->attributes & batch::kAttrControl) == 0) {
      std::vector<batch::Record> records;
      if (absl::Status s = batch::DecodeRecords(bytes, &records); !s.ok()) return corrupt(s);
      for (batch::Record& r : records) {
        if (r.offset >= *position) out->push_back(std::move(r));
      }
    }
    *position = std::max(*position, header->last_offset() + 1);
  }
  return absl::OkStatus();
}

}  // namespace runnel::client
