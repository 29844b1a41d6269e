#include "client/list_offsets.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

absl::StatusOr<std::map<TopicPartition, int64_t>> ListOffsets(
    MetadataCache& metadata, const std::vector<OffsetQuery>& queries) {
  std::map<TopicPartition, const OffsetQuery*> wanted;
  for (const OffsetQuery& q : queries) wanted[q.tp] = &q;
  std::map<TopicPartition, int64_t> found;
  const ClientOptions& client = metadata.options();
  absl::Status status = RetryLoop(client, [&]() -> absl::Status {
    absl::Status retry;  // the last retriable failure of this attempt
    std::map<std::string, v1::ListOffsetsRequest> requests;  // by leader address
    for (const auto& [tp, q] : wanted) {
      if (found.count(tp) > 0) continue;
      absl::StatusOr<PartitionLeader> leader = metadata.Leader(tp.topic, tp.partition);
      if (!leader.ok()) {
        if (!IsRetriable(leader.status())) return leader.status();
        retry = leader.status();
        continue;
      }
      v1::ListOffsetsPartition* p = requests[leader->address].add_partitions();
      p->set_topic(tp.topic);
      p->set_partition(tp.partition);
      p->set_spec(q->spec);
      p->set_timestamp_ms(q->timestamp_ms);
    }
    for (const auto& [address, request] : requests) {
      std::unique_ptr<v1::Broker::Stub> stub = v1::Broker::NewStub(metadata.Channel(address));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + client.request_timeout));
      v1::ListOffsetsResponse response;
      grpc::Status rpc = stub->ListOffsets(&context, request, &response);
      if (!rpc.ok()) {
        absl::Status s =
            WithContext(FromGrpcStatus(rpc), absl::StrCat("list offsets on broker ", address));
        if (!IsRetriable(s)) return s;
        for (const v1::ListOffsetsPartition& p : request.partitions()) {
          metadata.Invalidate(p.topic());
        }
        retry = s;
        continue;
      }
      for (const v1::ListOffsetsPartitionResponse& r : response.partitions()) {
        absl::Status s =
            PartitionError(r.error_code(), r.error_message(), r.topic(), r.partition());
        if (s.ok()) {
          found[{r.topic(), r.partition()}] = r.offset();
        } else if (IsRetriable(s)) {
          if (NeedsMetadataRefresh(r.error_code())) metadata.Invalidate(r.topic());
          retry = s;
        } else {
          return s;
        }
      }
    }
    for (const auto& [tp, q] : wanted) {
      if (found.count(tp) == 0 && retry.ok()) {
        retry = absl::UnavailableError(absl::StrCat("no offset returned for ", ToString(tp)));
      }
    }
    return retry;
  });
  if (!status.ok()) return status;
  return found;
}

}  // namespace runnel::client
