#include "geo/geo_reloader.h"

namespace tailor {

Result<std::unique_ptr<GeoReloader>> GeoReloader::Create(std::span<const std::string> paths,
                                                         std::span<const bool> auto_reload) {
  std::unique_ptr<GeoReloader> r(new GeoReloader());
  if (!auto_reload.empty() && auto_reload.size() != paths.size())
    return Status::Error("GeoReloader: one auto_reload flag per file");
  std::vector<std::shared_ptr<const GeoDatabase>> dbs;
  for (const std::string& path : paths) {
    // The reloader's loader: the same validation as at config time, and a new version must
    // keep the kind the first one had. The first call is synchronous (Create), later ones
    // run on the reload thread and only read `kind`.
    auto kind = std::make_shared<GeoDbKind>(GeoDbKind::kUnknown);
    auto first = std::make_shared<bool>(true);
    auto loader = [kind, first](const std::string& p) -> Result<std::shared_ptr<const GeoDatabase>> {
      auto db = GeoDatabase::Open(p);
      if (!db.ok()) return db.status();
      if (*first) {
        *first = false;
        *kind = db.value()->kind();
      } else if (db.value()->kind() != *kind) {
        return Status::Error(p + ": the new file is a " + GeoDbKindName(db.value()->kind()) +
                             " database (\"" + db.value()->database_type() + "\"), was " +
                             GeoDbKindName(*kind));
      }
      return db;
    };
    auto fr = Reloader<GeoDatabase>::Create(path, loader);
    if (!fr.ok()) return fr.status();
    dbs.push_back(fr.value()->Current());
    r->files_.push_back(std::move(fr).value());
    r->poll_.push_back(auto_reload.empty() || auto_reload[r->poll_.size()]);
  }
  auto svc = GeoService::Create(std::move(dbs));
  if (!svc.ok()) return svc.status();
  r->current_ = std::move(svc).value();
  return r;
}

std::vector<GeoReloadReport> GeoReloader::Poll() { return Collect(false); }
std::vector<GeoReloadReport> GeoReloader::Wait() { return Collect(true); }

std::vector<GeoReloadReport> GeoReloader::Collect(bool wait) {
  std::vector<GeoReloadReport> reports;
  bool swapped = false;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (!poll_[i]) continue;
    Reloader<GeoDatabase>* f = files_[i].get();
    ReloadEvent e = f->Poll();
    if (wait && e.outcome == ReloadOutcome::kLoading) e = f->Wait();
    if (e.outcome == ReloadOutcome::kSwapped) swapped = true;
    if (e.outcome == ReloadOutcome::kSwapped || e.outcome == ReloadOutcome::kRejected)
      reports.push_back({f->path(), std::move(e)});
  }
  if (swapped) {
    std::vector<std::shared_ptr<const GeoDatabase>> dbs;
    for (auto& f : files_) dbs.push_back(f->Current());
    auto svc = GeoService::Create(std::move(dbs));
    // Kinds are checked per file, so this cannot fail; keep the old snapshot if it does.
    if (svc.ok()) current_ = std::move(svc).value();
  }
  return reports;
}

}  // namespace tailor
