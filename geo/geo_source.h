// The geo data source: `tailor_geoip2 PATH [auto_reload=INTERVAL]` (repeatable, one MaxMind
// database per line), read by the geo.* and local.* signals (geo/geo_signals.cc, which
// registers both). Per request the signals read the GeoService snapshot the request holds and
// the worker's GeoCache through Services::sources.
#pragma once

#include "core/data_source.h"
#include "core/services.h"
#include "geo/geo_service.h"

namespace tailor {

// The source's definition, registered by RegisterGeoSignals.
const DataSourceDef& GeoSourceDef();

// The geo slot of `services` (after SignalRegistry::Builtin() registered the source): set by
// the engine per request; tests and `tailorc geo` bind a GeoService they opened themselves.
void BindGeo(Services& services, const GeoService* geo, GeoCache* cache = nullptr);
const GeoService* BoundGeo(const Services& services);
GeoCache* BoundGeoCache(const Services& services);

// The registry's id for the source (set once by RegisterGeoSignals).
void SetGeoSourceId(size_t id);

}  // namespace tailor
