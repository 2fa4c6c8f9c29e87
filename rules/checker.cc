#include "rules/checker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "core/regex_set.h"
#include "core/text.h"
#include "core/time.h"

namespace tailor {

bool ParseDate(std::string_view t, int64_t* ms) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  int y, m, d;
  if (!ParseFixedDigits(t, 0, 4, &y) || !ParseFixedDigits(t, 5, 2, &m) ||
      !ParseFixedDigits(t, 8, 2, &d))
    return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap)) return false;
  *ms = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400000;
  return true;
}

namespace {

// Edit distance with adjacent transpositions (optimal string alignment): "shose" is one
// typo away from "shoes".
size_t EditDistance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 99;
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.size()];
}

std::string FormatNumber(double v) {
  char buf[64];
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", v);
  }
  return buf;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Whether two literals are equal: strings (`ci`: without ASCII case), numbers; nullopt when
// they are not both strings or both numbers.
std::optional<bool> LiteralsEqual(const Expr& x, const Expr& y, bool ci) {
  if (x.kind == ExprKind::kString && y.kind == ExprKind::kString)
    return ci ? EqualsIgnoreCase(x.text, y.text) : x.text == y.text;
  if (x.kind == ExprKind::kNumber && y.kind == ExprKind::kNumber) return x.number == y.number;
  return std::nullopt;
}

enum class NameKind { kSegment, kScore, kTable, kLua };

struct NameInfo {
  NameKind kind;
  int index;
  SourceLoc loc;
};

class Checker {
 public:
  Checker(Program& p, const CheckOptions& o, Diagnostics& d) : p_(p), o_(o), diags_(d) {}

  CheckResult Run() {
    syntax_errors_ = diags_.has_errors();
    DeclareNames();
    DeclareExtensions();
    for (auto& s : p_.segments) ExpectCondition(s.expr, "a segment");
    for (auto& page : p_.pages) CheckPage(page);
    for (auto& score : p_.scores) CheckScore(score);
    for (auto& x : p_.experiments) CheckExperiment(x);
    CheckHoldout();
    CheckGoals();
    CheckLayers();
    for (auto& t : p_.tables) CheckTableBy(t);
    CheckCycles();
    WarnUnusedSegments();
    CheckResult r;
    r.segment_used = segment_used_;
    return r;
  }

 private:
  // ---- diagnostics ----
  void Error(const SourceLoc& l, std::string msg) {
    diags_.Error(p_.FileName(l), l.line, l.col, std::move(msg), Line(l));
  }
  void Warning(const SourceLoc& l, std::string msg) {
    diags_.Warning(p_.FileName(l), l.line, l.col, std::move(msg), Line(l));
  }
  std::string Line(const SourceLoc& l) const {
    return std::string(SourceLine(p_.files[l.file].text, l.line));
  }
  std::string Where(const SourceLoc& l) const {
    return p_.FileName(l) + ":" + std::to_string(l.line) + ":" + std::to_string(l.col);
  }
  Expr& E(int i) { return p_.exprs[i]; }

  // ---- names ----
  void DeclareName(const std::string& name, NameKind kind, int index, const SourceLoc& loc,
                   const char* what) {
    if (o_.registry->Find(name) != nullptr) {
      Error(loc, std::string(what) + " name '" + name + "' is already a signal's name");
      return;
    }
    auto [it, inserted] = names_.emplace(name, NameInfo{kind, index, loc});
    if (!inserted) {
      static const char* kKinds[] = {"segment", "score", "table", "signal"};
      Error(loc, "duplicate name '" + name + "': already defined as a " +
                     kKinds[static_cast<int>(it->second.kind)] + " at " + Where(it->second.loc));
    }
  }

  void DeclareNames() {
    for (size_t i = 0; i < p_.segments.size(); ++i)
      DeclareName(p_.segments[i].name, NameKind::kSegment, static_cast<int>(i),
                  p_.segments[i].loc, "segment");
    for (size_t i = 0; i < p_.scores.size(); ++i)
      DeclareName(p_.scores[i].name, NameKind::kScore, static_cast<int>(i), p_.scores[i].loc,
                  "score");
    for (size_t i = 0; i < p_.tables.size(); ++i)
      DeclareName(p_.tables[i].decl.name, NameKind::kTable, static_cast<int>(i),
                  p_.tables[i].loc, "table");
    for (size_t i = 0; i < p_.lua_signals.size(); ++i)
      DeclareName(p_.lua_signals[i].decl.name, NameKind::kLua, static_cast<int>(i),
                  p_.lua_signals[i].loc, "signal");
    for (size_t i = 0; i < p_.experiments.size(); ++i) {
      auto [it, inserted] = experiments_.emplace(p_.experiments[i].decl.name, static_cast<int>(i));
      if (!inserted)
        Error(p_.experiments[i].loc, "duplicate experiment '" + p_.experiments[i].decl.name +
                                         "': already defined at " +
                                         Where(p_.experiments[it->second].loc));
    }
    std::map<std::string, SourceLoc> interests;
    for (auto& in : p_.interests) {
      interests_.insert(in.decl.name);
      auto [it, inserted] = interests.emplace(in.decl.name, in.loc);
      if (!inserted)
        Error(in.loc, "duplicate interest '" + in.decl.name + "': already defined at " +
                          Where(it->second));
    }
    segment_used_.assign(p_.segments.size(), false);
    // Pages: two identical patterns (same host) would make the second unreachable.
    std::map<std::tuple<bool, std::string, std::string>, SourceLoc> pages;
    for (auto& page : p_.pages) {
      auto [it, inserted] = pages.emplace(std::make_tuple(page.is_regex, page.pattern, page.host),
                                          page.pattern_loc);
      if (!inserted)
        Error(page.pattern_loc, "duplicate page " + Quote(page.pattern) + ": already defined at " +
                                    Where(it->second));
    }
  }

  void DeclareExtensions() {
    for (size_t i = 0; i < p_.tables.size(); ++i) {
      auto& t = p_.tables[i];
      if (o_.tables == nullptr) {
        Error(t.loc, "tables are not available here (no table provider is configured)");
        continue;
      }
      Status declared = o_.tables->Declare(i, t.decl);
      if (!declared.ok()) {
        Error(t.loc, "table '" + t.decl.name + "': " + declared.message());
        continue;
      }
      table_ok_.insert(static_cast<int>(i));
    }
    for (size_t i = 0; i < p_.lua_signals.size(); ++i) {
      auto& s = p_.lua_signals[i];
      if (o_.lua == nullptr) {
        Error(s.loc, "Lua signals are not available here (no Lua provider is configured)");
        continue;
      }
      Status prepared = o_.lua->Prepare(i, s.decl);
      if (!prepared.ok()) Error(s.loc, "signal '" + s.decl.name + "': " + prepared.message());
    }
  }

  // ---- expressions ----
  // Resolves and types expression `i`. kMissing means "already reported": no cascades.
  ValueType TypeOf(int i) {
    Expr& e = E(i);
    switch (e.kind) {
      case ExprKind::kString: return e.type = ValueType::kString;
      case ExprKind::kNumber: return e.type = ValueType::kNumber;
      case ExprKind::kBool: return e.type = ValueType::kBool;
      case ExprKind::kList: {
        // Lists are typed by their items; only valid after `in`.
        Error(e.loc, "a list is only allowed after 'in' / 'not in'");
        return ValueType::kMissing;
      }
      case ExprKind::kName: return ResolveName(i);
      case ExprKind::kCall: return ResolveCall(i);
      case ExprKind::kExists: {
        Expr& a = E(e.a);
        if (a.kind != ExprKind::kName && a.kind != ExprKind::kCall) {
          Error(a.loc, "exists() takes a signal, e.g. exists(geo.country)");
          return ValueType::kMissing;
        }
        TypeOf(e.a);
        if (a.ref == RefKind::kSegment) {
          Error(a.loc, "exists() takes a signal; '" + a.text + "' is a segment (always true or false)");
          return ValueType::kMissing;
        }
        return e.type = ValueType::kBool;
      }
      case ExprKind::kNot:
        ExpectCondition(e.a, "'not'");
        return e.type = ValueType::kBool;
      case ExprKind::kAnd:
      case ExprKind::kOr:
        for (int item : e.items) ExpectCondition(item, e.kind == ExprKind::kAnd ? "'and'" : "'or'");
        if (e.kind == ExprKind::kAnd) CheckContradictions(e);
        return e.type = ValueType::kBool;
      case ExprKind::kCompare: return CheckCompare(i);
      case ExprKind::kBetween: {
        ValueType a = TypeOf(e.a), b = TypeOf(e.b), c = TypeOf(e.c);
        if (a == ValueType::kMissing || b == ValueType::kMissing || c == ValueType::kMissing)
          return e.type = ValueType::kBool;
        if (a != ValueType::kNumber && a != ValueType::kString) {
          Error(E(e.a).loc, "'between' needs a number or string, but " + Describe(e.a) + " is a " +
                                ValueTypeName(a));
        } else if (b != a || c != a) {
          Error(b != a ? E(e.b).loc : E(e.c).loc,
                "type mismatch: " + Describe(e.a) + " is a " + ValueTypeName(a) +
                    " but the bounds of 'between' must be too");
        }
        return e.type = ValueType::kBool;
      }
      case ExprKind::kIn: return CheckIn(i);
      case ExprKind::kStrOp: {
        ValueType a = TypeOf(e.a), b = TypeOf(e.b);
        static const char* kOps[] = {"starts_with", "ends_with", "contains"};
        const char* op = kOps[static_cast<int>(e.str_op)];
        if (a != ValueType::kMissing) {
          bool list_ok = e.str_op == StrOp::kContains && a == ValueType::kStringList;
          if (a != ValueType::kString && !list_ok)
            Error(E(e.a).loc, std::string("'") + op + "' needs a string, but " + Describe(e.a) +
                                  " is a " + ValueTypeName(a));
        }
        if (b != ValueType::kMissing && b != ValueType::kString)
          Error(E(e.b).loc, std::string("'") + op + "' needs a string on its right, but " +
                                Describe(e.b) + " is a " + ValueTypeName(b));
        return e.type = ValueType::kBool;
      }
      case ExprKind::kMatches: {
        ValueType a = TypeOf(e.a);
        if (a != ValueType::kMissing && a != ValueType::kString)
          Error(E(e.a).loc, "'matches' needs a string, but " + Describe(e.a) + " is a " +
                                ValueTypeName(a));
        CheckRegex(e.text, e.ci, e.loc);
        return e.type = ValueType::kBool;
      }
    }
    return ValueType::kMissing;
  }

  void ExpectCondition(int i, const char* context) {
    ValueType t = TypeOf(i);
    if (t == ValueType::kMissing || t == ValueType::kBool) return;
    Error(E(i).loc, std::string("expected a condition (true/false) for ") + context + ", but " +
                        Describe(i) + " is a " + ValueTypeName(t) +
                        (t == ValueType::kString ? " (compare it, e.g. == \"value\", or use exists())"
                                                 : ""));
  }

  std::string Describe(int i) {
    Expr& e = E(i);
    switch (e.kind) {
      case ExprKind::kString: return Quote(e.text);
      case ExprKind::kNumber: return FormatNumber(e.number);
      case ExprKind::kBool: return e.boolean ? "true" : "false";
      case ExprKind::kName: return e.text;
      case ExprKind::kCall: return e.key.empty() ? e.text + "(...)" : e.key;
      default: return "this expression";
    }
  }

  void MarkSegmentUse(int seg) { segment_used_[seg] = true; }

  ValueType ResolveName(int i) {
    Expr& e = E(i);
    const std::string& n = e.text;
    e.key = n;
    if (auto it = names_.find(n); it != names_.end()) {
      switch (it->second.kind) {
        case NameKind::kSegment:
          e.ref = RefKind::kSegment;
          e.ref_index = it->second.index;
          MarkSegmentUse(e.ref_index);
          return e.type = ValueType::kBool;
        case NameKind::kScore: {
          e.ref = RefKind::kScoreBand;
          e.ref_index = it->second.index;
          if (p_.scores[e.ref_index].bands.empty()) {
            Error(e.loc, "score '" + n + "' has no bands; use " + n + ".points for its number");
            return ValueType::kMissing;
          }
          return e.type = ValueType::kString;
        }
        case NameKind::kLua:
          e.ref = RefKind::kLua;
          e.ref_index = it->second.index;
          return e.type = p_.lua_signals[e.ref_index].decl.type;
        case NameKind::kTable:
          Error(e.loc, "'" + n + "' is a table; read a column with " + n + ".COLUMN");
          return ValueType::kMissing;
      }
    }
    if (const SignalDef* def = o_.registry->Find(n)) {
      if (def->arg != SignalArg::kNone) {
        Error(e.loc, "signal '" + n + "' takes " +
                         (def->arg == SignalArg::kString ? std::string("a name: ") + n + "(\"NAME\")"
                                                         : std::string("two numbers: ") + n + "(A, B)"));
        return ValueType::kMissing;
      }
      e.ref = RefKind::kSignal;
      e.signal = def;
      return e.type = def->type;
    }
    size_t dot = n.find('.');
    if (dot != std::string::npos) {
      std::string head = n.substr(0, dot), tail = n.substr(dot + 1);
      if (head == "interest") {
        const SignalDef* def = o_.registry->Find("interest");
        if (def != nullptr && def->arg == SignalArg::kString) {
          if (!interests_.count(tail)) {
            std::vector<std::string> known(interests_.begin(), interests_.end());
            Error(e.loc, "unknown interest '" + tail + "' (declare it: interest " + tail +
                             " paths [\"/...\"])" + Suggest(tail, known));
            return ValueType::kMissing;
          }
          e.ref = RefKind::kSignal;
          e.signal = def;
          e.signal_arg = tail;
          e.key = "interest(\"" + tail + "\")";
          return e.type = def->type;
        }
      }
      if (head == "experiment") {
        auto it = experiments_.find(tail);
        if (it == experiments_.end() && p_.broken_names.count(tail)) return ValueType::kMissing;
        if (it == experiments_.end()) {
          Error(e.loc, "unknown experiment '" + tail + "'" + Suggest(tail, ExperimentNames()));
          return ValueType::kMissing;
        }
        e.ref = RefKind::kExperiment;
        e.ref_index = it->second;
        return e.type = ValueType::kString;
      }
      auto it = names_.find(head);
      if (it != names_.end() && it->second.kind == NameKind::kScore && tail == "points") {
        e.ref = RefKind::kScorePoints;
        e.ref_index = it->second.index;
        return e.type = ValueType::kNumber;
      }
      if (it != names_.end() && it->second.kind == NameKind::kTable) {
        int t = it->second.index;
        if (!table_ok_.count(t)) return ValueType::kMissing;  // reported at the declaration
        auto col = o_.tables->FindColumn(t, tail);
        if (!col) {
          Error(e.loc, "table '" + head + "' has no column '" + tail + "'");
          return ValueType::kMissing;
        }
        e.ref = RefKind::kTableColumn;
        e.ref_index = t;
        e.column = col->id;
        return e.type = col->type;
      }
    }
    if (p_.broken_names.count(n) || (dot != std::string::npos && p_.broken_names.count(n.substr(0, dot))) ||
        (n.rfind("experiment.", 0) == 0 && p_.broken_names.count(n.substr(11))))
      return ValueType::kMissing;  // its declaration has a syntax error, reported already
    Error(e.loc, "unknown signal or segment '" + n + "'" + Suggest(n, AllNames()));
    return ValueType::kMissing;
  }

  ValueType ResolveCall(int i) {
    Expr& e = E(i);
    const SignalDef* def = o_.registry->Find(e.text);
    std::string key = e.text + "(";
    for (size_t k = 0; k < e.args.size(); ++k) {
      Expr& a = E(e.args[k]);
      if (k) key += ", ";
      key += a.kind == ExprKind::kString ? Quote(a.text) : FormatNumber(a.number);
    }
    key += ")";
    e.key = key;
    if (def == nullptr) {
      if (p_.broken_names.count(e.text)) return ValueType::kMissing;
      if (names_.count(e.text)) {
        Error(e.loc, "'" + e.text + "' is not a signal that takes arguments");
      } else {
        Error(e.loc, "unknown signal '" + e.text + "'" + Suggest(e.text, AllNames()));
      }
      return ValueType::kMissing;
    }
    bool ok = false;
    switch (def->arg) {
      case SignalArg::kNone:
        Error(e.loc, "signal '" + e.text + "' takes no arguments: write " + e.text);
        return ValueType::kMissing;
      case SignalArg::kString:
        ok = e.args.size() == 1 && E(e.args[0]).kind == ExprKind::kString;
        if (!ok) Error(e.loc, "signal '" + e.text + "' takes one \"string\": " + e.text + "(\"NAME\")");
        break;
      case SignalArg::kNumberPair:
        ok = e.args.size() == 2 && E(e.args[0]).kind == ExprKind::kNumber &&
             E(e.args[1]).kind == ExprKind::kNumber;
        if (!ok) Error(e.loc, "signal '" + e.text + "' takes two numbers: " + e.text + "(A, B)");
        break;
    }
    if (!ok) return ValueType::kMissing;
    e.ref = RefKind::kSignal;
    e.signal = def;
    return e.type = def->type;
  }

  std::vector<std::string> AllNames() const {
    std::vector<std::string> v;
    for (auto& [k, _] : names_) v.push_back(k);
    for (auto& d : o_.registry->all()) v.push_back(d.name);
    return v;
  }
  std::vector<std::string> ExperimentNames() const {
    std::vector<std::string> v;
    for (auto& [k, _] : experiments_) v.push_back(k);
    return v;
  }
  static std::string Suggest(const std::string& n, const std::vector<std::string>& candidates) {
    std::string best;
    // Close enough to be a typo: at most 2 edits, and fewer than a third of the name.
    size_t best_d = std::min<size_t>(3, n.size() / 3 + 1);
    for (auto& c : candidates) {
      size_t d = EditDistance(n, c);
      if (d < best_d) {
        best_d = d;
        best = c;
      }
    }
    return best.empty() ? "" : " (did you mean '" + best + "'?)";
  }

  // The allowed literal values when one side is an experiment (variants) or score (bands).
  void CheckKnownValue(int ref_expr, int literal_expr) {
    Expr& r = E(ref_expr);
    Expr& lit = E(literal_expr);
    if (lit.kind != ExprKind::kString) return;
    std::vector<std::string> allowed;
    std::string what;
    if (r.ref == RefKind::kExperiment) {
      for (auto& v : p_.experiments[r.ref_index].decl.variants) allowed.push_back(v.name);
      what = "experiment '" + p_.experiments[r.ref_index].decl.name + "' has no variant";
    } else if (r.ref == RefKind::kScoreBand) {
      for (auto& b : p_.scores[r.ref_index].bands) allowed.push_back(b.name);
      what = "score '" + p_.scores[r.ref_index].name + "' has no band";
    } else {
      return;
    }
    if (std::find(allowed.begin(), allowed.end(), lit.text) != allowed.end()) return;
    std::string list;
    for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    Error(lit.loc, what + " " + Quote(lit.text) + " (it has: " + list + ")");
  }

  ValueType CheckCompare(int i) {
    Expr& e = E(i);
    ValueType a = TypeOf(e.a), b = TypeOf(e.b);
    e.type = ValueType::kBool;
    if (a == ValueType::kMissing || b == ValueType::kMissing) return ValueType::kBool;
    if (a == ValueType::kStringList || b == ValueType::kStringList) {
      Error(e.loc, "a list cannot be compared; use 'contains' to test membership");
      return ValueType::kBool;
    }
    if (a != b) {
      Error(E(e.b).loc, "type mismatch: " + Describe(e.a) + " is a " + ValueTypeName(a) +
                            " but " + Describe(e.b) + " is a " + ValueTypeName(b));
      return ValueType::kBool;
    }
    bool ordering = e.cmp != CmpOp::kEq && e.cmp != CmpOp::kNe;
    if (ordering && a == ValueType::kBool) {
      Error(e.loc, "true/false values cannot be ordered with < or >");
    } else if (e.ci && a != ValueType::kString) {
      Error(e.loc, "'==~' and '!=~' compare strings ignoring case, but " + Describe(e.a) +
                       " is a " + ValueTypeName(a));
    } else if (a == ValueType::kString && !ordering) {
      CheckKnownValue(e.a, e.b);
      CheckKnownValue(e.b, e.a);
    }
    return ValueType::kBool;
  }

  ValueType CheckIn(int i) {
    Expr& e = E(i);
    ValueType a = TypeOf(e.a);
    e.type = ValueType::kBool;
    Expr& list = E(e.b);
    if (a == ValueType::kMissing) return ValueType::kBool;
    ValueType want = a == ValueType::kStringList ? ValueType::kString : a;
    if (want != ValueType::kString && want != ValueType::kNumber) {
      Error(E(e.a).loc, "'in' needs a string or number, but " + Describe(e.a) + " is a " +
                            ValueTypeName(a));
      return ValueType::kBool;
    }
    if (e.ci && want != ValueType::kString)
      Error(e.loc, "'in_ci' compares strings ignoring case, but " + Describe(e.a) + " is a " +
                       ValueTypeName(a));
    for (int item : list.items) {
      Expr& it = E(item);
      ValueType t = it.kind == ExprKind::kString ? ValueType::kString : ValueType::kNumber;
      it.type = t;
      if (t != want) {
        Error(it.loc, "type mismatch: " + Describe(e.a) + " is a " + ValueTypeName(a) + " but " +
                          Describe(item) + " is a " + ValueTypeName(t));
        break;
      }
      CheckKnownValue(e.a, item);
    }
    return ValueType::kBool;
  }

  void CheckRegex(const std::string& regex, bool ci, const SourceLoc& loc) {
    if (++regex_count_ == o_.limits.max_regexes + 1)
      Error(loc, "too many regexes in the rule set (limit " + std::to_string(o_.limits.max_regexes) +
                     ")");
    if (regex.size() > o_.limits.max_regex_bytes) {
      Error(loc, "bad regex: longer than the limit of " + std::to_string(o_.limits.max_regex_bytes) +
                     " bytes");
      return;
    }
    if (!o_.validate_regexes) return;
    std::string err;
    if (!ValidateRegex(regex, ci, &err)) Error(loc, "bad regex: " + err);
  }

  // `x == "a" and x == "b"` can never hold; nor `x == "a" and x in ["b", "c"]`.
  void CheckContradictions(const Expr& conj) {
    struct Fixed {
      std::string key;
      const Expr* literal;
    };
    std::vector<Fixed> eqs;
    auto literal_side = [&](const Expr& c, const Expr** sig, const Expr** lit) {
      const Expr& a = E(c.a);
      const Expr& b = E(c.b);
      auto is_sig = [](const Expr& x) {
        return (x.kind == ExprKind::kName || x.kind == ExprKind::kCall) &&
               x.ref != RefKind::kUnresolved && x.ref != RefKind::kSegment;
      };
      auto is_lit = [](const Expr& x) {
        return x.kind == ExprKind::kString || x.kind == ExprKind::kNumber;
      };
      if (is_sig(a) && is_lit(b)) {
        *sig = &a;
        *lit = &b;
        return true;
      }
      if (is_sig(b) && is_lit(a)) {
        *sig = &b;
        *lit = &a;
        return true;
      }
      return false;
    };
    for (int item : conj.items) {
      const Expr& c = E(item);
      if (c.kind != ExprKind::kCompare || c.cmp != CmpOp::kEq || c.ci) continue;
      const Expr *sig, *lit;
      if (!literal_side(c, &sig, &lit)) continue;
      for (const Fixed& f : eqs) {
        if (f.key == sig->key && !LiteralsEqual(*f.literal, *lit, false).value_or(false)) {
          Warning(c.loc, "this condition can never be true: " + sig->key + " cannot be both " +
                             Describe(f.literal) + " and " + Describe(lit));
          return;
        }
      }
      eqs.push_back({sig->key, lit});
    }
    for (int item : conj.items) {
      const Expr& c = E(item);
      if (c.kind != ExprKind::kIn || c.negated) continue;
      const Expr& a = E(c.a);
      for (const Fixed& f : eqs) {
        if (f.key != a.key) continue;
        bool found = false;
        for (int li : E(c.b).items)
          found = found || LiteralsEqual(E(li), *f.literal, c.ci).value_or(false);
        if (!found) {
          Warning(c.loc, "this condition can never be true: " + a.key + " is " +
                             Describe(f.literal) + ", which is not in this list");
          return;
        }
      }
    }
  }
  std::string Describe(const Expr* e) {
    return e->kind == ExprKind::kString ? Quote(e->text) : FormatNumber(e->number);
  }

  // The value of a condition that does not depend on the request (true, "a" == "a",
  // x or true, ...), when it has one.
  std::optional<bool> ConstantCondition(int i, int depth = 0) {
    if (i < 0 || depth > 64) return std::nullopt;
    const Expr& e = E(i);
    switch (e.kind) {
      case ExprKind::kBool: return e.boolean;
      case ExprKind::kNot: {
        auto v = ConstantCondition(e.a, depth + 1);
        if (v) return !*v;
        return std::nullopt;
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        bool is_and = e.kind == ExprKind::kAnd;
        bool all_known = true;
        for (int item : e.items) {
          auto v = ConstantCondition(item, depth + 1);
          if (v && *v != is_and) return !is_and;  // false in `and`, true in `or` decides
          if (!v) all_known = false;
        }
        if (all_known) return is_and;
        return std::nullopt;
      }
      case ExprKind::kCompare: {
        const Expr& a = E(e.a);
        const Expr& b = E(e.b);
        if (e.cmp != CmpOp::kEq && e.cmp != CmpOp::kNe) return std::nullopt;
        if (e.ci && a.kind == ExprKind::kString) return std::nullopt;
        std::optional<bool> eq = LiteralsEqual(a, b, false);
        if (!eq) return std::nullopt;
        return e.cmp == CmpOp::kEq ? *eq : !*eq;
      }
      default: return std::nullopt;
    }
  }

  // ---- statements ----
  void CheckPage(PageAst& page) {
    if (page.is_regex) CheckRegex(page.pattern, false, page.pattern_loc);
    if (!page.is_regex && page.pattern.find("**") != std::string::npos)
      Error(page.pattern_loc, "'**' is not a pattern; '*' matches one path segment, a final '*' "
                              "matches the rest of the path");
    const VariantAst* always = nullptr;
    for (auto& v : page.variants) {
      if (always != nullptr) {
        Warning(v.loc, "variant " + Quote(v.name) + " can never be chosen: variant " +
                           Quote(always->name) + " at line " + std::to_string(always->loc.line) +
                           " always matches");
      }
      ExpectCondition(v.cond, "a variant");
      std::optional<bool> constant = ConstantCondition(v.cond);
      if (always == nullptr && constant && *constant) always = &v;
      if (constant && !*constant)
        Warning(v.loc, "variant " + Quote(v.name) + " can never be chosen: its condition is "
                       "always false");
    }
    if (always != nullptr && page.has_default)
      Warning(page.default_variant.loc,
              "the default " + Quote(page.default_variant.name) + " is never used: variant " +
                  Quote(always->name) + " at line " + std::to_string(always->loc.line) +
                  " always matches");
  }

  void CheckScore(ScoreAst& s) {
    for (auto& item : s.items) {
      ExpectCondition(item.cond, "a score item");
      if (!std::isfinite(item.points)) Error(item.loc, "points must be a finite number");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < s.bands.size(); ++i) {
      if (!seen.insert(s.bands[i].name).second)
        Error(s.bands[i].loc, "band '" + s.bands[i].name + "' appears twice");
      if (i >= 2 && !(s.bands[i].lower > s.bands[i - 1].lower))
        Error(s.bands[i].loc, "band thresholds must increase: " + FormatNumber(s.bands[i].lower) +
                                  " is not above " + FormatNumber(s.bands[i - 1].lower));
    }
  }

  void CheckExperiment(ExperimentAst& x) {
    auto& d = x.decl;
    if (d.variants.empty()) {
      Error(x.loc, "experiment '" + d.name + "' needs variants { NAME WEIGHT, ... }");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < d.variants.size(); ++i) {
      if (!(d.variants[i].weight > 0) || !std::isfinite(d.variants[i].weight))
        Error(x.variant_locs[i], "variant '" + d.variants[i].name +
                                     "' needs a positive weight, not " +
                                     FormatNumber(d.variants[i].weight));
      if (!names.insert(d.variants[i].name).second)
        Error(x.variant_locs[i], "variant '" + d.variants[i].name + "' appears twice");
    }
    if (x.traffic_written && !(d.traffic_percent > 0 && d.traffic_percent <= 100))
      Error(x.traffic_loc, "traffic must be above 0% and at most 100%");
    if (x.traffic_written && std::fabs(d.traffic_percent * 100 - std::round(d.traffic_percent * 100)) > 1e-6)
      Error(x.traffic_loc, "traffic allows at most two decimals");
    if (!d.layer.empty() && !(d.layer_share_percent > 0 && d.layer_share_percent <= 100))
      Error(x.layer_loc, "a layer share must be above 0% and at most 100%");
    if (x.audience >= 0) ExpectCondition(x.audience, "an experiment's audience");
    bool start_ok = true, end_ok = true;
    if (!d.start.empty() && !ParseDate(d.start, &d.start_ms)) {
      Error(x.start_loc, "start must be a date \"YYYY-MM-DD\"");
      start_ok = false;
    }
    if (!d.end.empty()) {
      if (!ParseDate(d.end, &d.end_ms)) {
        Error(x.end_loc, "end must be a date \"YYYY-MM-DD\"");
        end_ok = false;
      } else {
        d.end_ms += 86400000;  // the end date is inclusive
      }
    }
    if (!d.start.empty() && !d.end.empty() && start_ok && end_ok && d.end_ms <= d.start_ms + 0)
      Error(x.end_loc, "end " + Quote(d.end) + " is before start " + Quote(d.start));
    if (d.salt.empty()) Error(x.salt_loc.line ? x.salt_loc : x.loc, "the salt cannot be empty");
  }

  // Goals: their own names (nothing refers to them), a condition, a number value.
  void CheckGoals() {
    std::map<std::string, SourceLoc> names;
    for (auto& g : p_.goals) {
      auto [it, inserted] = names.emplace(g.name, g.loc);
      if (!inserted)
        Error(g.loc, "duplicate goal '" + g.name + "': already defined at " + Where(it->second));
      ExpectCondition(g.cond, "a goal");
      if (g.value < 0) continue;
      const Expr& v = E(g.value);
      bool operand = v.kind == ExprKind::kNumber || v.kind == ExprKind::kString ||
                     v.kind == ExprKind::kBool || v.kind == ExprKind::kName ||
                     v.kind == ExprKind::kCall;
      if (!operand || v.paren) {
        Error(v.loc, v.paren ? std::string("a goal's value is one number or signal, without "
                                           "parentheses")
                             : "a goal's value is one number or signal, not " + Describe(g.value));
        continue;
      }
      ValueType t = TypeOf(g.value);
      if (t == ValueType::kMissing) continue;  // already reported (unknown name)
      // A string (query("total"), a cookie, a header) is read as a decimal number at
      // request time; one that is not a number leaves the goal without a value.
      if (t == ValueType::kString) {
        g.value_number = true;
      } else if (t != ValueType::kNumber) {
        Error(v.loc, "a goal's value must be a number or a string holding one, but " +
                         Describe(g.value) + " is a " + ValueTypeName(t));
      }
    }
  }

  void CheckHoldout() {
    for (size_t i = 0; i < p_.holdouts.size(); ++i) {
      auto& h = p_.holdouts[i];
      if (i > 0) Error(h.loc, "holdout given twice (first at " + Where(p_.holdouts[0].loc) + ")");
      if (!(h.percent >= 0 && h.percent < 100)) Error(h.loc, "holdout must be from 0% to below 100%");
    }
  }

  void CheckLayers() {
    std::map<std::string, double> total;
    for (auto& x : p_.experiments) {
      if (x.decl.layer.empty()) continue;
      double& t = total[x.decl.layer];
      t += x.decl.layer_share_percent;
      if (t > 100 + 1e-9)
        Error(x.layer_loc, "layer '" + x.decl.layer + "' is over 100%: its experiments' shares "
                           "add up to " + FormatNumber(t) + "%");
    }
  }

  void CheckTableBy(TableAst& t) {
    if (t.by < 0) return;
    Expr& e = E(t.by);
    if (e.kind != ExprKind::kName && e.kind != ExprKind::kCall) {
      Error(e.loc, "by: takes a signal, e.g. by: geo.city or by: cookie(\"customer\")");
      return;
    }
    ValueType ty = TypeOf(t.by);
    if (ty != ValueType::kMissing && ty != ValueType::kString && ty != ValueType::kNumber)
      Error(e.loc, "by: needs a string or number signal, but " + e.key + " is a " +
                       ValueTypeName(ty));
    if (e.ref == RefKind::kTableColumn && e.ref_index == static_cast<int>(&t - p_.tables.data()))
      Error(e.loc, "a table cannot be looked up by its own column");
  }

  // ---- cycles and depth ----
  // Nodes: segments [0, S), scores [S, S+C). A DFS with an explicit depth guard: a chain of
  // thousands of segments gives an error, not a stack overflow.
  void CheckCycles() {
    size_t n = p_.segments.size() + p_.scores.size() + p_.experiments.size();
    state_.assign(n, 0);
    height_.assign(n, 0);
    for (size_t i = 0; i < n; ++i) Visit(static_cast<int>(i), 0, SourceLoc{});
  }

  // Graph nodes: segments, then scores, then experiments (an audience may read
  // experiment.* of another experiment).
  std::string NodeName(int node) const {
    int s = static_cast<int>(p_.segments.size());
    int c = static_cast<int>(p_.scores.size());
    if (node < s) return p_.segments[node].name;
    if (node < s + c) return p_.scores[node - s].name;
    return "experiment." + p_.experiments[node - s - c].decl.name;
  }
  SourceLoc NodeLoc(int node) const {
    int s = static_cast<int>(p_.segments.size());
    int c = static_cast<int>(p_.scores.size());
    if (node < s) return p_.segments[node].loc;
    if (node < s + c) return p_.scores[node - s].loc;
    return p_.experiments[node - s - c].loc;
  }

  int Visit(int node, int depth, const SourceLoc& from) {
    if (state_[node] == 2) return height_[node];
    if (state_[node] == 1) {
      std::string path;
      bool on = false;
      for (int k : stack_) {
        if (k == node) on = true;
        if (on) path += NodeName(k) + " -> ";
      }
      path += NodeName(node);
      Error(from, "cycle: '" + NodeName(node) + "' depends on itself (" + path + ")");
      return 0;
    }
    state_[node] = 1;
    stack_.push_back(node);
    int s = static_cast<int>(p_.segments.size());
    int c = static_cast<int>(p_.scores.size());
    int h = 0;
    if (node < s) {
      h = ExprHeight(p_.segments[node].expr, depth + 1);
    } else if (node < s + c) {
      for (auto& item : p_.scores[node - s].items) h = std::max(h, ExprHeight(item.cond, depth + 1));
    } else {
      h = ExprHeight(p_.experiments[node - s - c].audience, depth + 1);
    }
    stack_.pop_back();
    state_[node] = 2;
    height_[node] = h;
    if (h > o_.limits.max_total_depth && !depth_reported_) {
      depth_reported_ = true;
      SourceLoc loc = NodeLoc(node);
      Error(loc, "'" + NodeName(node) + "' is nested too deeply through other segments (limit " +
                     std::to_string(o_.limits.max_total_depth) + " levels)");
    }
    return h;
  }

  int ExprHeight(int i, int depth) {
    if (i < 0) return 0;
    if (depth > o_.limits.max_total_depth) {
      if (!depth_reported_) {
        depth_reported_ = true;
        Error(E(i).loc, "rules nested too deeply through segment references (limit " +
                            std::to_string(o_.limits.max_total_depth) + " levels)");
      }
      return depth;
    }
    Expr& e = E(i);
    int h = 0;
    if ((e.kind == ExprKind::kName) && e.ref == RefKind::kSegment)
      return 1 + Visit(e.ref_index, depth + 1, e.loc);
    if ((e.kind == ExprKind::kName) &&
        (e.ref == RefKind::kScoreBand || e.ref == RefKind::kScorePoints))
      return 1 + Visit(static_cast<int>(p_.segments.size()) + e.ref_index, depth + 1, e.loc);
    if (e.kind == ExprKind::kName && e.ref == RefKind::kExperiment)
      return 1 + Visit(static_cast<int>(p_.segments.size() + p_.scores.size()) + e.ref_index,
                       depth + 1, e.loc);
    for (int c : {e.a, e.b, e.c}) h = std::max(h, ExprHeight(c, depth + 1));
    if (e.kind == ExprKind::kAnd || e.kind == ExprKind::kOr)
      for (int c : e.items) h = std::max(h, ExprHeight(c, depth + 1));
    return h + 1;
  }

  void WarnUnusedSegments() {
    if (syntax_errors_) return;  // a broken statement may have been the user
    // Segments of included files are a shared library: only the main file's are reported.
    for (size_t i = 0; i < p_.segments.size(); ++i)
      if (!segment_used_[i] && p_.segments[i].loc.file == 0)
        Warning(p_.segments[i].loc, "segment '" + p_.segments[i].name +
                                        "' is not used by any page, score or other segment "
                                        "(it still appears in $tailor_segments)");
  }

  Program& p_;
  const CheckOptions& o_;
  Diagnostics& diags_;
  std::unordered_map<std::string, NameInfo> names_;
  std::unordered_map<std::string, int> experiments_;
  std::set<int> table_ok_;
  std::set<std::string> interests_;
  std::vector<bool> segment_used_;
  std::vector<int> state_, height_, stack_;
  bool depth_reported_ = false;
  bool syntax_errors_ = false;
  size_t regex_count_ = 0;
};

}  // namespace

CheckResult Check(Program& program, const CheckOptions& options, Diagnostics& diags) {
  return Checker(program, options, diags).Run();
}

}  // namespace tailor
