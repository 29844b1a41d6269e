#include "coordinator/groups/offset_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "coordinator/errors.h"
#include "coordinator/store/keys.h"

namespace runnel::coordinator::groups {
namespace {

std::string KeyOf(const std::string& group, const StoredOffset& o) {
  return store::OffsetKey(group, o.topic_id, o.offset.partition());
}

// "offset/<group>/<topic id>/<partition>" -> group and topic id.
absl::Status ParseKey(const std::string& key, std::string* group, uint64_t* topic_id) {
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(key).substr(store::kOffsetPrefix.size()), '/');
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], topic_id)) {
    return CorruptMetadataError(key, "not an offset key");
  }
  *group = std::move(parts[0]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<OffsetStore>> OffsetStore::Load(
    store::MetadataStore* store, const std::map<std::string, uint64_t>& topic_ids) {
  absl::StatusOr<std::vector<store::KeyValue>> records = store->Scan(store::kOffsetPrefix);
  if (!records.ok()) return records.status();
  std::unique_ptr<OffsetStore> offsets(new OffsetStore(store));
  store::WriteBatch orphans;
  for (const auto& [key, value] : *records) {
    StoredOffset o;
    std::string group;
    if (absl::Status s = ParseKey(key, &group, &o.topic_id); !s.ok()) return s;
    if (!o.offset.ParseFromString(value)) return CorruptMetadataError(key, "not a PartitionOffset");
    if (KeyOf(group, o) != key) {
      return CorruptMetadataError(key, absl::StrCat("holds partition ", o.offset.partition()));
    }
    auto topic = topic_ids.find(o.offset.topic());
    if (topic == topic_ids.end() || topic->second != o.topic_id) {
      orphans.Delete(key);  // its topic was deleted
      continue;
    }
    TopicPartition tp{o.offset.topic(), o.offset.partition()};
    offsets->offsets_[group][tp] = std::move(o);
  }
  if (!orphans.empty()) {
    RLOG(INFO) << "dropping committed offsets of deleted topics"
               << Kv("offsets", orphans.ops().size());
    if (absl::Status s = store->Write(orphans); !s.ok()) return s;
  }
  return offsets;
}

absl::Status OffsetStore::Commit(const std::string& group,
                                 const std::vector<StoredOffset>& offsets) {
  if (offsets.empty()) return absl::OkStatus();
  store::WriteBatch batch;
  for (const StoredOffset& o : offsets) batch.Put(KeyOf(group, o), o.offset.SerializeAsString());
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  GroupOffsets& mine = offsets_[group];
  for (const StoredOffset& o : offsets) mine[{o.offset.topic(), o.offset.partition()}] = o;
  return absl::OkStatus();
}

const GroupOffsets* OffsetStore::Find(const std::string& group) const {
  auto it = offsets_.find(group);
  return it == offsets_.end() ? nullptr : &it->second;
}

std::vector<std::string> OffsetStore::Groups() const {
  std::vector<std::string> ids;
  for (const auto& [id, offsets] : offsets_) ids.push_back(id);
  return ids;
}

absl::Status OffsetStore::DeleteGroup(const std::string& group) {
  auto it = offsets_.find(group);
  if (it == offsets_.end()) return absl::OkStatus();
  store::WriteBatch batch;
  for (const auto& [tp, o] : it->second) batch.Delete(KeyOf(group, o));
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  offsets_.erase(it);
  return absl::OkStatus();
}

absl::Status OffsetStore::DeleteTopic(const std::string& name) {
  store::WriteBatch batch;
  for (const auto& [group, offsets] : offsets_) {
    for (const auto& [tp, o] : offsets) {
      if (tp.topic == name) batch.Delete(KeyOf(group, o));
    }
  }
  if (batch.empty()) return absl::OkStatus();
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  for (auto g = offsets_.begin(); g != offsets_.end();) {
    GroupOffsets& offsets = g->second;
    for (auto it = offsets.begin(); it != offsets.end();) {
      it = it->first.topic == name ? offsets.erase(it) : std::next(it);
    }
    g = offsets.empty() ? offsets_.erase(g) : std::next(g);
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::groups
