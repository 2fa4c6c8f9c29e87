// Data sources: the files a signal family reads besides the request (the geo databases today;
// a store list or a device database tomorrow). A family registers its source with its signals
// (SignalRegistry::AddSource): the directive that names the files, the options that directive
// takes, the `tailorc explain` flag, and how to open them. The engine, the C API and the nginx
// glue handle every source through this one interface, so a new source changes none of them.
//
// Lifetimes follow the engine's: Create at config time (errors fail the configuration),
// StartWorker once per worker process, Poll from the worker's timer (never blocks), and per
// request Snapshot() — held until the request ends, so a hot reload never changes data under
// a running request — plus the worker's mutable state (a cache), read through
// Services::sources[id].
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace tailor {

// One directive line: `tailor_geoip2 /var/lib/GeoIP/City.mmdb auto_reload=60s`.
struct SourceSetting {
  std::string directive;  // "tailor_geoip2" (DataSourceDef::directive)
  std::string path;       // the file (made absolute by the glue against nginx's prefix)
  struct Option {
    std::string name;   // "auto_reload"
    std::string text;   // as written
    int64_t ms = 0;     // kDuration options: the value in milliseconds (> 0)
  };
  std::vector<Option> options;
  const Option* Find(std::string_view name) const {
    for (const Option& o : options)
      if (o.name == name) return &o;
    return nullptr;
  }
};

// The options a source's directive takes after the path, each written NAME=VALUE.
struct SourceOptionDef {
  enum class Kind : unsigned char { kDuration, kText };
  std::string_view name;
  Kind kind = Kind::kText;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  // How often Poll() should run; 0 when nothing is watched.
  virtual int64_t poll_interval_ms() const { return 0; }
  // Each worker process calls this once before serving requests (allocate caches here).
  virtual void StartWorker() {}
  struct PollMessage {
    bool error;        // true: a reload was rejected (old data kept)
    std::string text;  // names the file and says what happened
  };
  // The worker's timer: swaps in changed files (never blocks), appending what happened.
  virtual void Poll(std::vector<PollMessage>* out) {}
  // Request start: the current data, held (shared) until the request ends.
  virtual std::shared_ptr<const void> Snapshot() const = 0;
  // This worker's mutable state (after StartWorker), or null.
  virtual void* worker_state() const { return nullptr; }
};

// Names (directive, options) must be string literals: the C API hands them to the glue as
// NUL-terminated C strings for the process's life.
struct DataSourceDef {
  std::string_view directive;                 // "tailor_geoip2": repeatable, one file each
  std::span<const SourceOptionDef> options;   // what may follow the path
  std::string_view explain_flag;              // "--geoip": `tailorc explain --geoip FILE`
  std::string_view doc;                       // one line for the references
  // Config time: every line of the directive, in configuration order (at least one).
  // Errors (unreadable, corrupt files) are reported in `diags`, naming the file; null then.
  std::unique_ptr<DataSource> (*create)(std::span<const SourceSetting> lines, Diagnostics& diags) =
      nullptr;
};

// The most data sources one registry holds (Services keeps one slot per source; the nginx
// glue keeps as many spare directive slots).
inline constexpr size_t kMaxDataSources = 8;

// One source's data for a request: the snapshot and the worker's state (null: not configured).
struct SourceData {
  const void* snapshot = nullptr;
  void* worker = nullptr;
};

}  // namespace tailor
