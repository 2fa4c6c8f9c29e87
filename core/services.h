// Services: the immutable, config-time objects that signals read (classifiers, databases,
// secrets). One Services per loaded configuration; the glue builds it from directives, the
// CLI from flags. Pointers may be null when a feature is not configured: signals that need a
// missing service yield Value::Missing().
#pragma once

#include <span>
#include <string_view>

#include "core/data_source.h"

namespace tailor {

class ReferrerClassifier;   // signals/referrer_classifier.h
class DeviceClassifier;     // signals/device_classifier.h
class ProfileCodec;         // signals/visitor_profile.h
class LanguageMatcher;      // signals/language.h
class InterestSet;          // signals/visitor_profile.h
class TableSet;             // tables/table_set.h

struct Services {
  const ReferrerClassifier* referrer = nullptr;
  const DeviceClassifier* device = nullptr;
  const ProfileCodec* profile = nullptr;
  const LanguageMatcher* languages = nullptr;
  std::span<const std::string_view> own_hosts;  // hosts counted as internal referrers
  const InterestSet* interests = nullptr;  // the rules' `interest` declarations, compiled
  const TableSet* tables = nullptr;  // the rules' `table` declarations (a reload snapshot)
  // The data sources' per-request data by source id (SignalRegistry::AddSource): the geo
  // databases' snapshot and the worker's decoded-record cache, ...
  SourceData sources[kMaxDataSources];
};

}  // namespace tailor
