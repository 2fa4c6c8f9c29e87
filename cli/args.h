// tailorc's one argument parser: each command declares its flags and what to do with the other
// arguments, and Parse walks the arguments once, in order.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/command.h"

namespace tailor::cli {

class Args {
 public:
  // Gets one argument (a flag's value, or an argument no flag took); returns 0 to go on, or
  // the exit code of a failure it has reported (UsageError's 2, or 1).
  using Handler = std::function<int(const std::string&)>;

  explicit Args(const Command& command) : command_(command) {}

  // `name VALUE`. Without a value the usage error is `missing`; with `missing` empty, a `name`
  // without a value is not this flag and goes to the other arguments' handler.
  Args& Flag(std::string name, std::string missing, Handler set);
  Args& Flag(std::string name, std::string missing, std::string* out);
  Args& Repeated(std::string name, std::string missing, std::vector<std::string>* out);
  // `name` alone (or its `alias`) sets *on.
  Args& Switch(std::string name, std::string alias, bool* on);
  // Every argument no flag took, in order (without one: "unexpected argument \"ARG\"").
  Args& Other(Handler other);

  // Parses args[first...]: 0, or the exit code of the first failure.
  int Parse(const std::vector<std::string>& args, size_t first = 0) const;

  // The usage error for this command (stderr, exit code 2).
  int Usage(const std::string& message) const { return UsageError(command_, message); }

 private:
  struct Spec {
    std::string name, alias, missing;
    bool takes_value;
    Handler set;
  };
  const Command& command_;
  std::vector<Spec> specs_;
  Handler other_;
};

}  // namespace tailor::cli
