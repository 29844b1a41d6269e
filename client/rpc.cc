#include "client/rpc.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace runnel::client {

ForwardingTarget::ForwardingTarget(std::shared_ptr<MetadataCache> metadata)
    : metadata_(std::move(metadata)), current_(metadata_->options().bootstrap) {}

std::string ForwardingTarget::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void ForwardingTarget::Failed(const std::string& address) {
  // Live brokers first, then fenced ones (they may be back), then the bootstrap.
  std::vector<std::string> order;
  for (int pass = 0; pass < 2; ++pass) {
    for (const runnel::v1::BrokerInfo& b : metadata_->Brokers()) {
      const bool alive = b.state() == runnel::v1::BROKER_STATE_ALIVE;
      if ((pass == 0) == alive && !b.address().empty() &&
          std::find(order.begin(), order.end(), b.address()) == order.end()) {
        order.push_back(b.address());
      }
    }
  }
  const std::string& bootstrap = metadata_->options().bootstrap;
  if (std::find(order.begin(), order.end(), bootstrap) == order.end()) order.push_back(bootstrap);
  absl::MutexLock lock(&mu_);
  if (current_ != address) return;  // another caller moved on already
  auto it = std::find(order.begin(), order.end(), address);
  current_ = (it == order.end() || it + 1 == order.end()) ? order.front() : *(it + 1);
}

}  // namespace runnel::client
