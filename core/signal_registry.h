// The signal registry: every signal the rule language can read (name, type, argument, cost,
// how it is computed) and every data source a signal reads (core/data_source.h) registers
// here, in one place per family; signals/builtin.cc lists the families. The compiler resolves names through the registry and records which signals a rule
// set uses; at request time each used signal is computed lazily, at most once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/arena.h"
#include "core/data_source.h"
#include "core/request_view.h"
#include "core/services.h"
#include "core/value.h"

namespace tailor {

// What a signal takes in the rules: `path` (nothing), `header("X-Beta")` (one string),
// `geo.distance_km(48.85, 2.35)` (two numbers).
enum class SignalArg : unsigned char { kNone, kString, kNumberPair };

struct SignalArgs {
  std::string_view str;
  double num[2] = {0, 0};
};

// Per-request scratch owned by the caller: family memo slots (zeroed at request start).
class RequestMemo {
 public:
  RequestMemo(void* storage, size_t size) : base_(static_cast<char*>(storage)), size_(size) {}
  // The slot reserved by SignalRegistry::ReserveMemo. T must be trivially constructible:
  // zeroed bytes mean "not computed yet".
  template <typename T>
  T& Slot(size_t offset) {
    return *reinterpret_cast<T*>(base_ + offset);
  }
  size_t size() const { return size_; }

 private:
  char* base_;
  size_t size_;
};

// Everything a signal function may read for one request.
struct EvalEnv {
  const RequestView& request;
  const Services& services;
  Arena& arena;          // for decoded strings; full arena -> the signal is missing
  RequestMemo& memo;     // family caches (one UA parse for all device.* signals)
  std::string_view visitor_id;  // the visitor cookie's ID (empty when none / no consent)
  bool consent = true;          // false: visitor.*, interest.* are missing (privacy)
  // A verified preview token forcing experiment variants for a reviewer (experiments/
  // preview_token.h), or null.
  const struct PreviewToken* preview = nullptr;
};

using SignalFn = Value (*)(const SignalArgs& args, EvalEnv& env);

struct SignalDef {
  std::string name;  // "header", "device.type"
  ValueType type = ValueType::kString;
  SignalArg arg = SignalArg::kNone;
  // Relative cost, for short-circuit ordering: 1 = a field read, 5 = a scan of headers or
  // the query, 50 = a classifier or database lookup, 200 = a user-defined (Lua) function.
  int cost = 1;
  SignalFn fn = nullptr;
  std::string doc;      // one line for the reference and `tailorc signals`
  std::string example;  // an expression using it
  bool needs_consent = false;  // stored visitor data (visitor.*, interest.*)
};

class SignalRegistry {
 public:
  // Every built-in signal and data source. Built once (thread-safe), immutable afterwards.
  // Defined with the list of families (signals/builtin.cc), above the core.
  static const SignalRegistry& Builtin();

  // Registration (only while building a registry).
  void Add(SignalDef def);
  // Reserves a per-request memo slot of `size` bytes; returns its offset.
  size_t ReserveMemo(size_t size, size_t align);
  // Registers the data source a family reads (core/data_source.h); returns its id, the index
  // of its slot in Services::sources.
  size_t AddSource(DataSourceDef def);

  const SignalDef* Find(std::string_view name) const;
  const std::vector<SignalDef>& all() const { return defs_; }
  const std::vector<DataSourceDef>& sources() const { return sources_; }
  // The source whose directive is `directive`, or null.
  const DataSourceDef* FindSource(std::string_view directive) const;
  size_t memo_size() const { return memo_size_; }

 private:
  std::vector<SignalDef> defs_;
  std::unordered_map<std::string, size_t> by_name_;
  std::vector<DataSourceDef> sources_;
  size_t memo_size_ = 0;
};

// Memo helper for families: computes `compute(env)` once per request into the slot.
template <typename T>
struct Memo {
  bool done;
  T value;
};
template <typename T, typename Fn>
const T& Memoized(EvalEnv& env, size_t slot, Fn&& compute) {
  Memo<T>& m = env.memo.Slot<Memo<T>>(slot);
  if (!m.done) {
    m.value = compute(env);
    m.done = true;
  }
  return m.value;
}

}  // namespace tailor
