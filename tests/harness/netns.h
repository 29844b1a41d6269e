// NetworkNamespaces: Linux network namespaces for tests that cut brokers off
// from each other without killing them (a network partition).
//
// Each namespace i gets its own /24, 10.201.N.0/24 (N picked from the pid,
// skipping subnets a concurrent run already uses), and is joined to the root
// namespace by a veth pair: the root side is 10.201.N.1, the namespace side
// 10.201.N.2 (host(i)), and each namespace routes everything via the root
// side. IPv4 forwarding is switched on in the root namespace while the object
// lives, so namespaces reach each other through the root namespace and a
// test process in the root namespace reaches all of them. Cut(i, j) drops
// traffic between two namespaces with blackhole routes on both sides; Heal
// removes them.
//
// The destructor deletes every namespace and link it created (also when the
// test failed) and restores the previous ip_forward value, unless another
// run's namespaces (runnel-*) still exist: it then leaves forwarding on for
// them. Needs root and the `ip` tool (iproute2). Thread-safety: use from one
// thread.
#ifndef RUNNEL_TESTS_HARNESS_NETNS_H_
#define RUNNEL_TESTS_HARNESS_NETNS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace runnel::testing {

// Rewrites `path args...` into the command that runs it inside network
// namespace `netns` (no change when `netns` is empty). `ip netns exec` execs
// the command in place, so the started process keeps the pid we see.
void WrapInNamespace(const std::string& netns, std::string* path, std::vector<std::string>* args);

class NetworkNamespaces {
 public:
  // Creates `count` namespaces (1..8). Fails (after undoing what it did) when
  // not root or when a namespace or link cannot be made: callers skip then.
  static absl::StatusOr<std::unique_ptr<NetworkNamespaces>> Create(int count);

  NetworkNamespaces(const NetworkNamespaces&) = delete;
  NetworkNamespaces& operator=(const NetworkNamespaces&) = delete;
  ~NetworkNamespaces();

  // Name of namespace i, for `ip netns exec NAME ...`.
  const std::string& name(int i) const { return names_[i]; }
  // The address of namespace i on its veth, e.g. "10.201.37.2".
  std::string host(int i) const;

  // Drops all traffic between namespaces i and j (both directions); both
  // still reach and are reached from the root namespace.
  absl::Status Cut(int i, int j);
  // Undoes Cut(i, j).
  absl::Status Heal(int i, int j);

  // Every namespace's routes and addresses, for a failing test's output.
  std::string DebugString() const;

 private:
  NetworkNamespaces() = default;
  std::string Subnet(int i) const;  // "10.201.N.0/24"
  // N of the first of `count` consecutive 10.201.N.0/24 subnets that no
  // interface of the root namespace uses yet.
  static absl::StatusOr<int> FreeSubnetBlock(pid_t pid, int count);
  // Runs `ip args...`; an error names the command and its stderr.
  static absl::Status Ip(const std::vector<std::string>& args);

  int first_octet3_ = 0;  // N of namespace 0; namespace i uses N + i
  std::vector<std::string> names_;
  std::vector<std::string> root_links_;  // root-side veth ends we created
  std::string saved_ip_forward_;         // empty: not changed
};

}  // namespace runnel::testing

#endif  // RUNNEL_TESTS_HARNESS_NETNS_H_
