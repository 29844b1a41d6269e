#include "client/errors.h"

#include "gtest/gtest.h"

namespace runnel::client {
namespace {

namespace v1 = runnel::v1;

TEST(PartitionErrorTest, NoneIsOk) {
  EXPECT_TRUE(PartitionError(v1::ERROR_CODE_NONE, "ignored", "t", 0).ok());
}

TEST(PartitionErrorTest, MapsEveryCodeToItsStatusCode) {
  const std::pair<v1::ErrorCode, absl::StatusCode> cases[] = {
      {v1::ERROR_CODE_UNKNOWN, absl::StatusCode::kUnknown},
      {v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION, absl::StatusCode::kNotFound},
      {v1::ERROR_CODE_NOT_LEADER, absl::StatusCode::kUnavailable},
      {v1::ERROR_CODE_OFFSET_OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
      {v1::ERROR_CODE_CORRUPT_BATCH, absl::StatusCode::kDataLoss},
      {v1::ERROR_CODE_BATCH_TOO_LARGE, absl::StatusCode::kInvalidArgument},
      {v1::ERROR_CODE_INVALID_REQUEST, absl::StatusCode::kInvalidArgument},
      {v1::ERROR_CODE_NOT_ENOUGH_REPLICAS, absl::StatusCode::kUnavailable},
      {v1::ERROR_CODE_FENCED_LEADER_EPOCH, absl::StatusCode::kUnavailable},
      {v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH, absl::StatusCode::kUnavailable},
      {v1::ERROR_CODE_LEADER_NOT_AVAILABLE, absl::StatusCode::kUnavailable},
      {v1::ERROR_CODE_REQUEST_TIMED_OUT, absl::StatusCode::kDeadlineExceeded},
      {v1::ERROR_CODE_STORAGE_ERROR, absl::StatusCode::kInternal},
      {v1::ERROR_CODE_UNKNOWN_MEMBER_ID, absl::StatusCode::kAborted},
      {v1::ERROR_CODE_STALE_GENERATION, absl::StatusCode::kAborted},
  };
  for (const auto& [code, expected] : cases) {
    absl::Status s = PartitionError(code, "msg", "t", 0);
    EXPECT_EQ(s.code(), expected) << v1::ErrorCode_Name(code);
    EXPECT_EQ(ErrorCodeOf(s), code) << v1::ErrorCode_Name(code);
  }
}

TEST(PartitionErrorTest, KeepsTheBrokerMessageVerbatim) {
  absl::Status s = PartitionError(v1::ERROR_CODE_OFFSET_OUT_OF_RANGE,
                                  "offset 9 is out of range for orders-0: valid offsets are 0 to 3",
                                  "orders", 0);
  EXPECT_EQ(s.message(), "offset 9 is out of range for orders-0: valid offsets are 0 to 3");
}

TEST(PartitionErrorTest, DescribesAndNamesThePartitionWithoutAMessage) {
  absl::Status s = PartitionError(v1::ERROR_CODE_NOT_LEADER, "", "orders", 3);
  EXPECT_EQ(s.message(), "broker is not the partition's leader (orders-3)");
}

TEST(ErrorCodeOfTest, PlainStatusHasNoCode) {
  EXPECT_EQ(ErrorCodeOf(absl::UnavailableError("x")), v1::ERROR_CODE_NONE);
  EXPECT_EQ(ErrorCodeOf(absl::OkStatus()), v1::ERROR_CODE_NONE);
}

TEST(IsRetriableTest, Codes) {
  for (v1::ErrorCode c :
       {v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION, v1::ERROR_CODE_NOT_LEADER,
        v1::ERROR_CODE_NOT_ENOUGH_REPLICAS, v1::ERROR_CODE_FENCED_LEADER_EPOCH,
        v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH, v1::ERROR_CODE_LEADER_NOT_AVAILABLE,
        v1::ERROR_CODE_REQUEST_TIMED_OUT}) {
    EXPECT_TRUE(IsRetriable(c)) << v1::ErrorCode_Name(c);
  }
  for (v1::ErrorCode c :
       {v1::ERROR_CODE_NONE, v1::ERROR_CODE_UNKNOWN, v1::ERROR_CODE_OFFSET_OUT_OF_RANGE,
        v1::ERROR_CODE_CORRUPT_BATCH, v1::ERROR_CODE_BATCH_TOO_LARGE,
        v1::ERROR_CODE_INVALID_REQUEST, v1::ERROR_CODE_STORAGE_ERROR,
        v1::ERROR_CODE_UNKNOWN_MEMBER_ID, v1::ERROR_CODE_STALE_GENERATION}) {
    EXPECT_FALSE(IsRetriable(c)) << v1::ErrorCode_Name(c);
  }
}

TEST(IsRetriableTest, RefreshOnlyForStaleMetadata) {
  EXPECT_TRUE(NeedsMetadataRefresh(v1::ERROR_CODE_NOT_LEADER));
  EXPECT_TRUE(NeedsMetadataRefresh(v1::ERROR_CODE_FENCED_LEADER_EPOCH));
  EXPECT_FALSE(NeedsMetadataRefresh(v1::ERROR_CODE_NOT_ENOUGH_REPLICAS));
  EXPECT_FALSE(NeedsMetadataRefresh(v1::ERROR_CODE_REQUEST_TIMED_OUT));
}

TEST(IsRetriableTest, Statuses) {
  // Transport failures are retriable; a NOT_FOUND from an RPC is not, but the
  // same status code from UNKNOWN_TOPIC_OR_PARTITION is (topic propagation).
  EXPECT_TRUE(IsRetriable(absl::UnavailableError("connection refused")));
  EXPECT_TRUE(IsRetriable(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(IsRetriable(absl::NotFoundError("topic 'x' not found")));
  EXPECT_TRUE(IsRetriable(PartitionError(v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION, "", "x", 0)));
  EXPECT_FALSE(IsRetriable(PartitionError(v1::ERROR_CODE_OFFSET_OUT_OF_RANGE, "", "x", 0)));
  EXPECT_FALSE(IsRetriable(absl::OkStatus()));
}

TEST(FromGrpcStatusTest, KeepsCodeAndMessage) {
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "taken"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "taken");
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(BootstrapUnreachableTest, MessageAndMarker) {
  absl::Status s = BootstrapUnreachable("127.0.0.1:1", "failed to connect to all addresses");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "cannot reach bootstrap broker 127.0.0.1:1: failed to connect to all addresses");
  EXPECT_TRUE(IsBootstrapUnreachable(s));
  EXPECT_FALSE(IsBootstrapUnreachable(absl::UnavailableError(s.message())));
}

TEST(MessagesTest, TopicNotFound) {
  absl::Status s = TopicNotFound("orders");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "topic 'orders' not found");
}

TEST(MessagesTest, PartitionOutOfRange) {
  absl::Status s = PartitionOutOfRange("orders", 5, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "partition 5 out of range for topic 'orders' (3 partitions: 0-2)");
  EXPECT_EQ(PartitionOutOfRange("t", -1, 1).message(),
            "partition -1 out of range for topic 't' (1 partition: 0)");
}

}  // namespace
}  // namespace runnel::client
