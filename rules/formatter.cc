#include "rules/formatter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "rules/parser.h"

namespace tailor {

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\\': {
        // A backslash stays single unless the lexer would read it as an escape: regexes such
        // as "\d+" keep their natural spelling.
        char next = i + 1 < s.size() ? s[i + 1] : '\0';
        bool escape = next == '\0' || next == 'n' || next == 't' || next == '\\' || next == '"';
        out += escape ? "\\\\" : "\\";
        break;
      }
      default: out += c;
    }
  }
  out += '"';
  return out;
}

std::string FormatNumberLiteral(double v) {
  // The language has no exponent form ("1e+72" would lex as a number running into a name),
  // so every number is written out in plain decimals: 15 significant digits, which read back
  // to a double that writes the same digits again (the formatter's fixed point).
  char buf[400];  // the longest: 15 digits after 323 zeros (the smallest subnormal)
  if (!std::isfinite(v)) return "0";  // the lexer keeps numbers finite; never reached
  if (std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strchr(buf, 'e') == nullptr) return buf;
  double rounded = std::strtod(buf, nullptr);  // to 15 significant digits
  int exponent = static_cast<int>(std::floor(std::log10(std::fabs(rounded))));
  int decimals = std::max(0, 14 - exponent);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, rounded);
  std::string out = buf;
  if (out.find('.') != std::string::npos) {  // trailing zeros of the fraction, then the point
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

namespace {

const char* CmpText(CmpOp op, bool ci) {
  switch (op) {
    case CmpOp::kEq: return ci ? "==~" : "==";
    case CmpOp::kNe: return ci ? "!=~" : "!=";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "==";
}

class ExprPrinter {
 public:
  explicit ExprPrinter(const Program& p) : p_(p) {}

  // Precedence: or 1, and 2, not 3, comparisons 4, operands 5.
  std::string Print(int i, int min_prec) {
    const Expr& e = p_.exprs[i];
    int prec = Prec(e);
    std::string body = Body(e);
    if (prec < min_prec) return "(" + body + ")";
    return body;
  }

 private:
  static int Prec(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kOr: return 1;
      case ExprKind::kAnd: return 2;
      case ExprKind::kNot: return 3;
      case ExprKind::kCompare: case ExprKind::kBetween: case ExprKind::kIn:
      case ExprKind::kStrOp: case ExprKind::kMatches: return 4;
      default: return 5;
    }
  }

  std::string Body(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kString: return QuoteString(e.text);
      case ExprKind::kNumber: return FormatNumberLiteral(e.number);
      case ExprKind::kBool: return e.boolean ? "true" : "false";
      case ExprKind::kList: {
        std::string out = "[";
        for (size_t k = 0; k < e.items.size(); ++k) {
          if (k) out += ", ";
          out += Print(e.items[k], 5);
        }
        return out + "]";
      }
      case ExprKind::kName: return e.text;
      case ExprKind::kCall: {
        std::string out = e.text + "(";
        for (size_t k = 0; k < e.args.size(); ++k) {
          if (k) out += ", ";
          out += Print(e.args[k], 5);
        }
        return out + ")";
      }
      case ExprKind::kExists: return "exists(" + Print(e.a, 5) + ")";
      case ExprKind::kNot: return "not " + Print(e.a, 3);
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        bool is_and = e.kind == ExprKind::kAnd;
        std::string out;
        for (size_t k = 0; k < e.items.size(); ++k) {
          if (k) out += is_and ? " and " : " or ";
          // A same-operator child keeps the author's parentheses: `(a or b) or c` stays a
          // nested group, so the output parses to the same tree.
          const Expr& child = p_.exprs[e.items[k]];
          if (child.kind == e.kind && child.paren) {
            out += "(" + Body(child) + ")";
          } else {
            out += Print(e.items[k], is_and ? 3 : 2);
          }
        }
        return out;
      }
      case ExprKind::kCompare:
        return Print(e.a, 5) + " " + CmpText(e.cmp, e.ci) + " " + Print(e.b, 5);
      case ExprKind::kBetween:
        return Print(e.a, 5) + " between " + Print(e.b, 5) + " and " + Print(e.c, 5);
      case ExprKind::kIn:
        return Print(e.a, 5) + (e.negated ? " not" : "") + (e.ci ? " in_ci " : " in ") +
               Print(e.b, 5);
      case ExprKind::kStrOp: {
        static const char* kOps[] = {"starts_with", "ends_with", "contains"};
        return Print(e.a, 5) + " " + kOps[static_cast<int>(e.str_op)] + (e.ci ? "_ci " : " ") +
               Print(e.b, 5);
      }
      case ExprKind::kMatches:
        return Print(e.a, 5) + (e.ci ? " matches_ci " : " matches ") + QuoteString(e.text);
    }
    return "";
  }

  const Program& p_;
};

class Formatter {
 public:
  Formatter(const Program& p, int file) : p_(p), file_(file), comments_(p.files[file].comments) {}

  std::string Run() {
    for (const ItemRef& item : p_.items) {
      if (item.file != file_) continue;
      Statement(item.line, 0);
      Item(item);
      Trailing(item.end_line);
    }
    FlushComments(1 << 30, 0);
    return out_;
  }

 private:
  // Before a statement starting at `line`: the comments above it, a kept blank line.
  void Statement(int line, int indent) {
    FlushComments(line, indent);
    BlankLineBefore(line);
    last_line_ = line;
  }
  void BlankLineBefore(int line) {
    if (!at_block_start_ && !out_.empty() && line > last_line_ + 1) out_ += "\n";
    at_block_start_ = false;
  }
  void FlushComments(int before_line, int indent) {
    while (next_ < comments_.size() && comments_[next_].line < before_line) {
      const Comment& c = comments_[next_++];
      BlankLineBefore(c.line);
      out_ += std::string(indent, ' ') + c.text + "\n";
      last_line_ = c.line;
    }
  }
  // A comment on the statement's last line stays at the end of that line.
  void Trailing(int line) {
    if (next_ < comments_.size() && comments_[next_].line == line && !out_.empty()) {
      out_.pop_back();  // the newline
      out_ += "  " + comments_[next_++].text + "\n";
    }
    if (line > last_line_) last_line_ = line;
  }
  void OpenBlock() { at_block_start_ = true; }
  void CloseBlock(int close_line) {
    FlushComments(close_line, 2);
    at_block_start_ = false;
    out_ += "}\n";
    last_line_ = close_line;
  }

  std::string X(int e) { return ExprPrinter(p_).Print(e, 0); }

  void Item(const ItemRef& item) {
    switch (item.kind) {
      case ItemKind::kSegment: {
        const SegmentAst& s = p_.segments[item.index];
        out_ += "segment " + s.name + " = " + X(s.expr) + "\n";
        break;
      }
      case ItemKind::kPage: Page(p_.pages[item.index]); break;
      case ItemKind::kScore: Score(p_.scores[item.index]); break;
      case ItemKind::kExperiment: Experiment(p_.experiments[item.index]); break;
      case ItemKind::kHoldout:
        out_ += "holdout " + FormatNumberLiteral(p_.holdouts[item.index].percent) + "%\n";
        break;
      case ItemKind::kTable: {
        const TableAst& t = p_.tables[item.index];
        out_ += "table " + t.decl.name + " = csv(" + QuoteString(t.decl.file_as_written) +
                ", key: " + KeyColumn(t.decl.key_column);
        if (t.by >= 0) out_ += ", by: " + X(t.by);
        out_ += ")\n";
        break;
      }
      case ItemKind::kInterest: {
        const InterestAst& in = p_.interests[item.index];
        out_ += "interest " + in.decl.name + " paths [";
        for (size_t k = 0; k < in.decl.paths.size(); ++k)
          out_ += (k ? ", " : "") + QuoteString(in.decl.paths[k]);
        out_ += "]\n";
        break;
      }
      case ItemKind::kLuaSignal: {
        const LuaSignalAst& s = p_.lua_signals[item.index];
        out_ += "signal " + s.decl.name + " = lua(" + QuoteString(s.decl.file_as_written) +
                ") : " + s.type_name + "\n";
        break;
      }
      case ItemKind::kGoal: {
        const GoalAst& g = p_.goals[item.index];
        out_ += "goal " + g.name + " when " + X(g.cond);
        if (g.value >= 0) out_ += " value " + X(g.value);
        out_ += "\n";
        break;
      }
      case ItemKind::kInclude:
        out_ += "include " + QuoteString(p_.includes[item.index].path) + "\n";
        break;
    }
  }

  // A name as written: bare when it is an identifier (and not an operator word), else quoted.
  static std::string KeyColumn(const std::string& k) {
    bool plain = !k.empty();
    for (char c : k)
      plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    plain = plain && !(k[0] >= '0' && k[0] <= '9') && !IsReservedWord(k);
    return plain ? k : QuoteString(k);
  }

  void Page(const PageAst& page) {
    out_ += "page ";
    out_ += page.is_regex ? "matches " : "";
    out_ += QuoteString(page.pattern);
    if (!page.host.empty()) out_ += " host " + QuoteString(page.host);
    out_ += " {\n";
    OpenBlock();
    for (const VariantAst& v : page.variants) {
      Statement(v.loc.line, 2);
      out_ += "  variant " + QuoteString(v.name) + " when " + X(v.cond) + "\n";
      Trailing(v.end_line);
    }
    if (page.has_default) {
      const VariantAst& d = page.default_variant;
      Statement(d.loc.line, 2);
      out_ += "  default " + QuoteString(d.name) + "\n";
      Trailing(d.end_line);
    }
    CloseBlock(page.close_line);
  }

  void Score(const ScoreAst& s) {
    out_ += "score " + s.name + " {\n";
    OpenBlock();
    bool bands_done = s.bands.empty();
    for (const ScoreItemAst& item : s.items) {
      if (!bands_done && s.bands_loc.line < item.loc.line) Bands(s, bands_done);
      Statement(item.loc.line, 2);
      out_ += std::string("  ") + (item.points < 0 ? "-" : "+") +
              FormatNumberLiteral(std::fabs(item.points)) + " when " + X(item.cond) + "\n";
      Trailing(item.end_line);
    }
    if (!bands_done) Bands(s, bands_done);
    CloseBlock(s.close_line);
  }
  void Bands(const ScoreAst& s, bool& done) {
    done = true;
    Statement(s.bands_loc.line, 2);
    out_ += "  bands " + s.bands[0].name;
    for (size_t k = 1; k < s.bands.size(); ++k)
      out_ += " < " + FormatNumberLiteral(s.bands[k].lower) + " <= " + s.bands[k].name;
    out_ += "\n";
    Trailing(s.bands_loc.line);
  }

  void Experiment(const ExperimentAst& x) {
    const ExperimentDecl& d = x.decl;
    out_ += "experiment " + d.name + " {\n";
    OpenBlock();
    auto field = [&](const SourceLoc& loc, const std::string& text) {
      Statement(loc.line ? loc.line : last_line_, 2);
      out_ += "  " + text + "\n";
      if (loc.line) Trailing(loc.line);
    };
    if (x.unit_loc.line) {
      std::string unit = "visitor";
      if (d.unit == ExperimentUnit::kIp) unit = "ip";
      if (d.unit == ExperimentUnit::kCookie) unit = "cookie(" + QuoteString(d.unit_arg) + ")";
      if (d.unit == ExperimentUnit::kHeader) unit = "header(" + QuoteString(d.unit_arg) + ")";
      field(x.unit_loc, "unit " + unit);
    }
    if (x.traffic_written) field(x.traffic_loc, "traffic " + FormatNumberLiteral(d.traffic_percent) + "%");
    if (!d.layer.empty())
      field(x.layer_loc, "layer " + d.layer + " " + FormatNumberLiteral(d.layer_share_percent) + "%");
    if (x.variants_loc.line) {
      std::string v = "variants { ";
      for (size_t k = 0; k < d.variants.size(); ++k)
        v += (k ? ", " : "") + KeyColumn(d.variants[k].name) + " " +
             FormatNumberLiteral(d.variants[k].weight);
      field(x.variants_loc, v + " }");
    }
    if (x.audience >= 0) field(x.when_loc, "when " + X(x.audience));
    if (x.salt_written) field(x.salt_loc, "salt " + QuoteString(d.salt));
    if (!d.start.empty()) field(x.start_loc, "start " + QuoteString(d.start));
    if (!d.end.empty()) field(x.end_loc, "end " + QuoteString(d.end));
    CloseBlock(x.close_line);
  }

  const Program& p_;
  int file_;
  const std::vector<Comment>& comments_;
  size_t next_ = 0;
  std::string out_;
  int last_line_ = 0;
  bool at_block_start_ = false;
};

}  // namespace

std::string FormatExpr(const Program& program, int expr) {
  return ExprPrinter(program).Print(expr, 0);
}

std::string FormatProgram(const Program& program, int file) {
  if (file < 0 || static_cast<size_t>(file) >= program.files.size()) return "";
  return Formatter(program, file).Run();
}

bool FormatSource(std::string_view source, const std::string& file_name, std::string* out,
                  Diagnostics& diags) {
  Program p;
  ParseOptions o;
  o.follow_includes = false;
  ParseSource(p, source, file_name, diags, o);
  if (diags.has_errors()) return false;
  *out = FormatProgram(p, 0);
  return true;
}

}  // namespace tailor
