#include "common/flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace runnel {

FlagSet::FlagSet(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)) {}

std::string FlagSet::EnvName(const std::string& name) {
  return "RUNNEL_" + absl::AsciiStrToUpper(absl::StrReplaceAll(name, {{"-", "_"}}));
}

void FlagSet::String(const std::string& name, std::string* target,
                     const std::string& default_value, const std::string& help) {
  *target = default_value;
  flags_.push_back({name, help, default_value.empty() ? "\"\"" : default_value, false, false,
                    [target](const std::string& v) {
                      *target = v;
                      return true;
                    }});
}

void FlagSet::Int(const std::string& name, int64_t* target, int64_t default_value,
                  const std::string& help) {
  *target = default_value;
  flags_.push_back({name, help, absl::StrCat(default_value), false, false,
                    [target](const std::string& v) { return absl::SimpleAtoi(v, target); }});
}

void FlagSet::Bool(const std::string& name, bool* target, bool default_value,
                   const std::string& help) {
  *target = default_value;
  flags_.push_back({name, help, default_value ? "true" : "false", true, false,
                    [target](const std::string& v) { return absl::SimpleAtob(v, target); }});
}

void FlagSet::Repeated(const std::string& name, std::vector<std::string>* target,
                       const std::string& help) {
  target->clear();
  flags_.push_back({name, help, "none", false, true, [target](const std::string& v) {
                      target->push_back(v);
                      return true;
                    }});
}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::ReadsEnv(const Flag& f) const {
  if (!use_env_ || f.repeated) return false;
  return !env_names_.has_value() || env_names_->count(f.name) != 0;
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args) {
  // Environment first, so that the command line overrides it.
  {
    for (Flag& f : flags_) {
      if (!ReadsEnv(f)) continue;
      std::string env = EnvName(f.name);
      const char* v = std::getenv(env.c_str());
      if (v == nullptr) continue;
      if (!f.set(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid value '", v, "' in ", env, " for --", f.name));
      }
    }
  }
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    Flag* f = Find(name);
    if (f == nullptr && !has_value && name.rfind("no-", 0) == 0) {
      Flag* neg = Find(name.substr(3));
      if (neg != nullptr && neg->is_bool) {
        neg->set("false");
        continue;
      }
    }
    if (f == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!has_value) {
      if (f->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (!f->set(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", value, "' for --", name));
    }
  }
  return positional;
}

std::string FlagSet::Help() const {
  std::string out = absl::StrCat("Usage: ", usage_, "\n\nFlags:\n");
  for (const Flag& f : flags_) {
    absl::StrAppend(&out, "  --", f.name, f.is_bool ? "" : "=VALUE", "\n      ", f.help,
                    "\n      default: ", f.default_text);
    if (ReadsEnv(f)) absl::StrAppend(&out, "; env: ", EnvName(f.name));
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "  --help\n      Print this help and exit.\n");
  return out;
}

std::vector<std::string> ParseFlagsOrExit(FlagSet& flags, int argc, char** argv) {
  absl::StatusOr<std::vector<std::string>> positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Help();
    std::exit(0);
  }
  if (!positional.ok()) {
    std::cerr << flags.program() << ": " << positional.status().message() << " (see --help)\n";
    std::exit(2);
  }
  return *positional;
}

absl::Status ValidateHostPort(absl::string_view flag, absl::string_view value,
                              bool allow_port_zero) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " '", value, "' is not host:port (", why, ")"));
  };
  const size_t colon = value.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  const absl::string_view host = value.substr(0, colon);
  const absl::string_view port = value.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("unclosed IPv6 bracket");
  } else if (host.find(':') != absl::string_view::npos) {
    return bad("an IPv6 address needs brackets, as in [::1]:9092");
  }
  int number = 0;
  if (port.empty() || port.size() > 5 || !absl::SimpleAtoi(port, &number) || number > 65535 ||
      port.find_first_not_of("0123456789") != absl::string_view::npos) {
    return bad("port must be a number from 0 to 65535");
  }
  if (number == 0 && !allow_port_zero) return bad("port 0");
  return absl::OkStatus();
}

}  // namespace runnel
