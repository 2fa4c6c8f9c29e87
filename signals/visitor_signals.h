// The visitor.* / interest / interest.top / lifecycle family, and what the glue needs to write
// the profile cookie back (Set-Cookie) after the rules ran.
#pragma once

#include <cstddef>

#include "core/signal_registry.h"
#include "signals/visitor_profile.h"

namespace tailor {

struct VisitorState {
  ProfileStatus incoming = ProfileStatus::kAbsent;  // what the request's cookie was
  bool is_new = true;       // no valid profile came with the request
  VisitorProfile profile;   // advanced for this request (visit, page view, interests, touch)
};

// This request's visitor state, computed once per request (memoized). Null when no
// ProfileCodec is configured or the visitor did not consent (EvalEnv::consent).
const VisitorState* RequestVisitor(EvalEnv& env);

// Encodes the request's updated profile as the cookie value into out (capacity cap; 256 bytes
// always suffice). Returns the length, 0 when there is nothing to write (no codec, no
// consent) or cap is too small. Call after evaluating the rules and send
// `Set-Cookie: <ProfileCodec::options().cookie_name>=<value>; Path=/; Max-Age=...`.
size_t EncodeRequestProfile(EvalEnv& env, char* out, size_t cap);

}  // namespace tailor
