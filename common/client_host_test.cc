#include "common/client_host.h"

#include "gtest/gtest.h"

namespace runnel {
namespace {

TEST(HostOfPeerTest, StripsSchemeAndPort) {
  EXPECT_EQ(HostOfPeer("ipv4:127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(HostOfPeer("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(HostOfPeer("unix:/tmp/sock"), "unix:/tmp/sock");
  EXPECT_EQ(HostOfPeer(""), "");
}

}  // namespace
}  // namespace runnel
