// Services: the immutable, config-time objects that signals read (classifiers, databases,
// secrets). One Services per loaded configuration; the glue builds it from directives, the
// CLI from flags. Pointers may be null when a feature is not configured: signals that need a
// missing service yield Value::Missing().
#pragma once

#include <span>
#include <string_view>

namespace tailor {

class ReferrerClassifier;   // signals/referrer_classifier.h
class DeviceClassifier;     // signals/device_classifier.h
class ProfileCodec;         // signals/visitor_profile.h
class LanguageMatcher;      // signals/language.h
class GeoService;           // geo/geo_service.h
class InterestSet;          // signals/visitor_profile.h
class GeoCache;             // geo/geo_service.h
class TableSet;             // tables/table_set.h

struct Services {
  const ReferrerClassifier* referrer = nullptr;
  const DeviceClassifier* device = nullptr;
  const ProfileCodec* profile = nullptr;
  const LanguageMatcher* languages = nullptr;
  const GeoService* geo = nullptr;
  std::span<const std::string_view> own_hosts;  // hosts counted as internal referrers
  const InterestSet* interests = nullptr;  // the rules' `interest` declarations, compiled
  // Per worker and mutable (decoded geo records by data offset); null = no cache.
  GeoCache* geo_cache = nullptr;
  const TableSet* tables = nullptr;  // the rules' `table` declarations (a reload snapshot)
};

}  // namespace tailor
