// The evaluator: walks the compiled nodes for one request. No heap allocation: values live in
// the caller's state, strings are views into the request, the arena or the RuleSet.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "core/text.h"
#include "rules/compiled.h"
#include "rules/compiler.h"
#include "rules/leaf_eval.h"
#include "rules/rule_set.h"

namespace tailor {

// The glue places an Evaluator in a request pool and never runs its destructor.
static_assert(std::is_trivially_destructible_v<Evaluator>);
static_assert(std::is_trivially_destructible_v<Decision>);

namespace {
inline bool TestBit(const uint64_t* w, size_t i) { return (w[i / 64] >> (i % 64)) & 1; }
inline void SetBit(uint64_t* w, size_t i) { w[i / 64] |= uint64_t{1} << (i % 64); }

// A goal's string value as a number: a decimal written like the language's number literals
// ("12", "12.50", "-3"), nothing else (no spaces, exponent, "inf", "nan"). -1 when not one.
double GoalNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return -1;
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == frac) return -1;
  }
  if (i != s.size() || s.size() > 64) return -1;
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || !std::isfinite(v)) return -1;
  return v;
}

// The shortest text of a goal's value ("12.5", "3"), into buf[32].
size_t GoalValueText(double v, char* buf) {
  auto r = std::to_chars(buf, buf + 32, v);
  return r.ec == std::errc() ? static_cast<size_t>(r.ptr - buf) : 0;
}
}  // namespace

Evaluator::Evaluator(const RuleSet& rules, EvalEnv& env, void* state)
    : Evaluator(rules, env, state, &rules.default_scratch_) {}

Evaluator::Evaluator(const RuleSet& rules, EvalEnv& env, void* state, RegexScratch* scratch)
    : c_(rules.c_.get()),
      env_(&env),
      values_(reinterpret_cast<Value*>(static_cast<char*>(state) + rules.c_->values_offset)),
      flags_(reinterpret_cast<uint64_t*>(static_cast<char*>(state) + rules.c_->flags_offset)),
      scratch_(scratch ? scratch->get() : nullptr) {
  // Only the flags are reset: values are written before they are read.
  std::memset(flags_, 0, c_->flags_bytes);
}

// The hot paths (a constant, an already computed slot, a memoized node) are inline; the
// out-of-line halves compute.
inline const Value& Evaluator::Get(uint32_t slot) {
  const Slot& s = c_->slots[slot];
  if (s.kind == Slot::Kind::kConst) return s.constant;
  if (TestBit(flags_ + c_->slot_done_word, slot)) return values_[slot];
  return GetSlow(slot);
}

const Value& Evaluator::GetSlow(uint32_t slot) {
  // Mark first: a (checker-rejected) cycle could otherwise recurse forever.
  SetBit(flags_ + c_->slot_done_word, slot);
  values_[slot] = Value::Missing();
  Value v = Compute(slot);
  values_[slot] = v;
  return values_[slot];
}

inline bool Evaluator::Eval(uint32_t id) {
  int32_t memo = c_->nodes[id].memo;
  if (memo >= 0 && TestBit(flags_ + c_->memo_done_word, static_cast<size_t>(memo)))
    return TestBit(flags_ + c_->memo_val_word, static_cast<size_t>(memo));
  return EvalNode(id);
}

Value Evaluator::Compute(uint32_t slot) {
  const Slot& s = c_->slots[slot];
  switch (s.kind) {
    case Slot::Kind::kConst: return s.constant;
    case Slot::Kind::kSignal: {
      if (s.signal->needs_consent && !env_->consent) return Value::Missing();
      Value v = s.signal->fn(s.args, *env_);
      // A signal of the wrong type is a bug in its family: fail open.
      if (!v.missing() && v.type != s.type) return Value::Missing();
      return v;
    }
    case Slot::Kind::kScorePoints: {
      const CompiledScore& sc = c_->scores[s.index];
      double total = 0;
      for (size_t k = 0; k < sc.items.size(); ++k) {
        bool hit = Eval(sc.items[k].second);
        if (trace_) trace_->push_back({TraceEntry::Kind::kScoreItem, static_cast<int>(s.index),
                                       static_cast<int>(k), hit});
        if (hit) total += sc.items[k].first;
      }
      return Value::Number(total);
    }
    case Slot::Kind::kScoreBand: {
      const CompiledScore& sc = c_->scores[s.index];
      if (sc.bands.empty()) return Value::Missing();
      double points = Get(sc.points_slot).number;
      std::string_view band = sc.bands[0].second;
      for (const auto& b : sc.bands)
        if (points >= b.first) band = b.second;
      return Value::String(band);
    }
    case Slot::Kind::kExperiment: {
      std::string_view v = ExperimentVariant(s.index);
      return v.empty() ? Value::Missing() : Value::String(v);
    }
    case Slot::Kind::kTableColumn: {
      if (!c_->table_provider) return Value::Missing();
      std::string_view key = env_->visitor_id;
      if (s.key_slot >= 0) {
        const Value& k = Get(static_cast<uint32_t>(s.key_slot));
        if (k.type == ValueType::kString) {
          key = k.str;
        } else if (k.type == ValueType::kNumber) {
          char buf[32];
          int n = std::snprintf(buf, sizeof buf, "%.15g", k.number);
          bool ok = false;
          key = env_->arena.Copy(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0), &ok);
          if (!ok) return Value::Missing();
        } else {
          return Value::Missing();
        }
      }
      if (key.empty()) return Value::Missing();
      Value v = c_->table_provider->Lookup(s.index, s.column, key, *env_);
      return (!v.missing() && v.type != s.type) ? Value::Missing() : v;
    }
    case Slot::Kind::kLua: {
      if (!c_->lua_provider) return Value::Missing();
      Value v = c_->lua_provider->Call(s.index, *env_);
      return (!v.missing() && v.type != s.type) ? Value::Missing() : v;
    }
  }
  return Value::Missing();
}

bool Evaluator::Match(uint32_t db, uint32_t id) {
  uint64_t* bits = flags_ + c_->regex_bits_word + c_->regex_bits_offset[db];
  uint64_t* done = flags_ + c_->regex_done_word;
  if (!TestBit(done, db)) {
    SetBit(done, db);
    const Value& in = Get(c_->regex_db_slot[db]);
    if (in.type != ValueType::kString) return false;  // bits stay zero: no match
    if (!c_->regex_dbs[db].Scan(in.str, scratch_, bits)) {
      size_t words = (c_->regex_dbs[db].size() + 63) / 64;
      std::memset(bits, 0, words * 8);  // failed scan: fail open, nothing matches
    }
  }
  return TestBit(bits, id);
}

bool Evaluator::EvalNode(uint32_t id) {
  const Node& n = c_->nodes[id];
  bool r = false;
  switch (n.op) {
    case Op::kAnd:
      r = true;
      for (uint32_t k = 0; k < n.count; ++k)
        if (!Eval(c_->kids[n.first + k])) {
          r = false;
          break;
        }
      break;
    case Op::kOr:
      for (uint32_t k = 0; k < n.count; ++k)
        if (Eval(c_->kids[n.first + k])) {
          r = true;
          break;
        }
      break;
    case Op::kNot: r = !Eval(c_->kids[n.first]); break;
    case Op::kMatches: {
      const Value& in = Get(n.slot);
      r = in.type == ValueType::kString && Match(n.regex_db, n.regex_id);
      break;
    }
    case Op::kConst: r = n.constant; break;
    case Op::kTruthy:
    case Op::kExists:
    case Op::kInSet: {
      static const Value kMissing;
      r = EvalLeaf(n, Get(n.slot), kMissing, kMissing, n.op == Op::kInSet ? &c_->sets[n.set] : nullptr);
      break;
    }
    case Op::kCompare:
    case Op::kStrOp: {
      static const Value kMissing;
      const Value& a = Get(n.slot);
      if (a.missing()) break;  // don't compute the other side
      r = EvalLeaf(n, a, Get(n.slot2), kMissing, nullptr);
      break;
    }
    case Op::kBetween: {
      const Value& a = Get(n.slot);
      if (a.missing()) break;
      r = EvalLeaf(n, a, Get(n.slot2), Get(n.slot3), nullptr);
      break;
    }
  }
  if (n.memo >= 0) {
    SetBit(flags_ + c_->memo_done_word, n.memo);
    if (r) SetBit(flags_ + c_->memo_val_word, n.memo);
  }
  if (trace_ && n.segment >= 0) trace_->push_back({TraceEntry::Kind::kSegment, n.segment, -1, r});
  return r;
}

bool Evaluator::HostMatches(std::string_view page_host) const {
  if (page_host.empty()) return true;
  std::string_view host = env_->request.host;
  if (page_host.size() > 2 && page_host[0] == '*' && page_host[1] == '.')
    return EndsWithIgnoreCase(host, page_host.substr(1)) && host.size() > page_host.size() - 1;
  return EqualsIgnoreCase(host, page_host);
}

int Evaluator::MatchPage() {
  if (page_ != -2) return page_;
  page_ = -1;
  std::string_view path = env_->request.path;
  const auto& pages = c_->pages;
  // 1. Exact paths win over every pattern.
  const auto& exact = c_->exact_pages;
  size_t lo = 0, hi = exact.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (exact[mid].first < path) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  for (size_t i = lo; i < exact.size() && exact[i].first == path; ++i) {
    if (HostMatches(pages[exact[i].second].host)) {
      page_ = static_cast<int>(exact[i].second);
      break;
    }
  }
  // 2. Globs: the most specific match of the path's first-segment bucket and the wildcard
  // bucket (each sorted most specific first, so the first match of each is its best).
  if (page_ < 0) {
    int best = -1;
    auto better = [&](int a, int b) {  // is a more specific than b
      if (b < 0) return true;
      if (pages[a].literal_len != pages[b].literal_len)
        return pages[a].literal_len > pages[b].literal_len;
      bool ha = !pages[a].host.empty(), hb = !pages[b].host.empty();
      if (ha != hb) return ha;
      return a < b;
    };
    auto scan = [&](const std::vector<uint32_t>& list) {
      for (uint32_t idx : list) {
        if (best >= 0 && !better(static_cast<int>(idx), best)) return;
        if (HostMatches(pages[idx].host) && GlobMatch(pages[idx].pattern, path)) {
          best = static_cast<int>(idx);
          return;
        }
      }
    };
    if (path.size() > 1 && path[0] == '/') {
      size_t end = path.find('/', 1);
      std::string_view first = path.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
      const auto& buckets = c_->glob_buckets;
      size_t blo = 0, bhi = buckets.size();
      while (blo < bhi) {
        size_t mid = (blo + bhi) / 2;
        if (buckets[mid].first < first) {
          blo = mid + 1;
        } else {
          bhi = mid;
        }
      }
      if (blo < buckets.size() && buckets[blo].first == first) scan(buckets[blo].second);
    }
    scan(c_->wild_globs);
    page_ = best;
  }
  // 3. Regex pages, in file order.
  if (page_ < 0 && !c_->regex_pages.empty()) {
    uint64_t* bits = flags_ + c_->page_regex_word;
    if (c_->page_regexes.Scan(path, scratch_, bits)) {
      for (uint32_t idx : c_->regex_pages) {
        if (TestBit(bits, pages[idx].regex_id) && HostMatches(pages[idx].host)) {
          page_ = static_cast<int>(idx);
          break;
        }
      }
    }
  }
  if (trace_ && page_ >= 0) trace_->push_back({TraceEntry::Kind::kPage, page_, -1, true});
  return page_;
}

Decision Evaluator::Decide() {
  if (decided_) return decision_;
  decided_ = true;
  int page = MatchPage();
  if (page < 0) return decision_;
  const CompiledPage& p = c_->pages[page];
  decision_.page = page;
  decision_.page_pattern = p.pattern;
  for (uint32_t k = 0; k < p.variants_count; ++k) {
    const CompiledVariant& v = c_->variants[p.variants_first + k];
    bool hit = Eval(v.node);
    if (trace_) trace_->push_back({TraceEntry::Kind::kVariant, static_cast<int>(p.variants_first + k), -1, hit});
    if (hit) {
      decision_.variant = v.name;
      return decision_;
    }
  }
  if (p.has_default) {
    decision_.variant = p.default_name;
    decision_.is_default = true;
  }
  return decision_;
}

bool Evaluator::InSegment(size_t i) {
  if (i >= c_->segment_nodes.size()) return false;
  return Eval(c_->segment_nodes[i]);  // traced in Eval, once, when first computed
}

std::string_view Evaluator::SegmentList() {
  if (segment_list_done_) return segment_list_;
  segment_list_done_ = true;
  size_t n = c_->segment_nodes.size();
  // Two passes: evaluate (each segment root is memoized) and measure, then one exact arena
  // allocation and the copy.
  const uint32_t* roots = c_->segment_nodes.data();
  size_t len = 0;
  for (size_t i = 0; i < n; ++i)
    if (Eval(roots[i])) len += c_->segment_names[i].size() + (len ? 1 : 0);
  if (len == 0) return segment_list_;
  char* out = env_->arena.AllocateChars(len);
  if (out == nullptr) return segment_list_;  // arena full: fail open, no list
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!Eval(roots[i])) continue;  // the memo bit of a root computed in the first pass
    std::string_view name = c_->segment_names[i];
    if (pos) out[pos++] = ',';
    std::memcpy(out + pos, name.data(), name.size());
    pos += name.size();
  }
  segment_list_ = std::string_view(out, pos);
  return segment_list_;
}

bool Evaluator::GoalReached(size_t i, double* value) {
  if (value) *value = -1;
  if (i >= c_->goals.size()) return false;
  const CompiledGoal& g = c_->goals[i];
  if (!Eval(g.node)) return false;  // the root is memoized: once per request
  if (value == nullptr || g.value_slot < 0) return true;
  const Value& v = Get(static_cast<uint32_t>(g.value_slot));
  double n = -1;
  if (v.type == ValueType::kNumber) {
    n = v.number;
  } else if (v.type == ValueType::kString && g.convert) {
    n = GoalNumber(v.str);
  }
  if (std::isfinite(n) && n >= 0) *value = n == 0 ? 0 : n;  // no "-0"
  return true;
}

std::string_view Evaluator::GoalList() {
  if (goal_list_done_) return goal_list_;
  goal_list_done_ = true;
  size_t n = c_->goals.size();
  // As SegmentList: evaluate and measure, then one exact arena allocation and the copy.
  char num[32];
  size_t len = 0;
  for (size_t i = 0; i < n; ++i) {
    double v;
    if (!GoalReached(i, &v)) continue;
    len += c_->goals[i].name.size() + (len ? 1 : 0);
    if (v >= 0) len += 1 + GoalValueText(v, num);
  }
  if (len == 0) return goal_list_;
  char* out = env_->arena.AllocateChars(len);
  if (out == nullptr) return goal_list_;  // arena full: fail open, no list
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    double v;
    if (!GoalReached(i, &v)) continue;  // memoized condition and value slot
    std::string_view name = c_->goals[i].name;
    if (pos) out[pos++] = ',';
    std::memcpy(out + pos, name.data(), name.size());
    pos += name.size();
    if (v >= 0) {
      out[pos++] = ':';
      size_t k = GoalValueText(v, num);
      std::memcpy(out + pos, num, k);
      pos += k;
    }
  }
  goal_list_ = std::string_view(out, pos);
  return goal_list_;
}

double Evaluator::ScorePoints(size_t i) {
  if (i >= c_->scores.size()) return 0;
  return Get(c_->scores[i].points_slot).number;
}

std::string_view Evaluator::ScoreBand(size_t i) {
  if (i >= c_->scores.size() || c_->scores[i].bands.empty()) return {};
  double points = ScorePoints(i);
  std::string_view band = c_->scores[i].bands[0].second;
  for (const auto& b : c_->scores[i].bands)
    if (points >= b.first) band = b.second;
  return band;
}

std::string_view Evaluator::ExperimentVariant(size_t i) {
  if (i >= c_->experiments.size() || !c_->assigner) return {};
  const ExperimentDecl& d = c_->experiments[i];
  int64_t now = env_->request.now_ms;
  bool in_dates = (d.start_ms == 0 || now >= d.start_ms) && (d.end_ms == 0 || now < d.end_ms);
  int audience = c_->experiment_rules[i].audience;
  bool eligible = in_dates && (audience < 0 || Eval(static_cast<uint32_t>(audience)));
  std::string_view v = eligible ? c_->assigner->Assign(i, d, *env_) : std::string_view();
  if (trace_) trace_->push_back({TraceEntry::Kind::kExperiment, static_cast<int>(i), -1, !v.empty()});
  return v;
}

std::string_view Evaluator::Experiment(size_t i) {
  if (i >= c_->experiment_slot_of.size()) return {};
  const Value& v = Get(c_->experiment_slot_of[i]);
  return v.type == ValueType::kString ? v.str : std::string_view();
}

size_t Evaluator::num_slots() const { return c_->slots.size(); }
bool Evaluator::slot_computed(size_t i) const {
  return c_->slots[i].kind != Slot::Kind::kConst && TestBit(flags_ + c_->slot_done_word, i);
}
std::string_view Evaluator::slot_name(size_t i) const { return c_->slots[i].name; }
bool Evaluator::slot_is_signal(size_t i) const {
  auto k = c_->slots[i].kind;
  return k != Slot::Kind::kConst && k != Slot::Kind::kScoreBand && k != Slot::Kind::kScorePoints;
}
const Value& Evaluator::slot_value(size_t i) const { return values_[i]; }

}  // namespace tailor
