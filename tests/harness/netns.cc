#include "tests/harness/netns.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tests/harness/process.h"

namespace runnel::testing {

namespace {
constexpr char kIpForward[] = "/proc/sys/net/ipv4/ip_forward";
constexpr int kMaxNamespaces = 8;

std::string IpBinary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "ip";  // fails in RunCommand with a clear exit code 127
}

absl::StatusOr<std::string> ReadSysctl(const char* path) {
  std::ifstream in(path);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

absl::Status WriteSysctl(const char* path, const std::string& value) {
  std::ofstream out(path);
  out << value << "\n";
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}
}  // namespace

void WrapInNamespace(const std::string& netns, std::string* path, std::vector<std::string>* args) {
  if (netns.empty()) return;
  std::vector<std::string> wrapped = {"netns", "exec", netns, *path};
  wrapped.insert(wrapped.end(), args->begin(), args->end());
  *path = IpBinary();
  *args = std::move(wrapped);
}

absl::StatusOr<int> NetworkNamespaces::FreeSubnetBlock(pid_t pid, int count) {
  // Blocks of 8 subnets from 10.201.2.0 to 10.201.241.0; start at one picked
  // by pid and skip blocks another run (another test, say) already uses.
  CommandResult r = RunCommand(IpBinary(), {"-o", "-4", "addr", "show"}, "", absl::Seconds(10));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("`ip -o -4 addr show` exited ", r.exit_code, ": ",
                                            r.err));
  }
  constexpr int kBlocks = 30;
  for (int k = 0; k < kBlocks; ++k) {
    const int first = 2 + ((pid + k) % kBlocks) * kMaxNamespaces;
    bool used = false;
    for (int i = 0; i < count && !used; ++i) {
      used = absl::StrContains(r.out, absl::StrCat(" 10.201.", first + i, "."));
    }
    if (!used) return first;
  }
  return absl::ResourceExhaustedError("every 10.201.x.0/24 block is in use");
}

absl::Status NetworkNamespaces::Ip(const std::vector<std::string>& args) {
  CommandResult r = RunCommand(IpBinary(), args, "", absl::Seconds(10));
  if (r.exit_code == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("`ip ", absl::StrJoin(args, " "), "` exited ",
                                          r.exit_code, ": ", r.err));
}

absl::StatusOr<std::unique_ptr<NetworkNamespaces>> NetworkNamespaces::Create(int count) {
  if (count < 1 || count > kMaxNamespaces) {
    return absl::InvalidArgumentError(absl::StrCat("namespace count ", count, " not in 1..",
                                                   kMaxNamespaces));
  }
  if (geteuid() != 0) return absl::PermissionDeniedError("network namespaces need root");
  std::unique_ptr<NetworkNamespaces> n(new NetworkNamespaces());
  const pid_t pid = getpid();
  absl::StatusOr<int> first = FreeSubnetBlock(pid, count);
  if (!first.ok()) return first.status();
  n->first_octet3_ = *first;
  absl::StatusOr<std::string> forward = ReadSysctl(kIpForward);
  if (!forward.ok()) return forward.status();
  if (*forward != "1") {
    if (absl::Status s = WriteSysctl(kIpForward, "1"); !s.ok()) return s;
    n->saved_ip_forward_ = *forward;
  }
  // On any failure below, `n`'s destructor removes what was made so far.
  for (int i = 0; i < count; ++i) {
    const std::string ns = absl::StrCat("runnel-", pid, "-", i);
    const std::string root_end = absl::StrCat("rn", pid, "r", i);  // <= 15 chars
    const std::string ns_end = absl::StrCat("rn", pid, "n", i);
    const std::string prefix = absl::StrCat("10.201.", n->first_octet3_ + i, ".");
    if (absl::Status s = Ip({"netns", "add", ns}); !s.ok()) return s;
    n->names_.push_back(ns);
    if (absl::Status s = Ip({"link", "add", root_end, "type", "veth", "peer", "name", ns_end});
        !s.ok()) {
      return s;
    }
    n->root_links_.push_back(root_end);
    for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
             {"link", "set", ns_end, "netns", ns},
             {"addr", "add", prefix + "1/24", "dev", root_end},
             {"link", "set", root_end, "up"},
             {"-n", ns, "addr", "add", prefix + "2/24", "dev", ns_end},
             {"-n", ns, "link", "set", ns_end, "up"},
             {"-n", ns, "link", "set", "lo", "up"},
             {"-n", ns, "route", "add", "default", "via", prefix + "1"},
         }) {
      if (absl::Status s = Ip(cmd); !s.ok()) return s;
    }
  }
  return n;
}

NetworkNamespaces::~NetworkNamespaces() {
  // Deleting a namespace deletes its veth end and with it the peer; deleting
  // the root ends too covers links whose peer never moved into a namespace.
  for (const std::string& ns : names_) Ip({"netns", "delete", ns}).IgnoreError();
  for (const std::string& link : root_links_) {
    if (access(absl::StrCat("/sys/class/net/", link).c_str(), F_OK) == 0) {
      Ip({"link", "delete", link}).IgnoreError();
    }
  }
  // Another run's namespaces still route through the root namespace: leave
  // forwarding on for it (it restores nothing, having found it on).
  CommandResult others = RunCommand(IpBinary(), {"netns", "list"}, "", absl::Seconds(10));
  const bool others_running = absl::StrContains(others.out, "runnel-");
  if (!saved_ip_forward_.empty() && !others_running) {
    WriteSysctl(kIpForward, saved_ip_forward_).IgnoreError();
  }
}

std::string NetworkNamespaces::host(int i) const {
  return absl::StrCat("10.201.", first_octet3_ + i, ".2");
}

std::string NetworkNamespaces::Subnet(int i) const {
  return absl::StrCat("10.201.", first_octet3_ + i, ".0/24");
}

std::string NetworkNamespaces::DebugString() const {
  std::string out;
  for (const std::string& ns : names_) {
    CommandResult routes = RunCommand(IpBinary(), {"-n", ns, "route"}, "", absl::Seconds(10));
    CommandResult addrs =
        RunCommand(IpBinary(), {"-n", ns, "-o", "-4", "addr"}, "", absl::Seconds(10));
    CommandResult sockets =
        RunCommand(IpBinary(), {"netns", "exec", ns, "ss", "-tn"}, "", absl::Seconds(10));
    absl::StrAppend(&out, "--- netns ", ns, " routes:\n", routes.out, routes.err, "addresses:\n",
                    addrs.out, "tcp sockets:\n", sockets.out, sockets.err);
    for (size_t j = 0; j < names_.size(); ++j) {
      CommandResult get = RunCommand(IpBinary(), {"-n", ns, "route", "get", host(j)}, "",
                                     absl::Seconds(10));
      absl::StrAppend(&out, "route to ", host(j), ": ", get.out, get.err);
    }
  }
  return out;
}

absl::Status NetworkNamespaces::Cut(int i, int j) {
  if (absl::Status s = Ip({"-n", names_[i], "route", "add", "blackhole", Subnet(j)}); !s.ok()) {
    return s;
  }
  return Ip({"-n", names_[j], "route", "add", "blackhole", Subnet(i)});
}

absl::Status NetworkNamespaces::Heal(int i, int j) {
  absl::Status a = Ip({"-n", names_[i], "route", "del", "blackhole", Subnet(j)});
  absl::Status b = Ip({"-n", names_[j], "route", "del", "blackhole", Subnet(i)});
  return a.ok() ? b : a;
}

}  // namespace runnel::testing
