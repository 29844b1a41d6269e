// Runs a FakeCluster whose brokers listen on free 127.0.0.1 ports, so the
// `runnel` CLI can be exercised as a real process before (or without) real
// brokers. Prints "bootstrap=127.0.0.1:PORT" on stdout, then serves until
// killed or until stdin reaches EOF.
//
// Usage: fake_cluster_main [BROKERS]   (default 1)
#include <cstdlib>
#include <iostream>
#include <string>

#include "client/testing/fake_cluster.h"

int main(int argc, char** argv) {
  int brokers = argc > 1 ? std::atoi(argv[1]) : 1;
  if (brokers < 1) {
    std::cerr << "fake_cluster_main: BROKERS must be at least 1\n";
    return 2;
  }
  runnel::client::testing::FakeCluster cluster(brokers, /*listen_on_loopback=*/true);
  std::cout << "bootstrap=" << cluster.Address(1) << std::endl;
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  return 0;
}
