// The referrer.* and campaign.* signal family, and the per-request referrer result other
// families reuse (the visitor profile records first- and last-touch medium/source).
#pragma once

#include "signals/referrer_classifier.h"
#include "core/signal_registry.h"

namespace tailor {

// This request's classification, computed once per request (memoized). Null when no
// ReferrerClassifier is configured (Services::referrer).
const ReferrerResult* RequestReferrer(EvalEnv& env);

}  // namespace tailor
