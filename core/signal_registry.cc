#include "core/signal_registry.h"

#include <stdexcept>

namespace tailor {

void SignalRegistry::Add(SignalDef def) {
  if (by_name_.count(def.name)) throw std::logic_error("signal registered twice: " + def.name);
  by_name_.emplace(def.name, defs_.size());
  defs_.push_back(std::move(def));
}

size_t SignalRegistry::ReserveMemo(size_t size, size_t align) {
  size_t offset = (memo_size_ + align - 1) / align * align;
  memo_size_ = offset + size;
  return offset;
}

size_t SignalRegistry::AddSource(DataSourceDef def) {
  if (FindSource(def.directive) != nullptr)
    throw std::logic_error("data source registered twice: " + std::string(def.directive));
  if (sources_.size() == kMaxDataSources)
    throw std::logic_error("more than kMaxDataSources data sources");
  sources_.push_back(def);
  return sources_.size() - 1;
}

const DataSourceDef* SignalRegistry::FindSource(std::string_view directive) const {
  for (const DataSourceDef& d : sources_)
    if (d.directive == directive) return &d;
  return nullptr;
}

const SignalDef* SignalRegistry::Find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &defs_[it->second];
}

}  // namespace tailor
