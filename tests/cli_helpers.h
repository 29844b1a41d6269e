// Helpers for tests that drive the `runnel` CLI against a TestCluster.
#ifndef RUNNEL_TESTS_CLI_HELPERS_H_
#define RUNNEL_TESTS_CLI_HELPERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tests/harness/process.h"

namespace runnel::testing {

// Runs `runnel ARGS... --bootstrap=BOOTSTRAP` with `input` on stdin.
CommandResult Cli(const std::string& bootstrap, std::vector<std::string> args,
                  const std::string& input = "");

// One line of `runnel consume --print-offset --print-key` output.
struct ConsumedLine {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
};

// Parses "partition=P offset=O<TAB>KEY<TAB>VALUE" lines; fails the test on a
// malformed line.
std::vector<ConsumedLine> ParseConsumed(const std::string& out);

// Lines of `s` without their newlines.
std::vector<std::string> Lines(const std::string& s);

}  // namespace runnel::testing

#endif  // RUNNEL_TESTS_CLI_HELPERS_H_
