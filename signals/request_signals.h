// The request family (header, cookie, query, path, host, method): registered by
// signals/builtin.cc, and alone by tests that build a small registry of their own.
#pragma once

#include "core/signal_registry.h"

namespace tailor {

void RegisterRequestSignals(SignalRegistry& r);

}  // namespace tailor
