// The one place where signal families join the registry: each family's registration function
// adds its signals and its data source, if it has one. A new family adds one line to each list.
#include "core/signal_registry.h"
#include "signals/request_signals.h"

namespace tailor {

void RegisterReferrerSignals(SignalRegistry& r);  // signals/referrer_signals.cc: referrer.*, campaign.*
void RegisterDeviceSignals(SignalRegistry& r);    // signals/device_signals.cc: device.*
void RegisterVisitorSignals(SignalRegistry& r);   // signals/visitor_signals.cc: visitor.*, interest, lifecycle
void RegisterContextSignals(SignalRegistry& r);   // signals/context_signals.cc: lang, time.*
void RegisterGeoSignals(SignalRegistry& r);       // geo/geo_signals.cc: geo.*, local.*, tailor_geoip2

const SignalRegistry& SignalRegistry::Builtin() {
  static const SignalRegistry registry = [] {
    SignalRegistry r;
    RegisterRequestSignals(r);
    RegisterReferrerSignals(r);
    RegisterDeviceSignals(r);
    RegisterVisitorSignals(r);
    RegisterContextSignals(r);
    RegisterGeoSignals(r);
    return r;
  }();
  return registry;
}

}  // namespace tailor
