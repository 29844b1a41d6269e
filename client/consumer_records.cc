#include "client/consumer_records.h"

#include <string>

namespace runnel::client {

ConsumerRecord ConsumerRecordView::ToRecord() const {
  ConsumerRecord r;
  r.topic = std::string(topic);
  r.partition = partition;
  r.offset = offset;
  r.timestamp_ms = timestamp_ms;
  if (key) r.key.emplace(*key);
  if (value) r.value.emplace(*value);
  r.headers.reserve(headers.size());
  for (const auto& [k, v] : headers) {
    r.headers.emplace_back(std::string(k), v ? std::optional<std::string>(std::string(*v))
                                             : std::nullopt);
  }
  return r;
}

}  // namespace runnel::client
