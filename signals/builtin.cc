// The one place where signal families join the registry. A new family adds one line here.
#include "signals/signal_registry.h"

namespace tailor {

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
