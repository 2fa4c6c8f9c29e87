#include "rules/parser.h"

#include <climits>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/file.h"

namespace tailor {

bool IsReservedWord(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      "and", "or", "not", "in", "in_ci", "between", "matches", "matches_ci", "starts_with",
      "starts_with_ci", "ends_with", "ends_with_ci", "contains", "contains_ci", "true", "false",
      "when"};
  for (std::string_view k : kWords)
    if (k == w) return true;
  return false;
}

Result<std::string> ReadRulesFile(const std::string& path, size_t max_bytes) {
  FileReadFailure failure;
  Result<std::string> read = ReadFileLimited(path, max_bytes, &failure);
  switch (failure.kind) {
    case FileReadFailure::Kind::kNone: return read;
    case FileReadFailure::Kind::kCannotOpen:
      return Status::Error(std::string("cannot read: ") + std::strerror(failure.error_number));
    case FileReadFailure::Kind::kIsDirectory:
      return Status::Error("is a directory, not a rules file");
    case FileReadFailure::Kind::kTooLarge:
      return Status::Error("file is larger than the limit of " + std::to_string(max_bytes) +
                           " bytes");
    case FileReadFailure::Kind::kReadError: break;
  }
  return Status::Error("read error");
}

namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return path.substr(0, slash + 1);
}

std::string ResolveRelative(const std::string& including_file, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return DirName(including_file) + path;
}

struct ParseContext {
  Program& program;
  Diagnostics& diags;
  const ParseOptions& options;
  int include_depth = 0;
  std::set<std::string> seen;  // canonical paths of the files read so far
};

// A file's identity: its canonical path when it exists ("a/../b.rules" == "b.rules").
std::string CanonicalPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

class Parser {
 public:
  Parser(ParseContext& ctx, int file) : ctx_(ctx), p_(ctx.program), file_(file) {}

  void Run(std::vector<Token> tokens) {
    toks_ = std::move(tokens);
    while (!At(Tok::kEof)) {
      size_t before = pos_;
      // The name a statement declares, when the parse fails after it (see broken_names).
      if (At(Tok::kIdent) && Peek().kind == Tok::kIdent) pending_name_ = std::string(Peek().text);
      if (!ParseItem()) {
        if (!pending_name_.empty()) p_.broken_names.insert(pending_name_);
        Sync();
      }
      pending_name_.clear();
      if (pos_ == before) ++pos_;  // never loop without progress
    }
  }

 private:
  // ---- token helpers ----
  const Token& Cur() const { return toks_[pos_]; }
  const Token& Peek(int n = 1) const {
    size_t i = pos_ + n;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  bool At(Tok k) const { return Cur().kind == k; }
  bool AtWord(std::string_view w) const { return At(Tok::kIdent) && Cur().text == w; }
  const Token& Advance() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    last_line_ = t.line;
    return t;
  }
  SourceLoc Loc(const Token& t) const { return {file_, t.line, t.col}; }
  SourceLoc Loc() const { return Loc(Cur()); }

  std::string SourceLineOf(int line) const {
    return std::string(SourceLine(p_.files[file_].text, line));
  }
  void ErrorAt(const Token& t, std::string msg) {
    ErrorAt(t.line, t.col, std::move(msg));
  }
  void ErrorAt(int line, int col, std::string msg) {
    if (errors_++ >= 100) return;
    ctx_.diags.Error(p_.files[file_].path, line, col, std::move(msg), SourceLineOf(line));
  }
  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case Tok::kIdent: return "'" + std::string(t.text) + "'";
      case Tok::kString: return "string " + std::string(t.text.substr(0, 40));
      case Tok::kNumber: return "number " + std::string(t.text);
      default: return TokName(t.kind);
    }
  }
  bool Expect(Tok k, const char* what) {
    if (At(k)) {
      Advance();
      return true;
    }
    ErrorAt(Cur(), std::string("expected ") + what + ", found " + Describe(Cur()));
    return false;
  }
  bool ExpectWord(std::string_view w) {
    if (AtWord(w)) {
      Advance();
      return true;
    }
    ErrorAt(Cur(), "expected '" + std::string(w) + "', found " + Describe(Cur()));
    return false;
  }
  bool ExpectName(std::string* out, const char* what) {
    if (At(Tok::kIdent) && !IsReservedWord(Cur().text)) {
      *out = std::string(Advance().text);
      return true;
    }
    ErrorAt(Cur(), std::string("expected ") + what + ", found " + Describe(Cur()));
    return false;
  }
  bool ExpectString(std::string* out, const char* what) {
    if (At(Tok::kString)) {
      *out = Advance().value;
      return true;
    }
    ErrorAt(Cur(), std::string("expected ") + what + " (a \"string\"), found " + Describe(Cur()));
    return false;
  }
  bool ExpectPercent(double* out, const char* what) {
    if (!At(Tok::kNumber)) {
      ErrorAt(Cur(), std::string("expected ") + what + " (a percentage like 20%), found " +
                         Describe(Cur()));
      return false;
    }
    *out = Advance().number;
    return Expect(Tok::kPercent, "'%'");
  }

  static bool IsItemKeyword(const Token& t) {
    if (t.kind != Tok::kIdent) return false;
    static constexpr std::string_view kWords[] = {"segment", "page", "score", "experiment",
                                                  "holdout", "table", "interest", "signal",
                                                  "include", "goal"};
    for (auto w : kWords)
      if (t.text == w) return true;
    return false;
  }
  // Error recovery: skip to the next line that starts a statement.
  void Sync() {
    while (!At(Tok::kEof) && !(Cur().first_on_line && IsItemKeyword(Cur()))) Advance();
  }

  int NewExpr(ExprKind kind, SourceLoc loc) {
    Expr e;
    e.kind = kind;
    e.loc = loc;
    p_.exprs.push_back(std::move(e));
    return static_cast<int>(p_.exprs.size()) - 1;
  }
  Expr& E(int i) { return p_.exprs[i]; }

  void AddItem(ItemKind kind, int index, int line) {
    p_.items.push_back({kind, index, file_, line, last_line_});
  }

  // ---- statements ----
  bool ParseItem() {
    const Token& t = Cur();
    if (t.kind != Tok::kIdent) {
      if (t.kind == Tok::kRBrace) {
        ErrorAt(t, "unmatched '}' (no block is open here)");
      } else {
        ErrorAt(t, "expected a statement (segment, page, score, experiment, include, ...), "
                   "found " + Describe(t));
      }
      Advance();
      return false;
    }
    std::string_view w = t.text;
    if (w == "segment") return ParseSegment();
    if (w == "page") return ParsePage();
    if (w == "score") return ParseScore();
    if (w == "experiment") return ParseExperiment();
    if (w == "holdout") return ParseHoldout();
    if (w == "table") return ParseTable();
    if (w == "interest") return ParseInterest();
    if (w == "signal") return ParseLuaSignal();
    if (w == "include") return ParseInclude();
    if (w == "goal") return ParseGoal();
    ErrorAt(t, "expected a statement (segment, page, score, experiment, include, ...), found " +
                   Describe(t));
    Advance();
    return false;
  }

  bool ParseSegment() {
    int line = Cur().line;
    Advance();
    SegmentAst s;
    s.loc = Loc();
    if (!ExpectName(&s.name, "a segment name")) return false;
    if (!Expect(Tok::kAssign, "'=' after the segment name")) return false;
    s.expr = ParseExpr();
    if (s.expr < 0) return false;
    p_.segments.push_back(std::move(s));
    AddItem(ItemKind::kSegment, static_cast<int>(p_.segments.size()) - 1, line);
    return true;
  }

  // goal NAME when CONDITION [value OPERAND]
  bool ParseGoal() {
    int line = Cur().line;
    Advance();
    GoalAst g;
    g.loc = Loc();
    if (!ExpectName(&g.name, "a goal name")) return false;
    if (!ExpectWord("when")) return false;
    g.cond = ParseExpr();
    if (g.cond < 0) return false;
    if (AtWord("value")) {
      g.value_loc = Loc();
      Advance();
      depth_ = 0;
      g.value = ParseOperand();
      if (g.value < 0) return false;
    }
    p_.goals.push_back(std::move(g));
    AddItem(ItemKind::kGoal, static_cast<int>(p_.goals.size()) - 1, line);
    return true;
  }

  // Reads the closing '}' of a block opened at `open`. A statement keyword at the start of a
  // line means the '}' was forgotten: report it at the opening brace and carry on.
  bool ExpectClose(const Token& open, const char* block, int* close_line) {
    if (At(Tok::kRBrace)) {
      *close_line = Cur().line;
      Advance();
      return true;
    }
    if (At(Tok::kEof) || (Cur().first_on_line && IsItemKeyword(Cur()))) {
      ErrorAt(open, std::string("unmatched '{': this ") + block + " block is never closed");
      *close_line = last_line_;
      return true;  // the next statement parses normally
    }
    ErrorAt(Cur(), std::string("expected '}' to close the ") + block + " block, found " +
                       Describe(Cur()));
    return false;
  }

  bool ParsePage() {
    int line = Cur().line;
    Advance();
    PageAst page;
    page.loc = {file_, line, toks_[pos_ - 1].col};
    if (AtWord("matches")) {
      Advance();
      page.is_regex = true;
    }
    page.pattern_loc = Loc();
    if (!ExpectString(&page.pattern, page.is_regex ? "a regex" : "a page pattern")) return false;
    if (!page.is_regex && (page.pattern.empty() || page.pattern[0] != '/'))
      ErrorAt(page.pattern_loc.line, page.pattern_loc.col,
              "a page pattern is a path starting with '/' (or use `page matches \"REGEX\"`)");
    if (AtWord("host")) {
      Advance();
      if (!ExpectString(&page.host, "a host name")) return false;
    }
    if (!At(Tok::kLBrace)) {
      ErrorAt(Cur(), "expected '{' to open the page's variants, found " + Describe(Cur()));
      return false;
    }
    Token open = Advance();
    while (AtWord("variant") || AtWord("default")) {
      bool is_default = Cur().text == "default";
      VariantAst v;
      v.loc = Loc();
      Advance();
      if (!ExpectString(&v.name, "a variant name")) return false;
      if (is_default) {
        if (page.has_default)
          ErrorAt(v.loc.line, v.loc.col, "this page already has a default variant");
        v.end_line = last_line_;
        page.has_default = true;
        page.default_pos = static_cast<int>(page.variants.size());
        page.default_variant = std::move(v);
        continue;
      }
      if (!ExpectWord("when")) return false;
      v.cond = ParseExpr();
      if (v.cond < 0) return false;
      v.end_line = last_line_;
      if (page.has_default)
        ErrorAt(v.loc.line, v.loc.col,
                "variant after the default: the default must come last in the page");
      page.variants.push_back(std::move(v));
    }
    if (!ExpectClose(open, "page", &page.close_line)) return false;
    p_.pages.push_back(std::move(page));
    AddItem(ItemKind::kPage, static_cast<int>(p_.pages.size()) - 1, line);
    return true;
  }

  bool ParseScore() {
    int line = Cur().line;
    Advance();
    ScoreAst s;
    s.loc = Loc();
    if (!ExpectName(&s.name, "a score name")) return false;
    if (!At(Tok::kLBrace)) {
      ErrorAt(Cur(), "expected '{' after the score name, found " + Describe(Cur()));
      return false;
    }
    Token open = Advance();
    while (true) {
      if (At(Tok::kPlus) || At(Tok::kMinus) || At(Tok::kNumber)) {
        ScoreItemAst item;
        item.loc = Loc();
        double sign = 1;
        if (At(Tok::kPlus) || At(Tok::kMinus)) {
          item.explicit_sign = true;
          sign = At(Tok::kMinus) ? -1 : 1;
          Advance();
        }
        if (!At(Tok::kNumber)) {
          ErrorAt(Cur(), "expected the points (a number), found " + Describe(Cur()));
          return false;
        }
        item.points = sign * Advance().number;
        if (!ExpectWord("when")) return false;
        item.cond = ParseExpr();
        if (item.cond < 0) return false;
        item.end_line = last_line_;
        s.items.push_back(item);
      } else if (AtWord("bands")) {
        s.bands_loc = Loc();
        Advance();
        if (!s.bands.empty()) ErrorAt(s.bands_loc.line, s.bands_loc.col, "bands given twice");
        s.bands.clear();
        BandAst first;
        first.loc = Loc();
        if (!ExpectName(&first.name, "a band name")) return false;
        s.bands.push_back(first);
        while (At(Tok::kLt)) {
          Advance();
          BandAst b;
          bool neg = false;
          if (At(Tok::kMinus)) {
            neg = true;
            Advance();
          }
          if (!At(Tok::kNumber)) {
            ErrorAt(Cur(), "expected a threshold number, found " + Describe(Cur()));
            return false;
          }
          b.lower = (neg ? -1 : 1) * Advance().number;
          if (!Expect(Tok::kLe, "'<=' after the threshold (bands low < 20 <= medium)"))
            return false;
          b.loc = Loc();
          if (!ExpectName(&b.name, "a band name")) return false;
          s.bands.push_back(b);
        }
      } else {
        break;
      }
    }
    if (!ExpectClose(open, "score", &s.close_line)) return false;
    p_.scores.push_back(std::move(s));
    AddItem(ItemKind::kScore, static_cast<int>(p_.scores.size()) - 1, line);
    return true;
  }

  bool ParseExperiment() {
    int line = Cur().line;
    Advance();
    ExperimentAst x;
    x.loc = Loc();
    if (!ExpectName(&x.decl.name, "an experiment name")) return false;
    if (!At(Tok::kLBrace)) {
      ErrorAt(Cur(), "expected '{' after the experiment name, found " + Describe(Cur()));
      return false;
    }
    Token open = Advance();
    while (At(Tok::kIdent) && !(Cur().first_on_line && IsItemKeyword(Cur()))) {
      std::string_view w = Cur().text;
      SourceLoc loc = Loc();
      if (w == "unit") {
        Advance();
        x.unit_loc = loc;
        std::string kind;
        if (!ExpectName(&kind, "a unit (visitor, ip, cookie(\"NAME\"), header(\"NAME\"))"))
          return false;
        if (kind == "visitor") {
          x.decl.unit = ExperimentUnit::kVisitor;
        } else if (kind == "ip") {
          x.decl.unit = ExperimentUnit::kIp;
        } else if (kind == "cookie" || kind == "header") {
          x.decl.unit = kind == "cookie" ? ExperimentUnit::kCookie : ExperimentUnit::kHeader;
          if (!Expect(Tok::kLParen, "'('")) return false;
          if (!ExpectString(&x.decl.unit_arg, "a name")) return false;
          if (!Expect(Tok::kRParen, "')'")) return false;
        } else {
          ErrorAt(loc.line, loc.col + 5,
                  "unknown unit '" + kind + "' (visitor, ip, cookie(\"NAME\"), header(\"NAME\"))");
        }
      } else if (w == "traffic") {
        Advance();
        x.traffic_loc = loc;
        x.traffic_written = true;
        if (!ExpectPercent(&x.decl.traffic_percent, "the traffic share")) return false;
      } else if (w == "layer") {
        Advance();
        x.layer_loc = loc;
        if (!ExpectName(&x.decl.layer, "a layer name")) return false;
        if (!ExpectPercent(&x.decl.layer_share_percent, "the layer share")) return false;
      } else if (w == "variants") {
        Advance();
        x.variants_loc = loc;
        if (!Expect(Tok::kLBrace, "'{' after variants")) return false;
        while (!At(Tok::kRBrace) && !At(Tok::kEof)) {
          ExperimentVariant v;
          SourceLoc vloc = Loc();
          if (At(Tok::kString)) {
            v.name = Advance().value;
          } else if (!ExpectName(&v.name, "a variant name")) {
            return false;
          }
          bool neg = false;
          if (At(Tok::kMinus)) {
            neg = true;
            Advance();
          }
          if (!At(Tok::kNumber)) {
            ErrorAt(Cur(), "expected the variant's weight (a number), found " + Describe(Cur()));
            return false;
          }
          v.weight = (neg ? -1 : 1) * Advance().number;
          x.decl.variants.push_back(v);
          x.variant_locs.push_back(vloc);
          if (At(Tok::kComma)) Advance();
        }
        if (!Expect(Tok::kRBrace, "'}' to close the variants")) return false;
      } else if (w == "when") {
        Advance();
        x.when_loc = loc;
        x.audience = ParseExpr();
        if (x.audience < 0) return false;
        x.decl.has_audience = true;
      } else if (w == "salt") {
        Advance();
        x.salt_loc = loc;
        x.salt_written = true;
        if (!ExpectString(&x.decl.salt, "the salt")) return false;
      } else if (w == "start") {
        Advance();
        x.start_loc = loc;
        if (!ExpectString(&x.decl.start, "a start date \"YYYY-MM-DD\"")) return false;
      } else if (w == "end") {
        Advance();
        x.end_loc = loc;
        if (!ExpectString(&x.decl.end, "an end date \"YYYY-MM-DD\"")) return false;
      } else {
        ErrorAt(Cur(), "unknown experiment field " + Describe(Cur()) +
                           " (unit, traffic, layer, variants, when, salt, start, end)");
        return false;
      }
    }
    if (!ExpectClose(open, "experiment", &x.close_line)) return false;
    if (!x.salt_written) x.decl.salt = x.decl.name;
    p_.experiments.push_back(std::move(x));
    AddItem(ItemKind::kExperiment, static_cast<int>(p_.experiments.size()) - 1, line);
    return true;
  }

  bool ParseHoldout() {
    int line = Cur().line;
    HoldoutAst h;
    h.loc = Loc();
    Advance();
    if (!ExpectPercent(&h.percent, "the holdout share")) return false;
    p_.holdouts.push_back(h);
    AddItem(ItemKind::kHoldout, static_cast<int>(p_.holdouts.size()) - 1, line);
    return true;
  }

  bool ParseTable() {
    int line = Cur().line;
    Advance();
    TableAst t;
    t.loc = Loc();
    if (!ExpectName(&t.decl.name, "a table name")) return false;
    if (t.decl.name.find('.') != std::string::npos)
      ErrorAt(t.loc.line, t.loc.col, "a table name cannot contain '.'");
    if (!Expect(Tok::kAssign, "'='")) return false;
    if (!ExpectWord("csv")) return false;
    if (!Expect(Tok::kLParen, "'('")) return false;
    if (!ExpectString(&t.decl.file_as_written, "the CSV file name")) return false;
    t.decl.file = ResolveRelative(p_.files[file_].path, t.decl.file_as_written);
    bool have_key = false;
    while (At(Tok::kComma)) {
      Advance();
      SourceLoc loc = Loc();
      std::string opt;
      if (!ExpectName(&opt, "key: or by:")) return false;
      if (!Expect(Tok::kColon, "':'")) return false;
      if (opt == "key") {
        have_key = true;
        if (At(Tok::kString)) {
          t.decl.key_column = Advance().value;
        } else if (!ExpectName(&t.decl.key_column, "the key column")) {
          return false;
        }
      } else if (opt == "by") {
        size_t start = pos_;
        t.by = ParseOperand();
        if (t.by < 0) return false;
        for (size_t i = start; i < pos_; ++i) t.decl.by += std::string(toks_[i].text);
      } else {
        ErrorAt(loc.line, loc.col, "unknown table option '" + opt + "' (key:, by:)");
        return false;
      }
    }
    if (!Expect(Tok::kRParen, "')'")) return false;
    if (!have_key) ErrorAt(t.loc.line, t.loc.col, "the table needs a key column: key: COLUMN");
    p_.tables.push_back(std::move(t));
    AddItem(ItemKind::kTable, static_cast<int>(p_.tables.size()) - 1, line);
    return true;
  }

  bool ParseInterest() {
    int line = Cur().line;
    Advance();
    InterestAst in;
    in.loc = Loc();
    if (!ExpectName(&in.decl.name, "an interest name")) return false;
    if (!ExpectWord("paths")) return false;
    if (!Expect(Tok::kLBracket, "'['")) return false;
    while (!At(Tok::kRBracket)) {
      std::string path;
      SourceLoc loc = Loc();
      if (!ExpectString(&path, "a path pattern")) return false;
      if (path.empty() || path[0] != '/')
        ErrorAt(loc.line, loc.col, "a path pattern starts with '/'");
      in.decl.paths.push_back(std::move(path));
      if (!At(Tok::kComma)) break;
      Advance();
    }
    if (!Expect(Tok::kRBracket, "']'")) return false;
    p_.interests.push_back(std::move(in));
    AddItem(ItemKind::kInterest, static_cast<int>(p_.interests.size()) - 1, line);
    return true;
  }

  bool ParseLuaSignal() {
    int line = Cur().line;
    Advance();
    LuaSignalAst s;
    s.loc = Loc();
    if (!ExpectName(&s.decl.name, "a signal name")) return false;
    if (!Expect(Tok::kAssign, "'='")) return false;
    if (!ExpectWord("lua")) return false;
    if (!Expect(Tok::kLParen, "'('")) return false;
    if (!ExpectString(&s.decl.file_as_written, "the Lua file name")) return false;
    s.decl.file = ResolveRelative(p_.files[file_].path, s.decl.file_as_written);
    if (!Expect(Tok::kRParen, "')'")) return false;
    if (!Expect(Tok::kColon, "':' and the signal's type (: string, : number, : bool)"))
      return false;
    SourceLoc tloc = Loc();
    if (!ExpectName(&s.type_name, "a type (string, number, bool)")) return false;
    if (s.type_name == "string") {
      s.decl.type = ValueType::kString;
    } else if (s.type_name == "number") {
      s.decl.type = ValueType::kNumber;
    } else if (s.type_name == "bool") {
      s.decl.type = ValueType::kBool;
    } else {
      ErrorAt(tloc.line, tloc.col, "unknown type '" + s.type_name + "' (string, number, bool)");
    }
    p_.lua_signals.push_back(std::move(s));
    AddItem(ItemKind::kLuaSignal, static_cast<int>(p_.lua_signals.size()) - 1, line);
    return true;
  }

  bool ParseInclude() {
    int line = Cur().line;
    Advance();
    IncludeAst inc;
    inc.loc = Loc();
    if (!ExpectString(&inc.path, "the file to include")) return false;
    p_.includes.push_back(inc);
    AddItem(ItemKind::kInclude, static_cast<int>(p_.includes.size()) - 1, line);
    if (ctx_.options.follow_includes) IncludeFile(inc);
    return true;
  }

  void IncludeFile(const IncludeAst& inc);

  // ---- expressions ----
  int ParseExpr() {
    depth_ = 0;
    return ParseOr();
  }

  bool Enter() {
    if (++depth_ > ctx_.options.limits.max_expr_depth) {
      if (!depth_reported_) {
        ErrorAt(Cur(), "expression nested too deeply (limit " +
                           std::to_string(ctx_.options.limits.max_expr_depth) + " levels)");
        depth_reported_ = true;
      }
      return false;
    }
    return true;
  }

  int ParseOr() { return ParseJunction(ExprKind::kOr, "or", &Parser::ParseAnd); }
  int ParseAnd() { return ParseJunction(ExprKind::kAnd, "and", &Parser::ParseNot); }

  // `operand WORD operand WORD ...` as one `kind` node (`or` of ands, `and` of nots); a single
  // operand stays itself.
  int ParseJunction(ExprKind kind, std::string_view word, int (Parser::*operand)()) {
    int first = (this->*operand)();
    if (first < 0 || !AtWord(word)) return first;
    int e = NewExpr(kind, E(first).loc);
    E(e).items.push_back(first);
    while (AtWord(word)) {
      Advance();
      int next = (this->*operand)();
      if (next < 0) return -1;
      E(e).items.push_back(next);
    }
    return e;
  }

  int ParseNot() {
    if (AtWord("not")) {
      SourceLoc loc = Loc();
      Advance();
      if (!Enter()) return -1;
      int inner = ParseNot();
      --depth_;
      if (inner < 0) return -1;
      int e = NewExpr(ExprKind::kNot, loc);
      E(e).a = inner;
      return e;
    }
    return ParseComparison();
  }

  int ParseComparison() {
    int lhs = ParseOperand();
    if (lhs < 0) return -1;
    SourceLoc loc = Loc();
    const Token& t = Cur();
    auto binary = [&](ExprKind kind) {
      Advance();
      int rhs = ParseOperand();
      if (rhs < 0) return -1;
      int e = NewExpr(kind, loc);
      E(e).a = lhs;
      E(e).b = rhs;
      return e;
    };
    switch (t.kind) {
      case Tok::kEq: case Tok::kNe: case Tok::kEqCi: case Tok::kNeCi:
      case Tok::kLt: case Tok::kLe: case Tok::kGt: case Tok::kGe: {
        CmpOp op = CmpOp::kEq;
        bool ci = t.kind == Tok::kEqCi || t.kind == Tok::kNeCi;
        switch (t.kind) {
          case Tok::kNe: case Tok::kNeCi: op = CmpOp::kNe; break;
          case Tok::kLt: op = CmpOp::kLt; break;
          case Tok::kLe: op = CmpOp::kLe; break;
          case Tok::kGt: op = CmpOp::kGt; break;
          case Tok::kGe: op = CmpOp::kGe; break;
          default: break;
        }
        int e = binary(ExprKind::kCompare);
        if (e >= 0) {
          E(e).cmp = op;
          E(e).ci = ci;
        }
        return e;
      }
      case Tok::kAssign:
        ErrorAt(t, "'=' assigns; compare with '=='");
        return -1;
      case Tok::kIdent: break;
      default: return lhs;
    }
    std::string_view w = t.text;
    bool negated = false;
    if (w == "not" && Peek().kind == Tok::kIdent && (Peek().text == "in" || Peek().text == "in_ci")) {
      negated = true;
      Advance();
      w = Cur().text;
    }
    if (w == "in" || w == "in_ci") {
      bool ci = w == "in_ci";
      Advance();
      if (!At(Tok::kLBracket)) {
        ErrorAt(Cur(), "expected a list [\"a\", \"b\"] after 'in', found " + Describe(Cur()));
        return -1;
      }
      int list = ParseList();
      if (list < 0) return -1;
      int e = NewExpr(ExprKind::kIn, loc);
      E(e).a = lhs;
      E(e).b = list;
      E(e).ci = ci;
      E(e).negated = negated;
      return e;
    }
    if (w == "between") {
      Advance();
      int lo = ParseOperand();
      if (lo < 0) return -1;
      if (!ExpectWord("and")) return -1;
      int hi = ParseOperand();
      if (hi < 0) return -1;
      int e = NewExpr(ExprKind::kBetween, loc);
      E(e).a = lhs;
      E(e).b = lo;
      E(e).c = hi;
      return e;
    }
    if (w == "matches" || w == "matches_ci") {
      bool ci = w == "matches_ci";
      Advance();
      std::string regex;
      if (!ExpectString(&regex, "a regex")) return -1;
      int e = NewExpr(ExprKind::kMatches, loc);
      E(e).a = lhs;
      E(e).text = std::move(regex);
      E(e).ci = ci;
      return e;
    }
    struct {
      std::string_view word;
      StrOp op;
      bool ci;
    } static constexpr kStrOps[] = {
        {"starts_with", StrOp::kStartsWith, false}, {"starts_with_ci", StrOp::kStartsWith, true},
        {"ends_with", StrOp::kEndsWith, false},     {"ends_with_ci", StrOp::kEndsWith, true},
        {"contains", StrOp::kContains, false},      {"contains_ci", StrOp::kContains, true}};
    for (const auto& s : kStrOps) {
      if (w == s.word) {
        int e = binary(ExprKind::kStrOp);
        if (e >= 0) {
          E(e).str_op = s.op;
          E(e).ci = s.ci;
        }
        return e;
      }
    }
    return lhs;
  }

  int ParseList() {
    SourceLoc loc = Loc();
    Advance();  // '['
    int e = NewExpr(ExprKind::kList, loc);
    size_t count = 0;
    while (!At(Tok::kRBracket)) {
      int item = -1;
      SourceLoc iloc = Loc();
      if (At(Tok::kString)) {
        item = NewExpr(ExprKind::kString, iloc);
        E(item).text = Advance().value;
      } else if (At(Tok::kNumber) || At(Tok::kMinus)) {
        bool neg = At(Tok::kMinus);
        if (neg) Advance();
        if (!At(Tok::kNumber)) {
          ErrorAt(Cur(), "expected a number, found " + Describe(Cur()));
          return -1;
        }
        item = NewExpr(ExprKind::kNumber, iloc);
        E(item).number = (neg ? -1 : 1) * Advance().number;
      } else {
        ErrorAt(Cur(), "a list holds \"strings\" or numbers, found " + Describe(Cur()));
        return -1;
      }
      if (++count == ctx_.options.limits.max_set_size + 1)
        ErrorAt(iloc.line, iloc.col, "list longer than the limit of " +
                                         std::to_string(ctx_.options.limits.max_set_size) +
                                         " items");
      if (count <= ctx_.options.limits.max_set_size) E(e).items.push_back(item);
      if (!At(Tok::kComma)) break;
      Advance();
    }
    if (!At(Tok::kRBracket)) {
      ErrorAt(Cur(), "expected ',' or ']' in the list, found " + Describe(Cur()));
      return -1;
    }
    Advance();
    return e;
  }

  int ParseOperand() {
    const Token& t = Cur();
    SourceLoc loc = Loc(t);
    switch (t.kind) {
      case Tok::kString: {
        int e = NewExpr(ExprKind::kString, loc);
        E(e).text = Advance().value;
        return e;
      }
      case Tok::kNumber: {
        int e = NewExpr(ExprKind::kNumber, loc);
        E(e).number = Advance().number;
        return e;
      }
      case Tok::kMinus: {
        Advance();
        if (!At(Tok::kNumber)) {
          ErrorAt(Cur(), "expected a number after '-', found " + Describe(Cur()));
          return -1;
        }
        int e = NewExpr(ExprKind::kNumber, loc);
        E(e).number = -Advance().number;
        return e;
      }
      case Tok::kLBracket:
        return ParseList();
      case Tok::kLParen: {
        Advance();
        if (!Enter()) return -1;
        int inner = ParseOr();
        --depth_;
        if (inner < 0) return -1;
        if (!At(Tok::kRParen)) {
          ErrorAt(Cur(), "expected ')' to close the '(' at line " + std::to_string(loc.line) +
                             ":" + std::to_string(loc.col) + ", found " + Describe(Cur()));
          return -1;
        }
        Advance();
        E(inner).paren = true;
        return inner;
      }
      case Tok::kIdent: break;
      default:
        ErrorAt(t, "expected a value (a signal, segment, \"string\" or number), found " +
                       Describe(t));
        return -1;
    }
    if (t.first_on_line && IsItemKeyword(t)) {
      ErrorAt(t, "expected a value (a signal, segment, \"string\" or number), found " +
                     Describe(t) + " (a new statement)");
      return -1;
    }
    std::string_view w = t.text;
    if (w == "true" || w == "false") {
      Advance();
      int e = NewExpr(ExprKind::kBool, loc);
      E(e).boolean = w == "true";
      return e;
    }
    if (IsReservedWord(w)) {
      ErrorAt(t, "expected a value (a signal, segment, \"string\" or number), found " +
                     Describe(t));
      return -1;
    }
    std::string name(w);
    Advance();
    if (name == "exists" && At(Tok::kLParen)) {
      Advance();
      if (!Enter()) return -1;
      int inner = ParseOperand();
      --depth_;
      if (inner < 0) return -1;
      if (!Expect(Tok::kRParen, "')'")) return -1;
      int e = NewExpr(ExprKind::kExists, loc);
      E(e).a = inner;
      return e;
    }
    if (!At(Tok::kLParen)) {
      int e = NewExpr(ExprKind::kName, loc);
      E(e).text = std::move(name);
      return e;
    }
    Advance();  // '('
    int e = NewExpr(ExprKind::kCall, loc);
    E(e).text = std::move(name);
    while (!At(Tok::kRParen)) {
      SourceLoc aloc = Loc();
      int arg = -1;
      if (At(Tok::kString)) {
        arg = NewExpr(ExprKind::kString, aloc);
        E(arg).text = Advance().value;
      } else if (At(Tok::kNumber) || At(Tok::kMinus)) {
        bool neg = At(Tok::kMinus);
        if (neg) Advance();
        if (!At(Tok::kNumber)) {
          ErrorAt(Cur(), "expected a number, found " + Describe(Cur()));
          return -1;
        }
        arg = NewExpr(ExprKind::kNumber, aloc);
        E(arg).number = (neg ? -1 : 1) * Advance().number;
      } else {
        ErrorAt(Cur(), "a signal's arguments are \"strings\" or numbers, found " + Describe(Cur()));
        return -1;
      }
      E(e).args.push_back(arg);
      if (E(e).args.size() > 8) {
        ErrorAt(aloc.line, aloc.col, "too many arguments");
        return -1;
      }
      if (!At(Tok::kComma)) break;
      Advance();
    }
    if (!Expect(Tok::kRParen, "')' after the arguments")) return -1;
    return e;
  }

  ParseContext& ctx_;
  Program& p_;
  int file_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int last_line_ = 1;
  int depth_ = 0;
  bool depth_reported_ = false;
  std::string pending_name_;
  int errors_ = 0;
};

void ParseInto(ParseContext& ctx, std::string source, const std::string& name) {
  Program& p = ctx.program;
  ctx.seen.insert(CanonicalPath(name));
  p.files.push_back(SourceFile{name, std::move(source), {}});
  int file = static_cast<int>(p.files.size()) - 1;
  LexResult lex = Lex(p.files[file].text, name, ctx.diags, ctx.options.limits);
  p.files[file].comments = std::move(lex.comments);
  Parser parser(ctx, file);
  parser.Run(std::move(lex.tokens));
}

void Parser::IncludeFile(const IncludeAst& inc) {
  std::string path = ResolveRelative(p_.files[file_].path, inc.path);
  // Each file once: shared segment files may be included from several places (and an include
  // cycle simply stops).
  if (ctx_.seen.count(CanonicalPath(path))) return;
  if (ctx_.include_depth + 1 > ctx_.options.limits.max_include_depth) {
    ErrorAt(inc.loc.line, inc.loc.col, "includes nested too deeply (limit " +
                                           std::to_string(ctx_.options.limits.max_include_depth) +
                                           ")");
    return;
  }
  if (p_.files.size() >= ctx_.options.limits.max_files) {
    ErrorAt(inc.loc.line, inc.loc.col, "too many included files (limit " +
                                           std::to_string(ctx_.options.limits.max_files) + ")");
    return;
  }
  Result<std::string> text = ReadRulesFile(path, ctx_.options.limits.max_file_bytes);
  if (!text.ok()) {
    ErrorAt(inc.loc.line, inc.loc.col,
            "include \"" + inc.path + "\": " + path + ": " + text.status().message());
    return;
  }
  ++ctx_.include_depth;
  ParseInto(ctx_, std::move(text).value(), path);
  --ctx_.include_depth;
}

}  // namespace

void ParseSource(Program& program, std::string_view source, const std::string& file_name,
                 Diagnostics& diags, const ParseOptions& options) {
  ParseContext ctx{program, diags, options};
  if (source.size() > options.limits.max_file_bytes) {
    diags.Error(file_name, 0, 0,
                "file is larger than the limit of " + std::to_string(options.limits.max_file_bytes) +
                    " bytes");
    return;
  }
  ParseInto(ctx, std::string(source), file_name);
}

void ParseFile(Program& program, const std::string& path, Diagnostics& diags,
               const ParseOptions& options) {
  Result<std::string> text = ReadRulesFile(path, options.limits.max_file_bytes);
  if (!text.ok()) {
    diags.Error(path, 0, 0, text.status().message());
    return;
  }
  ParseContext ctx{program, diags, options};
  ParseInto(ctx, std::move(text).value(), path);
}

}  // namespace tailor
