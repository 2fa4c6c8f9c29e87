// Declarations the rule language accepts for other libraries (experiments, tables, interests,
// Lua signals), exposed by RuleSet as plain structs. The rule language parses and checks them;
// the libraries behind them compute the values through rules/extensions.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/value.h"

namespace tailor {

// `experiment NAME { unit cookie("x") ... }`
enum class ExperimentUnit : unsigned char { kVisitor, kCookie, kHeader, kIp };

struct ExperimentVariant {
  std::string name;
  double weight = 0;  // > 0 (checked)
};

struct ExperimentDecl {
  std::string name;
  ExperimentUnit unit = ExperimentUnit::kVisitor;
  std::string unit_arg;           // the cookie or header name for kCookie / kHeader
  double traffic_percent = 100;   // share of eligible units enrolled, 0 < t <= 100
  std::string layer;              // empty: no layer
  double layer_share_percent = 0; // this experiment's slot of the layer
  std::vector<ExperimentVariant> variants;
  std::string salt;               // defaults to the name
  bool has_audience = false;      // a `when` clause (evaluated by the rules engine)
  std::string start, end;         // "YYYY-MM-DD" as written, empty when absent
  int64_t start_ms = 0;           // UTC midnight of start; 0 when absent
  int64_t end_ms = 0;             // UTC midnight after `end` (end date inclusive); 0 when absent
};

// `table NAME = csv("FILE", key: COLUMN, by: SIGNAL)`
struct TableDecl {
  std::string name;
  std::string file;        // resolved against the including rules file's directory
  std::string file_as_written;
  std::string key_column;
  std::string by;          // the `by:` signal as written (e.g. `geo.city`); empty = visitor ID
};

// `interest NAME paths ["/shoes/*", ...]`
struct InterestDecl {
  std::string name;
  std::vector<std::string> paths;  // page patterns (same glob syntax as `page`)
};

// `signal NAME = lua("FILE") : TYPE`
struct LuaSignalDecl {
  std::string name;
  std::string file;  // resolved against the including rules file's directory
  std::string file_as_written;
  ValueType type = ValueType::kString;
};

}  // namespace tailor
