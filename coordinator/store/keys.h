// The coordinator's key layout in its MetadataStore, in one place so that the
// whole durable format can be read at a glance (and migrated to etcd).
//
//   meta/cluster_id         cluster id string, written once on first start
//   meta/version            metadata version, decimal; bumped by every change
//   meta/next_topic_id      next topic id to assign, decimal; only grows
//   broker/<id, 10 digits>  runnel.v1.BrokerInfo (binary proto), one per broker
//                           ever registered; zero-padded so scans go by id
//   topic/<name>            runnel.v1.TopicInfo (binary proto), one per topic
//   offset/<group>/<topic id, 20 digits>/<partition, 10 digits>
//                           runnel.v1.PartitionOffset (binary proto): a consumer
//                           group's committed offset. Keyed by topic id, not
//                           name, so a re-created topic never inherits offsets.
//                           Written without a metadata version bump: brokers
//                           do not need to know about commits.
//
// Values use the public protos of proto/runnel/v1 because they already are the
// data model and proto parsing tolerates added fields across versions.
// Thread-safety: pure functions and constants.
#ifndef RUNNEL_COORDINATOR_STORE_KEYS_H_
#define RUNNEL_COORDINATOR_STORE_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace runnel::coordinator::store {

inline constexpr absl::string_view kClusterIdKey = "meta/cluster_id";
inline constexpr absl::string_view kVersionKey = "meta/version";
inline constexpr absl::string_view kNextTopicIdKey = "meta/next_topic_id";
inline constexpr absl::string_view kBrokerPrefix = "broker/";
inline constexpr absl::string_view kTopicPrefix = "topic/";
inline constexpr absl::string_view kOffsetPrefix = "offset/";

inline std::string BrokerKey(int32_t broker_id) {
  return absl::StrFormat("%s%010d", kBrokerPrefix, broker_id);
}

inline std::string TopicKey(absl::string_view name) { return absl::StrCat(kTopicPrefix, name); }

// Every committed offset of `group` is under this prefix (group ids have no '/').
inline std::string GroupOffsetPrefix(absl::string_view group) {
  return absl::StrCat(kOffsetPrefix, group, "/");
}

inline std::string OffsetKey(absl::string_view group, uint64_t topic_id, int32_t partition) {
  return absl::StrFormat("%s%020u/%010d", GroupOffsetPrefix(group), topic_id, partition);
}

}  // namespace runnel::coordinator::store

#endif  // RUNNEL_COORDINATOR_STORE_KEYS_H_
