#include "rules/compiler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "core/text.h"
#include "rules/formatter.h"
#include "rules/leaf_eval.h"

namespace tailor {

bool GlobMatch(std::string_view pat, std::string_view path) {
  size_t p = 0, s = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < path.size()) {
    if (p < pat.size() && pat[p] == '*') {
      if (p + 1 == pat.size()) return true;  // a final '*' takes the rest of the path
      star_p = p++;
      star_s = s;
      continue;
    }
    if (p < pat.size() && pat[p] == path[s]) {
      ++p;
      ++s;
      continue;
    }
    // Let the last '*' take one more character, but never a '/': '*' stays in its segment.
    if (star_p != std::string_view::npos && path[star_s] != '/') {
      s = ++star_s;
      p = star_p + 1;
      continue;
    }
    return false;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

namespace {

constexpr int kMaxCost = 1 << 20;

std::string NumberKey(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string_view FirstSegment(std::string_view path) {
  if (path.empty() || path[0] != '/') return {};
  size_t end = path.find('/', 1);
  return path.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
}

class Compiler {
 public:
  Compiler(const Program& p, const SignalRegistry& reg, Diagnostics& diags)
      : p_(p), reg_(reg), diags_(diags), c_(std::make_unique<CompiledRules>()) {}

  std::unique_ptr<CompiledRules> Run() {
    c_->registry = &reg_;
    segment_node_.assign(p_.segments.size(), -1);
    CopyDeclarations();
    // Score slots first: segments may read scores, score items may read segments.
    for (size_t i = 0; i < p_.scores.size(); ++i) {
      CompiledScore cs;
      cs.name = Intern(p_.scores[i].name);
      for (auto& b : p_.scores[i].bands) cs.bands.push_back({b.lower, Intern(b.name)});
      if (!cs.bands.empty()) cs.bands[0].first = -INFINITY;
      Slot points;
      points.kind = Slot::Kind::kScorePoints;
      points.type = ValueType::kNumber;
      points.index = static_cast<uint32_t>(i);
      points.cost = 50;
      points.name = Intern(p_.scores[i].name + ".points");
      cs.points_slot = AddSlot(points, "score:" + p_.scores[i].name);
      c_->scores.push_back(std::move(cs));
    }
    for (size_t i = 0; i < p_.scores.size(); ++i) {
      int cost = 0;
      for (auto& item : p_.scores[i].items) {
        uint32_t n = CompileCond(item.cond);
        c_->scores[i].items.push_back({item.points, n});
        c_->scores[i].item_texts.push_back(Intern(FormatExpr(p_, item.cond)));
        c_->scores[i].item_lines.push_back(item.loc.line);
        cost = std::min(kMaxCost, cost + c_->nodes[n].cost);
      }
      c_->slots[c_->scores[i].points_slot].cost = cost + 1;
    }
    for (size_t i = 0; i < p_.segments.size(); ++i) CompileSegment(static_cast<int>(i));
    for (auto& g : p_.goals) {
      CompiledGoal cg;
      cg.name = Intern(g.name);
      cg.node = CompileCond(g.cond);
      if (g.value >= 0) cg.value_slot = static_cast<int>(OperandSlot(g.value));
      cg.convert = g.value_number;
      cg.line = g.loc.line;
      cg.text = Intern(FormatExpr(p_, g.cond));
      cg.file = Intern(p_.FileName(g.loc));
      c_->goals.push_back(cg);
    }
    for (auto& x : p_.experiments)
      c_->experiment_rules.push_back({x.audience >= 0 ? static_cast<int>(CompileCond(x.audience)) : -1});
    CompilePages();
    ExperimentSlots();
    AssignMemo();
    if (!BuildRegexes()) return nullptr;
    Layout();
    return std::move(c_);
  }

 private:
  std::string_view Intern(std::string s) {
    c_->strings.push_back(std::move(s));
    return c_->strings.back();
  }

  void CopyDeclarations() {
    for (auto& x : p_.experiments) c_->experiments.push_back(x.decl);
    for (auto& t : p_.tables) c_->tables.push_back(t.decl);
    for (auto& i : p_.interests) c_->interests.push_back(i.decl);
    for (auto& l : p_.lua_signals) c_->lua_signals.push_back(l.decl);
    if (!p_.holdouts.empty()) {
      c_->has_holdout = true;
      c_->holdout_percent = p_.holdouts[0].percent;
    }
    for (auto& s : p_.segments) {
      c_->segment_names.push_back(Intern(s.name));
      c_->segment_lines.push_back(s.loc.line);
      c_->segment_texts.push_back(Intern(FormatExpr(p_, s.expr)));
      c_->segment_files.push_back(Intern(p_.FileName(s.loc)));
      c_->segment_names_bytes += s.name.size() + 1;
    }
  }

  // ---- slots ----
  uint32_t AddSlot(const Slot& s, const std::string& key) {
    auto it = slot_ids_.find(key);
    if (it != slot_ids_.end()) return it->second;
    c_->slots.push_back(s);
    uint32_t id = static_cast<uint32_t>(c_->slots.size() - 1);
    slot_ids_.emplace(key, id);
    return id;
  }

  uint32_t ConstSlot(const Value& v) {
    std::string key = "c:" + std::to_string(static_cast<int>(v.type)) + ":";
    Slot s;
    s.kind = Slot::Kind::kConst;
    s.type = v.type;
    s.cost = 0;
    switch (v.type) {
      case ValueType::kString: {
        key += v.str;
        auto it = slot_ids_.find(key);
        if (it != slot_ids_.end()) return it->second;
        std::string_view stored = Intern(std::string(v.str));
        s.constant = Value::String(stored);
        s.name = stored;
        return AddSlot(s, key);
      }
      case ValueType::kNumber: key += NumberKey(v.number); break;
      case ValueType::kBool: key += v.boolean ? "1" : "0"; break;
      default: break;
    }
    s.constant = v;
    return AddSlot(s, key);
  }

  // The slot of an operand expression (a literal or a reference).
  uint32_t OperandSlot(int ei) {
    const Expr& e = p_.exprs[ei];
    switch (e.kind) {
      case ExprKind::kString: return ConstSlot(Value::String(e.text));
      case ExprKind::kNumber: return ConstSlot(Value::Number(e.number));
      case ExprKind::kBool: return ConstSlot(Value::Bool(e.boolean));
      default: break;
    }
    Slot s;
    s.type = e.type;
    switch (e.ref) {
      case RefKind::kSignal: {
        const auto* def = static_cast<const SignalDef*>(e.signal);
        s.kind = Slot::Kind::kSignal;
        s.signal = def;
        s.cost = std::max(1, def->cost);
        s.type = def->type;
        if (!e.signal_arg.empty()) s.args.str = Intern(e.signal_arg);
        for (size_t k = 0; k < e.args.size() && k < 2; ++k) {
          const Expr& a = p_.exprs[e.args[k]];
          if (a.kind == ExprKind::kString) {
            s.args.str = Intern(a.text);
          } else {
            s.args.num[k] = a.number;
          }
        }
        auto it = slot_ids_.find("s:" + e.key);
        if (it != slot_ids_.end()) return it->second;
        s.name = Intern(e.key);
        return AddSlot(s, "s:" + e.key);
      }
      case RefKind::kScorePoints:
        return c_->scores[e.ref_index].points_slot;
      case RefKind::kScoreBand: {
        s.kind = Slot::Kind::kScoreBand;
        s.type = ValueType::kString;
        s.index = static_cast<uint32_t>(e.ref_index);
        s.cost = c_->slots[c_->scores[e.ref_index].points_slot].cost + 1;
        s.name = c_->scores[e.ref_index].name;
        return AddSlot(s, "band:" + e.key);
      }
      case RefKind::kExperiment: {
        s.kind = Slot::Kind::kExperiment;
        s.type = ValueType::kString;
        s.index = static_cast<uint32_t>(e.ref_index);
        s.cost = 20;
        auto it = slot_ids_.find("x:" + e.key);
        if (it != slot_ids_.end()) return it->second;
        s.name = Intern(e.key);
        uint32_t slot = AddSlot(s, "x:" + e.key);
        c_->experiment_slots.push_back(slot);
        return slot;
      }
      case RefKind::kTableColumn: {
        s.kind = Slot::Kind::kTableColumn;
        s.index = static_cast<uint32_t>(e.ref_index);
        s.column = e.column;
        s.cost = 30;
        int by = p_.tables[e.ref_index].by;
        if (by >= 0) {
          s.key_slot = static_cast<int>(OperandSlot(by));
          s.cost += c_->slots[s.key_slot].cost;
        }
        auto it = slot_ids_.find("t:" + e.key);
        if (it != slot_ids_.end()) return it->second;
        s.name = Intern(e.key);
        return AddSlot(s, "t:" + e.key);
      }
      case RefKind::kLua: {
        s.kind = Slot::Kind::kLua;
        s.index = static_cast<uint32_t>(e.ref_index);
        s.cost = 200;
        auto it = slot_ids_.find("l:" + e.key);
        if (it != slot_ids_.end()) return it->second;
        s.name = Intern(e.key);
        return AddSlot(s, "l:" + e.key);
      }
      default: break;
    }
    // Unreachable for a checked program; a constant missing value keeps it safe.
    return ConstSlot(Value::Missing());
  }

  // ---- nodes ----
  uint32_t AddNode(const Node& n) {
    std::string key;
    key.reserve(64);
    auto add = [&](uint64_t v) {
      key += std::to_string(v);
      key += ',';
    };
    add(static_cast<uint64_t>(n.op));
    add(static_cast<uint64_t>(n.cmp));
    add(static_cast<uint64_t>(n.str_op));
    add(n.ci);
    add(n.negated);
    add(n.constant);
    add(n.slot);
    add(n.slot2);
    add(n.slot3);
    add(n.set);
    add(n.regex_db);
    add(n.regex_id);
    add(n.count);
    for (uint32_t k = 0; k < n.count; ++k) add(c_->kids[n.first + k]);
    auto it = node_ids_.find(key);
    if (it != node_ids_.end()) {
      // The kids we appended for this duplicate are unused: drop them.
      if (n.count && n.first + n.count == c_->kids.size()) c_->kids.resize(n.first);
      return it->second;
    }
    c_->nodes.push_back(n);
    uint32_t id = static_cast<uint32_t>(c_->nodes.size() - 1);
    node_ids_.emplace(std::move(key), id);
    return id;
  }

  uint32_t ConstNode(bool v) {
    Node n;
    n.op = Op::kConst;
    n.constant = v;
    n.cost = 0;
    return AddNode(n);
  }
  bool IsConst(uint32_t n, bool* v) const {
    const Node& node = c_->nodes[n];
    if (node.op != Op::kConst) return false;
    *v = node.constant;
    return true;
  }
  bool SlotIsConst(uint32_t s) const { return c_->slots[s].kind == Slot::Kind::kConst; }

  uint32_t CompileSegment(int seg) {
    if (segment_node_[seg] >= 0) return static_cast<uint32_t>(segment_node_[seg]);
    uint32_t n = CompileCond(p_.segments[seg].expr);
    segment_node_[seg] = static_cast<int>(n);
    if (c_->segment_nodes.size() <= static_cast<size_t>(seg)) c_->segment_nodes.resize(seg + 1);
    c_->segment_nodes[seg] = n;
    if (c_->nodes[n].segment < 0) c_->nodes[n].segment = seg;
    segment_roots_.push_back(n);
    return n;
  }

  // Leaf nodes whose operands are all constants are evaluated now.
  uint32_t FinishLeaf(Node n, std::initializer_list<uint32_t> operand_slots) {
    bool all_const = true;
    int cost = 0;
    for (uint32_t s : operand_slots) {
      all_const = all_const && SlotIsConst(s);
      cost += c_->slots[s].cost;
    }
    if (all_const && n.op != Op::kMatches) {
      const Value& a = c_->slots[n.slot].constant;
      const Value& b = c_->slots[n.slot2].constant;
      const Value& c = c_->slots[n.slot3].constant;
      return ConstNode(EvalLeaf(n, a, b, c, c_->sets.empty() ? nullptr : &c_->sets[n.set]));
    }
    n.cost = std::min(kMaxCost, cost + (n.op == Op::kMatches ? 10 : n.op == Op::kInSet ? 2 : 1));
    return AddNode(n);
  }

  uint32_t CompileCond(int ei) {
    const Expr& e = p_.exprs[ei];
    switch (e.kind) {
      case ExprKind::kBool: return ConstNode(e.boolean);
      case ExprKind::kName:
      case ExprKind::kCall: {
        if (e.ref == RefKind::kSegment) return CompileSegment(e.ref_index);
        Node n;
        n.op = Op::kTruthy;
        n.slot = OperandSlot(ei);
        return FinishLeaf(n, {n.slot});
      }
      case ExprKind::kExists: {
        Node n;
        n.op = Op::kExists;
        n.slot = OperandSlot(e.a);
        return FinishLeaf(n, {n.slot});
      }
      case ExprKind::kNot: {
        uint32_t kid = CompileCond(e.a);
        bool v;
        if (IsConst(kid, &v)) return ConstNode(!v);
        const Node& k = c_->nodes[kid];
        if (k.op == Op::kNot && k.segment < 0) return c_->kids[k.first];  // not not x
        Node n;
        n.op = Op::kNot;
        n.first = static_cast<uint32_t>(c_->kids.size());
        n.count = 1;
        n.cost = k.cost;
        c_->kids.push_back(kid);
        return AddNode(n);
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: return CompileJunction(e);
      case ExprKind::kCompare: {
        Node n;
        n.op = Op::kCompare;
        n.cmp = e.cmp;
        n.ci = e.ci;
        n.slot = OperandSlot(e.a);
        n.slot2 = OperandSlot(e.b);
        return FinishLeaf(n, {n.slot, n.slot2});
      }
      case ExprKind::kBetween: {
        Node n;
        n.op = Op::kBetween;
        n.slot = OperandSlot(e.a);
        n.slot2 = OperandSlot(e.b);
        n.slot3 = OperandSlot(e.c);
        return FinishLeaf(n, {n.slot, n.slot2, n.slot3});
      }
      case ExprKind::kIn: {
        Node n;
        n.op = Op::kInSet;
        n.ci = e.ci;
        n.negated = e.negated;
        n.slot = OperandSlot(e.a);
        n.set = BuildSet(e);
        return FinishLeaf(n, {n.slot});
      }
      case ExprKind::kStrOp: {
        Node n;
        n.op = Op::kStrOp;
        n.str_op = e.str_op;
        n.ci = e.ci;
        n.slot = OperandSlot(e.a);
        n.slot2 = OperandSlot(e.b);
        return FinishLeaf(n, {n.slot, n.slot2});
      }
      case ExprKind::kMatches: {
        Node n;
        n.op = Op::kMatches;
        n.slot = OperandSlot(e.a);
        AddRegex(n, e.text, e.ci, e.loc);
        return FinishLeaf(n, {n.slot});
      }
      default: break;
    }
    return ConstNode(false);
  }

  uint32_t CompileJunction(const Expr& e) {
    bool is_and = e.kind == ExprKind::kAnd;
    Op op = is_and ? Op::kAnd : Op::kOr;
    std::vector<uint32_t> kids;
    for (int item : e.items) {
      uint32_t k = CompileCond(item);
      bool v;
      if (IsConst(k, &v)) {
        if (v == is_and) continue;       // true in `and`, false in `or`: no effect
        return ConstNode(!is_and);       // false in `and`, true in `or`: decides
      }
      const Node& kn = c_->nodes[k];
      if (kn.op == op && kn.segment < 0) {  // flatten (a and b) and c
        for (uint32_t j = 0; j < kn.count; ++j) kids.push_back(c_->kids[kn.first + j]);
      } else {
        kids.push_back(k);
      }
    }
    // Shared subexpressions: the same node twice in one junction is evaluated once.
    std::vector<uint32_t> unique;
    for (uint32_t k : kids)
      if (std::find(unique.begin(), unique.end(), k) == unique.end()) unique.push_back(k);
    if (unique.empty()) return ConstNode(is_and);
    if (unique.size() == 1) return unique[0];
    // Cheapest first: short-circuiting then skips the expensive signals when it can.
    std::stable_sort(unique.begin(), unique.end(), [&](uint32_t a, uint32_t b) {
      return c_->nodes[a].cost < c_->nodes[b].cost;
    });
    Node n;
    n.op = op;
    n.first = static_cast<uint32_t>(c_->kids.size());
    n.count = static_cast<uint32_t>(unique.size());
    int cost = 0;
    for (uint32_t k : unique) {
      c_->kids.push_back(k);
      cost = std::min(kMaxCost, cost + c_->nodes[k].cost);
    }
    n.cost = cost;
    return AddNode(n);
  }

  uint32_t BuildSet(const Expr& e) {
    const Expr& list = p_.exprs[e.b];
    std::string key = e.ci ? "ci:" : "cs:";
    bool numbers = false;
    for (int item : list.items) {
      const Expr& it = p_.exprs[item];
      if (it.kind == ExprKind::kNumber) {
        numbers = true;
        key += NumberKey(it.number);
      } else {
        key += std::to_string(it.text.size()) + ":" + it.text;
      }
      key += ',';
    }
    auto found = set_ids_.find(key);
    if (found != set_ids_.end()) return found->second;
    ValueSet set;
    if (numbers) {
      std::vector<double> v;
      for (int item : list.items) v.push_back(p_.exprs[item].number);
      set.BuildNumbers(std::move(v));
    } else {
      std::vector<std::string_view> v;
      for (int item : list.items) v.push_back(Intern(p_.exprs[item].text));
      set.Build(std::move(v), e.ci);
    }
    c_->sets.push_back(std::move(set));
    uint32_t id = static_cast<uint32_t>(c_->sets.size() - 1);
    set_ids_.emplace(std::move(key), id);
    return id;
  }

  void AddRegex(Node& n, const std::string& regex, bool ci, const SourceLoc& loc) {
    auto [it, inserted] = db_of_slot_.emplace(n.slot, static_cast<uint32_t>(db_patterns_.size()));
    if (inserted) {
      db_patterns_.emplace_back();
      db_locs_.emplace_back();
      c_->regex_db_slot.push_back(n.slot);
    }
    n.regex_db = it->second;
    std::string key = std::to_string(n.regex_db) + (ci ? ":i:" : ":c:") + regex;
    auto [pit, pinserted] =
        regex_ids_.emplace(key, static_cast<uint32_t>(db_patterns_[n.regex_db].size()));
    if (pinserted) {
      db_patterns_[n.regex_db].push_back({regex, ci});
      db_locs_[n.regex_db].push_back(loc);
    }
    n.regex_id = pit->second;
  }

  // ---- pages ----
  void CompilePages() {
    std::vector<RegexSet::Pattern> page_patterns;
    std::vector<SourceLoc> page_locs;
    for (size_t i = 0; i < p_.pages.size(); ++i) {
      const PageAst& page = p_.pages[i];
      CompiledPage cp;
      cp.pattern = Intern(page.pattern);
      cp.host = Intern(page.host);
      cp.line = page.loc.line;
      cp.file = Intern(p_.FileName(page.loc));
      cp.variants_first = static_cast<uint32_t>(c_->variants.size());
      for (auto& v : page.variants)
        c_->variants.push_back(
            {Intern(v.name), CompileCond(v.cond), v.loc.line, Intern(FormatExpr(p_, v.cond))});
      cp.variants_count = static_cast<uint32_t>(page.variants.size());
      cp.has_default = page.has_default;
      if (page.has_default) cp.default_name = Intern(page.default_variant.name);
      for (char ch : page.pattern) cp.literal_len += ch != '*';
      uint32_t idx = static_cast<uint32_t>(i);
      if (page.is_regex) {
        cp.kind = CompiledPage::Kind::kRegex;
        cp.regex_id = static_cast<uint32_t>(page_patterns.size());
        page_patterns.push_back({page.pattern, false});
        page_locs.push_back(page.pattern_loc);
        c_->regex_pages.push_back(idx);
      } else if (page.pattern.find('*') != std::string::npos) {
        cp.kind = CompiledPage::Kind::kGlob;
      } else {
        cp.kind = CompiledPage::Kind::kExact;
        c_->exact_pages.push_back({cp.pattern, idx});
      }
      c_->pages.push_back(cp);
    }
    const auto& pages = c_->pages;
    // Exact: by path, then host-qualified before unqualified, then file order.
    std::sort(c_->exact_pages.begin(), c_->exact_pages.end(), [&](auto& a, auto& b) {
      if (a.first != b.first) return a.first < b.first;
      bool ha = !pages[a.second].host.empty(), hb = !pages[b.second].host.empty();
      if (ha != hb) return ha;
      return a.second < b.second;
    });
    std::map<std::string_view, std::vector<uint32_t>> buckets;
    for (uint32_t i = 0; i < pages.size(); ++i) {
      if (pages[i].kind != CompiledPage::Kind::kGlob) continue;
      std::string_view first = FirstSegment(pages[i].pattern);
      if (first.find('*') != std::string_view::npos || pages[i].pattern.size() < 2) {
        c_->wild_globs.push_back(i);
      } else {
        buckets[first].push_back(i);
      }
    }
    auto more_specific = [&](uint32_t a, uint32_t b) {
      if (pages[a].literal_len != pages[b].literal_len)
        return pages[a].literal_len > pages[b].literal_len;
      bool ha = !pages[a].host.empty(), hb = !pages[b].host.empty();
      if (ha != hb) return ha;
      return a < b;
    };
    for (auto& [k, v] : buckets) {
      std::sort(v.begin(), v.end(), more_specific);
      c_->glob_buckets.push_back({k, std::move(v)});
    }
    std::sort(c_->wild_globs.begin(), c_->wild_globs.end(), more_specific);
    int failed;
    std::string err;
    if (!c_->page_regexes.Compile(page_patterns, &failed, &err)) {
      SourceLoc loc = failed >= 0 ? page_locs[failed] : p_.pages.front().pattern_loc;
      diags_.Error(p_.FileName(loc), loc.line, loc.col, "bad regex: " + err,
                   std::string(SourceLine(p_.files[loc.file].text, loc.line)));
      regex_failed_ = true;
    }
  }

  // Every experiment gets a slot, read by the rules or not: an nginx variable
  // ($tailor_experiment_NAME) reads it through Evaluator::Experiment, with the same per-request
  // memo and exposure accounting as `experiment.NAME` in a condition.
  void ExperimentSlots() {
    for (size_t i = 0; i < p_.experiments.size(); ++i) {
      std::string key = "experiment." + p_.experiments[i].decl.name;
      auto it = slot_ids_.find("x:" + key);
      uint32_t slot;
      if (it != slot_ids_.end()) {
        slot = it->second;
      } else {
        Slot s;
        s.kind = Slot::Kind::kExperiment;
        s.type = ValueType::kString;
        s.index = static_cast<uint32_t>(i);
        s.cost = 20;
        s.name = Intern(key);
        slot = AddSlot(s, "x:" + key);
        c_->experiment_slots.push_back(slot);
      }
      c_->experiment_slot_of.push_back(slot);
    }
  }

  // ---- memo bits, regexes, layout ----
  void AssignMemo() {
    std::vector<uint32_t> refs(c_->nodes.size(), 0);
    for (const Node& n : c_->nodes)
      if (n.op == Op::kAnd || n.op == Op::kOr || n.op == Op::kNot)
        for (uint32_t k = 0; k < n.count; ++k) ++refs[c_->kids[n.first + k]];
    for (auto& v : c_->variants) ++refs[v.node];
    for (auto& s : c_->scores)
      for (auto& item : s.items) ++refs[item.second];
    for (auto& x : c_->experiment_rules)
      if (x.audience >= 0) ++refs[x.audience];
    for (uint32_t r : segment_roots_) refs[r] += 2;  // InSegment / SegmentList read them too
    for (auto& g : c_->goals) refs[g.node] += 2;  // GoalReached / GoalList: once per request
    size_t memo = 0;
    for (size_t i = 0; i < c_->nodes.size(); ++i) {
      Node& n = c_->nodes[i];
      if (n.op != Op::kConst && refs[i] >= 2) n.memo = static_cast<int32_t>(memo++);
    }
    c_->num_memo = memo;
  }

  bool BuildRegexes() {
    bool ok = !regex_failed_;
    for (size_t db = 0; db < db_patterns_.size(); ++db) {
      RegexSet set;
      int failed;
      std::string err;
      if (!set.Compile(db_patterns_[db], &failed, &err)) {
        SourceLoc loc = failed >= 0 ? db_locs_[db][failed] : db_locs_[db].front();
        diags_.Error(p_.FileName(loc), loc.line, loc.col, "bad regex: " + err,
                     std::string(SourceLine(p_.files[loc.file].text, loc.line)));
        ok = false;
      }
      c_->slots[c_->regex_db_slot[db]].regex_db = static_cast<int>(db);
      c_->regex_bits_offset.push_back(c_->regex_bits_words);
      c_->regex_bits_words += (db_patterns_[db].size() + 63) / 64;
      c_->regex_dbs.push_back(std::move(set));
    }
    return ok;
  }

  void Layout() {
    auto words = [](size_t bits) { return (bits + 63) / 64; };
    CompiledRules& c = *c_;
    c.values_offset = 0;
    size_t values_bytes = c.slots.size() * sizeof(Value);
    c.flags_offset = (values_bytes + 15) / 16 * 16;
    size_t w = 0;
    c.slot_done_word = w;
    w += words(c.slots.size());
    c.memo_done_word = w;
    w += words(c.num_memo);
    c.memo_val_word = w;
    w += words(c.num_memo);
    c.regex_done_word = w;
    w += words(c.regex_dbs.size());
    c.regex_bits_word = w;
    w += c.regex_bits_words;
    c.page_regex_word = w;
    w += words(c.page_regexes.size());
    c.flags_bytes = w * 8;
    c.state_size = (c.flags_offset + c.flags_bytes + 15) / 16 * 16;
    if (c.state_size == 0) c.state_size = 16;
  }

  const Program& p_;
  const SignalRegistry& reg_;
  Diagnostics& diags_;
  std::unique_ptr<CompiledRules> c_;
  std::unordered_map<std::string, uint32_t> slot_ids_, node_ids_, set_ids_, regex_ids_;
  std::unordered_map<uint32_t, uint32_t> db_of_slot_;
  std::vector<std::vector<RegexSet::Pattern>> db_patterns_;
  std::vector<std::vector<SourceLoc>> db_locs_;
  std::vector<int> segment_node_;
  std::vector<uint32_t> segment_roots_;
  bool regex_failed_ = false;
};

}  // namespace

std::unique_ptr<CompiledRules> CompileProgram(const Program& program,
                                              const SignalRegistry& registry,
                                              Diagnostics& diags) {
  return Compiler(program, registry, diags).Run();
}

}  // namespace tailor
