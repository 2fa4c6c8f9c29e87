// The syntax tree of a rules program (a file and everything it includes). Expressions live in
// one pool (Program::exprs) and refer to each other by index: no recursive destructors, so a
// hostile file cannot overflow the stack while being freed. The checker fills the `resolved`
// fields; the compiler reads them.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "core/value.h"
#include "rules/declarations.h"
#include "rules/lexer.h"

namespace tailor {

struct SourceLoc {
  int file = 0;  // index into Program::files
  int line = 0;
  int col = 0;
};

enum class ExprKind : unsigned char {
  kString, kNumber, kBool, kList,  // literals
  kName,     // path, device.type, vip, intent, intent.points, experiment.hero, crm.tier
  kCall,     // header("X"), geo.distance_km(48.8, 2.3)
  kExists,   // exists(operand)
  kNot, kAnd, kOr,
  kCompare,  // a OP b
  kBetween,  // a between b and c
  kIn,       // a [not] in[_ci] [list]
  kStrOp,    // a starts_with / ends_with / contains[_ci] b
  kMatches,  // a matches[_ci] "regex"
};

enum class CmpOp : unsigned char { kEq, kNe, kLt, kLe, kGt, kGe };
enum class StrOp : unsigned char { kStartsWith, kEndsWith, kContains };

// What a kName / kCall refers to, decided by the checker.
enum class RefKind : unsigned char {
  kUnresolved,
  kSignal,       // registry signal (index = SignalDef index is not stable; def pointer used)
  kSegment,      // index = segment
  kScoreBand,    // index = score
  kScorePoints,  // index = score
  kExperiment,   // index = experiment
  kTableColumn,  // index = table, column = provider's column id
  kLua,          // index = lua signal
};

struct Expr {
  ExprKind kind = ExprKind::kBool;
  SourceLoc loc;
  // Operands: a/b/c by kind (kNot: a; kCompare/kStrOp: a, b; kBetween: a, b, c;
  // kIn/kMatches/kExists: a). kAnd/kOr and kList use `items`; kIn's list is `b`.
  int a = -1, b = -1, c = -1;
  std::vector<int> items;
  std::string text;     // string literal, name, regex (kMatches), call name
  double number = 0;    // number literal
  bool boolean = false; // bool literal
  bool negated = false; // `not in`, `!=~`
  bool ci = false;      // case-insensitive operator (_ci, ==~)
  CmpOp cmp = CmpOp::kEq;
  StrOp str_op = StrOp::kStartsWith;
  bool paren = false;   // written in parentheses (the formatter keeps nothing else of it)
  // kCall arguments (literals only).
  std::vector<int> args;
  // Filled by the checker.
  RefKind ref = RefKind::kUnresolved;
  int ref_index = -1;
  int column = -1;
  const void* signal = nullptr;  // const SignalDef* for kSignal
  ValueType type = ValueType::kMissing;
  std::string key;      // canonical text of a signal reference ("header(\"X\")"), for warnings
  std::string signal_arg;  // `interest.shoes` -> the registry's interest("shoes")
};

struct SourceFile {
  std::string path;     // as used in diagnostics
  std::string text;
  std::vector<Comment> comments;
};

struct SegmentAst {
  std::string name;
  SourceLoc loc;
  int expr = -1;
};

struct VariantAst {
  std::string name;
  SourceLoc loc;
  int cond = -1;  // -1 for the default
  int end_line = 0;
};

struct PageAst {
  bool is_regex = false;
  std::string pattern;
  std::string host;     // empty: any host
  SourceLoc loc;
  SourceLoc pattern_loc;
  std::vector<VariantAst> variants;
  bool has_default = false;
  VariantAst default_variant;
  int close_line = 0;   // line of the closing brace
  int default_pos = -1; // where the default sat among the variants (formatter)
};

struct ScoreItemAst {
  double points = 0;
  bool explicit_sign = false;
  SourceLoc loc;
  int cond = -1;
  int end_line = 0;
};

struct BandAst {
  std::string name;
  double lower = 0;  // the band starts here (first band: -infinity)
  SourceLoc loc;
};

struct ScoreAst {
  std::string name;
  SourceLoc loc;
  std::vector<ScoreItemAst> items;
  std::vector<BandAst> bands;
  SourceLoc bands_loc;
  int close_line = 0;
};

struct ExperimentAst {
  ExperimentDecl decl;
  SourceLoc loc;
  int audience = -1;
  int close_line = 0;
  // Locations for messages and formatting (line 0 = not written).
  SourceLoc unit_loc, traffic_loc, layer_loc, variants_loc, when_loc, salt_loc, start_loc,
      end_loc;
  std::vector<SourceLoc> variant_locs;
  bool salt_written = false;
  bool traffic_written = false;
};

struct TableAst {
  TableDecl decl;
  SourceLoc loc;
  int by = -1;  // expression (a signal reference), -1 = visitor ID
};

struct InterestAst {
  InterestDecl decl;
  SourceLoc loc;
};

struct LuaSignalAst {
  LuaSignalDecl decl;
  SourceLoc loc;
  std::string type_name;
};

struct IncludeAst {
  std::string path;  // as written
  SourceLoc loc;
};

// goal NAME when CONDITION [value NUMBER | value SIGNAL]
struct GoalAst {
  std::string name;
  SourceLoc loc;
  int cond = -1;
  int value = -1;             // operand expression, -1 = no value
  bool value_number = false;  // set by the checker: a string value, read as a decimal number
  SourceLoc value_loc;        // the `value` keyword
};

struct HoldoutAst {
  double percent = 0;
  SourceLoc loc;
};

enum class ItemKind : unsigned char {
  kSegment, kPage, kScore, kExperiment, kTable, kInterest, kLuaSignal, kInclude, kHoldout,
  kGoal
};

struct ItemRef {
  ItemKind kind;
  int index;
  int file;
  int line;      // first line
  int end_line;  // last line
};

struct Program {
  // A deque: tokens and diagnostics keep views into file texts while includes add files.
  std::deque<SourceFile> files;
  std::vector<Expr> exprs;
  std::vector<ItemRef> items;  // every top-level item in source order (includes inlined)
  std::vector<SegmentAst> segments;
  std::vector<PageAst> pages;
  std::vector<ScoreAst> scores;
  std::vector<ExperimentAst> experiments;
  std::vector<TableAst> tables;
  std::vector<InterestAst> interests;
  std::vector<LuaSignalAst> lua_signals;
  std::vector<IncludeAst> includes;
  std::vector<HoldoutAst> holdouts;
  std::vector<GoalAst> goals;

  // Names of declarations whose statement had a syntax error: the checker does not report
  // them again as unknown names, so one run gives every real error.
  std::set<std::string> broken_names;

  const std::string& FileName(const SourceLoc& l) const { return files[l.file].path; }
};

}  // namespace tailor
