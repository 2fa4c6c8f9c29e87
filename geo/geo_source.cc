#include "geo/geo_source.h"

#include <string>
#include <vector>

#include "geo/geo_reloader.h"

namespace tailor {
namespace {

size_t g_geo_source = kMaxDataSources;  // set by RegisterGeoSignals

// The databases of every tailor_geoip2 line behind one reloader. Every file is polled at the
// shortest auto_reload= interval given (none given: never).
class GeoDataSource final : public DataSource {
 public:
  static std::unique_ptr<DataSource> Create(std::span<const SourceSetting> lines,
                                            Diagnostics& diags) {
    std::vector<std::string> paths;
    int64_t interval = 0;
    for (const SourceSetting& line : lines) {
      paths.push_back(line.path);
      if (const SourceSetting::Option* o = line.Find("auto_reload"))
        if (o->ms > 0 && (interval == 0 || o->ms < interval)) interval = o->ms;
    }
    auto reloader = GeoReloader::Create(paths);
    if (!reloader.ok()) {
      diags.Error(paths.size() == 1 ? paths[0] : "tailor_geoip2", 0, 0,
                  reloader.status().message());
      return nullptr;
    }
    std::unique_ptr<GeoDataSource> source(new GeoDataSource());
    source->reloader_ = std::move(reloader).value();
    source->interval_ms_ = interval;
    return source;
  }

  int64_t poll_interval_ms() const override { return interval_ms_; }
  // Decoded records by (database, data offset): many addresses share one record.
  void StartWorker() override { cache_ = std::make_unique<GeoCache>(4096); }
  void Poll(std::vector<PollMessage>* out) override {
    for (const GeoReloadReport& r : reloader_->Poll())
      out->push_back({r.event.outcome == ReloadOutcome::kRejected,
                      r.path + ": " + ReloadOutcomeName(r.event.outcome) +
                          (r.event.message.empty() ? "" : ": " + r.event.message)});
  }
  std::shared_ptr<const void> Snapshot() const override { return reloader_->Current(); }
  void* worker_state() const override { return cache_.get(); }

 private:
  GeoDataSource() = default;
  std::unique_ptr<GeoReloader> reloader_;
  int64_t interval_ms_ = 0;
  std::unique_ptr<GeoCache> cache_;
};

constexpr SourceOptionDef kGeoOptions[] = {
    {"auto_reload", SourceOptionDef::Kind::kDuration},
};

}  // namespace

const DataSourceDef& GeoSourceDef() {
  static const DataSourceDef def = {
      "tailor_geoip2",
      kGeoOptions,
      "--geoip",
      "a MaxMind database (City or Country, ASN, Anonymous-IP) for geo.* and local.*",
      GeoDataSource::Create,
  };
  return def;
}

void SetGeoSourceId(size_t id) { g_geo_source = id; }

void BindGeo(Services& services, const GeoService* geo, GeoCache* cache) {
  if (g_geo_source < kMaxDataSources) services.sources[g_geo_source] = {geo, cache};
}

const GeoService* BoundGeo(const Services& services) {
  if (g_geo_source >= kMaxDataSources) return nullptr;
  return static_cast<const GeoService*>(services.sources[g_geo_source].snapshot);
}

GeoCache* BoundGeoCache(const Services& services) {
  if (g_geo_source >= kMaxDataSources) return nullptr;
  return static_cast<GeoCache*>(services.sources[g_geo_source].worker);
}

}  // namespace tailor
