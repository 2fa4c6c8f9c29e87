// Reading the JSON access log of docs/experiments.md (nginx `log_format ... escape=json`):
// a streaming line reader over plain or gzip files, and a parser of one line into the fields
// the report needs. Offline tooling (tailorc report), not the request path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tailor {

// Lines longer than this are reported as too long (and counted as bad by the report).
inline constexpr size_t kMaxLogLineLength = 64 * 1024;

// Reads lines from a file, gzip-compressed or not (zlib detects it), or from stdin ("-").
// Memory is one buffer, whatever the file size.
class LogLineReader {
 public:
  ~LogLineReader();
  static Result<std::unique_ptr<LogLineReader>> Open(const std::string& path);

  enum class Next { kLine, kTooLong, kEnd, kError };
  // The next line without its '\n' (and '\r'), valid until the next call. A line over
  // kMaxLogLineLength is skipped entirely and returned as kTooLong. kError: read failure
  // (error() says why).
  Next ReadLine(std::string_view* line);
  const std::string& error() const { return error_; }

 private:
  LogLineReader() = default;
  bool Fill();  // reads more bytes; false at end or error

  void* file_ = nullptr;  // gzFile
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::string error_;
};

// The fields of one log line the report reads. Views point into the line or into the
// record's own scratch (for values that had JSON escapes).
struct AccessLogRecord {
  bool has_time = false;
  int64_t time_ms = 0;            // "time": $time_iso8601, $time_local-free ISO 8601, or $msec
  std::string_view visitor;       // "visitor_hash" if present, else "visitor"; "" / "-": none
  std::string_view experiments;   // "hero:bold,pricing:control"
  std::string_view variant;       // the page variant
  std::string_view uri;           // "uri" ($uri or $request_uri; the query is not stripped)
  int status = 0;                 // 0 when absent

  std::string scratch;  // unescaped copies (reused between lines: no per-line allocation)
};

// Parses one JSON object line. False (a bad line) when it is not a flat JSON object or has
// no parsable "time". Unknown fields are skipped; nested values are skipped too.
bool ParseAccessLogLine(std::string_view line, AccessLogRecord* out);

// ISO 8601 with offset ("2026-11-23T18:46:43+00:00", "...Z", optional ".123" fraction) or
// seconds since the epoch with an optional fraction ("1795459603.123") -> ms since the epoch.
std::optional<int64_t> ParseLogTime(std::string_view text);

// The variant of `experiment` in a `$tailor_experiments` value ("hero:bold,pricing:control"),
// or "" when the experiment is not listed.
std::string_view FindExperimentVariant(std::string_view experiments, std::string_view experiment);

}  // namespace tailor
