// How the `runnel` CLI prints records and cluster state. Pure functions
// from data to text, so every format is unit-tested with fake data; the
// formats are documented in each command's --help (command.cc).
//
// Thread-safety: pure functions.
#ifndef RUNNEL_CLIENT_CLI_OUTPUT_H_
#define RUNNEL_CLIENT_CLI_OUTPUT_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/types.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/groups.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client::cli {

struct RecordFormat {
  bool print_key = false;     // "KEY<TAB>" ("null" for no key) before the value
  bool print_offset = false;  // "partition=P offset=O<TAB>" first
};

// One consumed record as a line, newline included. A missing value prints
// as "null". Keys and values are printed raw (a newline inside one is not
// escaped).
std::string FormatRecord(const ConsumerRecord& record, const RecordFormat& format);

// "created topic 'orders' with 3 partitions (replication factor 1)\n"
std::string FormatTopicCreated(const runnel::v1::TopicInfo& topic);

// Topic names, one per line.
std::string FormatTopicList(const runnel::v1::ListTopicsResponse& topics);

// `topic describe`: a topic line (its Configs field lists the overrides),
// a TAB-indented line per partition, then one per config: every known key
// (and any override this CLI does not know) with its effective value and
// whether it is the topic's override or the default.
std::string FormatTopic(const runnel::v1::TopicInfo& topic);

// `topic alter-config`: "altered topic 'orders': retention.ms=1000,
// cleanup.policy=delete (default)\n", the changed keys (set, then reset, each
// sorted) with their values in `topic`, the topic after the change.
std::string FormatTopicAltered(const runnel::v1::TopicInfo& topic,
                               const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& reset);

// `group list`: a line per group.
std::string FormatGroupList(const runnel::v1::ListGroupsResponse& groups);

// `group describe`: the group line, a line per member, then a line per
// partition of `partitions` with its committed offset (from `group`), log
// end offset (from `log_ends`; absent: "unknown"), lag and assigned member.
std::string FormatGroup(const runnel::v1::DescribeGroupResponse& group,
                        const std::set<TopicPartition>& partitions,
                        const std::map<TopicPartition, int64_t>& log_ends);

// `group reset-offsets`: "reset offsets of group 'g': t-0=5, t-1=7\n",
// "would reset ..." for a dry run.
std::string FormatOffsetsReset(const std::string& group,
                               const std::map<TopicPartition, int64_t>& offsets, bool dry_run);

// `cluster info`: the cluster id line, then a line per broker.
std::string FormatCluster(const runnel::v1::DescribeClusterResponse& cluster);

// `partitions reassign` and `partitions reassignments`: a line per partition,
// "Partition: t-0<TAB>Replicas: 4,2,3,1<TAB>Target: 4,2,3<TAB>Adding: 4<TAB>
// Removing: 1<TAB>State: copying" ("none" for an empty list; State copying,
// removing or done).
std::string FormatReassignments(
    const google::protobuf::RepeatedPtrField<runnel::v1::ReassignmentStatus>& reassignments);

// `cluster balance` and `cluster decommission`: a line per move,
// "Partition: t-0<TAB>From: 1,2<TAB>To: 4,2<TAB>Copies: 4" ("none" when it
// only reorders), then "planned N move(s) copying M replica(s): started"
// ("dry run, nothing started" with `dry_run`), or "nothing to move: the
// cluster is balanced".
std::string FormatBalancePlan(const runnel::v1::BalanceClusterResponse& plan, bool dry_run);

}  // namespace runnel::client::cli

#endif  // RUNNEL_CLIENT_CLI_OUTPUT_H_
