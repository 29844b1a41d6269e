#include "client/fetch_streams.h"

#include <utility>

namespace runnel::client {

namespace v1 = runnel::v1;

struct FetchStreams::Stream {
  std::unique_ptr<v1::Broker::Stub> stub;
  grpc::ClientContext context;
  v1::FetchRequest request;
  std::thread reader;
  // Guarded by FetchStreams::mu_.
  std::deque<std::shared_ptr<const v1::FetchResponse>> answers;
  size_t queued_bytes = 0;
  bool stopping = false;
  bool ended = false;
  grpc::Status status;
};

FetchStreams::FetchStreams(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}

FetchStreams::~FetchStreams() { StopAll(); }

void FetchStreams::Start(const std::shared_ptr<grpc::Channel>& channel, const std::string& address,
                         v1::FetchRequest request) {
  Stop(address);
  auto stream = std::make_unique<Stream>();
  stream->stub = v1::Broker::NewStub(channel);
  stream->request = std::move(request);
  Stream* raw = stream.get();
  streams_[address] = std::move(stream);
  raw->reader = std::thread([this, raw] { Read(raw); });
}

void FetchStreams::Read(Stream* stream) {
  std::unique_ptr<grpc::ClientReader<v1::FetchResponse>> reader =
      stream->stub->FetchStream(&stream->context, stream->request);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto room = [this, stream]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stream->stopping || stream->queued_bytes < buffer_bytes_;
      };
      mu_.Await(absl::Condition(&room));
      if (stream->stopping) break;
    }
    auto answer = std::make_shared<v1::FetchResponse>();
    if (!reader->Read(answer.get())) break;
    size_t bytes = 0;
    for (const v1::FetchPartitionResponse& p : answer->partitions()) bytes += p.records().size();
    absl::MutexLock lock(&mu_);
    stream->queued_bytes += bytes;
    stream->answers.push_back(std::move(answer));
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock lock(&mu_);
  stream->status = std::move(status);
  stream->ended = true;
}

void FetchStreams::Stop(const std::string& address) {
  auto it = streams_.find(address);
  if (it == streams_.end()) return;
  Stream* stream = it->second.get();
  {
    absl::MutexLock lock(&mu_);
    stream->stopping = true;
  }
  stream->context.TryCancel();
  stream->reader.join();
  streams_.erase(it);
}

void FetchStreams::StopAll() {
  while (!streams_.empty()) Stop(streams_.begin()->first);
}

bool FetchStreams::AnyNews() const {
  for (const auto& [address, stream] : streams_) {
    if (!stream->answers.empty() || stream->ended) return true;
  }
  return false;
}

std::vector<FetchStreams::Delivery> FetchStreams::Take(absl::Duration timeout) {
  std::vector<Delivery> out;
  std::vector<std::string> ended;
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &FetchStreams::AnyNews), timeout);
    for (auto& [address, stream] : streams_) {
      if (stream->answers.empty() && !stream->ended) continue;
      Delivery& d = out.emplace_back();
      d.address = address;
      if (!stream->answers.empty()) {
        d.answer = std::move(stream->answers.front());
        stream->answers.pop_front();
        for (const v1::FetchPartitionResponse& p : d.answer->partitions()) {
          stream->queued_bytes -= p.records().size();
        }
      }
      if (stream->ended && stream->answers.empty()) {
        d.ended = true;
        d.status = stream->status;
        ended.push_back(address);
      }
    }
  }
  // Their threads have returned (or are about to): joining is quick.
  for (const std::string& address : ended) {
    auto it = streams_.find(address);
    it->second->reader.join();
    streams_.erase(it);
  }
  return out;
}

}  // namespace runnel::client
