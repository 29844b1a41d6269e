#include "tests/cli_helpers.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace runnel::testing {

CommandResult Cli(const std::string& bootstrap, std::vector<std::string> args,
                  const std::string& input) {
  args.push_back(absl::StrCat("--bootstrap=", bootstrap));
  return RunCommand(BinaryPath("client/cli/runnel"), args, input, absl::Seconds(120));
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines = absl::StrSplit(s, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::vector<ConsumedLine> ParseConsumed(const std::string& out) {
  std::vector<ConsumedLine> result;
  for (const std::string& line : Lines(out)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 2));
    ConsumedLine c;
    bool ok = fields.size() == 3 &&
              sscanf(fields[0].c_str(), "partition=%d offset=%ld", &c.partition, &c.offset) == 2;
    EXPECT_TRUE(ok) << "malformed consume line: " << line;
    if (!ok) continue;
    c.key = fields[1];
    c.value = fields[2];
    result.push_back(c);
  }
  return result;
}

}  // namespace runnel::testing
