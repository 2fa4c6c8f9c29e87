// GeoReloader: hot reload for a GeoService over several files (`tailor_geoip2 PATH
// [auto_reload=INTERVAL]`, repeatable). One Reloader<GeoDatabase> per file; when any file's
// new version is swapped in, a new GeoService snapshot is built over the current databases.
// A new version must keep its kind (a City file replaced by an ASN file is rejected).
//
// Use (one GeoReloader per nginx worker, or one per process in the CLI):
//   config time:  auto r = GeoReloader::Create({"/var/lib/GeoIP/GeoLite2-City.mmdb", ...});
//                 (error -> fail the configuration; the message names the file)
//   worker timer: for (const GeoReloadReport& e : r->Poll()) log e.path / e.event.message
//   request:      std::shared_ptr<const GeoService> geo = r->Current();  // keep to request end
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/reloader.h"
#include "geo/geo_service.h"

namespace tailor {

struct GeoReloadReport {
  std::string path;
  ReloadEvent event;  // kSwapped or kRejected (kLoading/kUnchanged are not reported)
};

class GeoReloader {
 public:
  // `auto_reload[i]` false: file i is never polled (no auto_reload= on its directive);
  // empty: every file is polled.
  static Result<std::unique_ptr<GeoReloader>> Create(std::span<const std::string> paths,
                                                     std::span<const bool> auto_reload = {});

  // Owner thread only. Never blocks; returns what changed (usually nothing).
  std::vector<GeoReloadReport> Poll();
  // Blocks for background loads in progress, then reports as Poll (tests, CLI).
  std::vector<GeoReloadReport> Wait();
  const std::shared_ptr<const GeoService>& Current() const { return current_; }

 private:
  GeoReloader() = default;
  std::vector<GeoReloadReport> Collect(bool wait);

  std::vector<std::unique_ptr<Reloader<GeoDatabase>>> files_;
  std::vector<bool> poll_;  // per file: auto_reload
  std::shared_ptr<const GeoService> current_;
};

}  // namespace tailor
