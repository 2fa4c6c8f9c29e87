// Reading a whole file into memory, never more than a limit: the one reader for rules, Lua
// sources, CSV tables and the tools.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"

namespace tailor {

// Why ReadFileLimited failed, for callers that word the failure their own way.
struct FileReadFailure {
  enum class Kind { kNone, kCannotOpen, kIsDirectory, kTooLarge, kReadError };
  Kind kind = Kind::kNone;
  int error_number = 0;  // errno of the failed open (kCannotOpen) or read (kReadError)
};

// The whole file at `path`, or an error when it cannot be opened or read, is a directory, or
// holds more than `max_bytes` bytes (checked before reading and while reading, so a file that
// grows is cut off at the limit). The status says "cannot read PATH: REASON", "PATH is a
// directory", "PATH is larger than N bytes" or "cannot read PATH"; `failure`, when given, says
// which.
Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes,
                                    FileReadFailure* failure = nullptr);

}  // namespace tailor
