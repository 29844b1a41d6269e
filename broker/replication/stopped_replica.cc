#include "broker/replication/stopped_replica.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/storage/log.h"
#include "proto/batch/record_batch.h"

namespace runnel::replication {

absl::StatusOr<std::map<int64_t, std::string>> ReadStoppedReplica(const std::string& data_dir,
                                                                  uint64_t topic_id,
                                                                  int32_t partition,
                                                                  int64_t end_offset) {
  storage::StorageOptions options;
  options.data_dir = data_dir;
  auto logs = storage::LogManager::Open(options);
  if (!logs.ok()) return logs.status();
  std::map<int64_t, std::string> out;
  {
    std::shared_ptr<storage::PartitionLog> log = (*logs)->Get({topic_id, partition});
    if (log == nullptr) {
      return absl::NotFoundError(absl::StrCat("no partition ", topic_id, "/", partition, " in ",
                                              data_dir));
    }
    absl::Status decode_status;
    // Scans to the log end and filters, so a batch straddling end_offset
    // still yields its records below it.
    absl::Status s = log->ScanBatches(0, INT64_MAX, [&](absl::string_view b) {
      std::vector<batch::Record> records;
      decode_status = batch::DecodeRecords(b, &records);
      for (const auto& r : records) {
        if (r.offset < end_offset) out[r.offset] = r.value.value_or("<null>");
      }
      return decode_status.ok();
    });
    if (!s.ok()) return s;
    if (!decode_status.ok()) return decode_status;
  }
  return out;
}

}  // namespace runnel::replication
