// Extension points for the libraries behind the rule language's declarations. The rule
// language parses and checks `experiment`, `table`, `interest` and `signal ... = lua(...)`;
// the values come from these interfaces, so those libraries plug in without touching the
// compiler:
//
//  - ExperimentAssigner: set on a compiled RuleSet (RuleSet::SetExperimentAssigner) before it
//    is shared with request threads. `experiment.NAME` is missing until one is set.
//  - TableProvider: passed in RuleSetOptions at compile time, because the checker asks it for
//    column types (they come from the CSV header). Without one, `table` is an error.
//  - LuaSignalProvider: passed in RuleSetOptions; prepares each `signal X = lua(...)` at
//    compile time and calls it at request time. Without one, `lua(...)` is an error.
//
// Every request-time method must be allocation-free and lock-free (EvalEnv::arena is there for
// scratch) and must fail open: a broken source returns a missing Value / empty variant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/value.h"
#include "rules/declarations.h"
#include "core/signal_registry.h"

namespace tailor {

class ExperimentAssigner {
 public:
  virtual ~ExperimentAssigner() = default;
  // The variant of RuleSet::experiments()[index] for this request, or an empty view when the
  // unit is not enrolled. The rules engine has already checked the experiment's `when`
  // audience and start/end dates before calling; the assigner does holdout, layers, traffic,
  // bots and the variant draw. The returned view must outlive the request (e.g. point into
  // the ExperimentDecl's strings, which live as long as the RuleSet).
  virtual std::string_view Assign(size_t index, const ExperimentDecl& decl,
                                  EvalEnv& env) const = 0;
};

class TableProvider {
 public:
  virtual ~TableProvider() = default;
  // Compile time: opens/validates the table. An error status (its message is shown at the
  // `table` declaration) when the file is missing or malformed. `index` is the table's
  // position in RuleSet::tables() and is passed back to Lookup.
  virtual Status Declare(size_t index, const TableDecl& decl) = 0;
  // Compile time: the type and an id of column `column`, nullopt when there is no such column.
  struct Column {
    int id;
    ValueType type;
  };
  virtual std::optional<Column> FindColumn(size_t index, std::string_view column) const = 0;
  // Request time: the column's value in the row whose key is `key` (the `by:` signal's value,
  // or the visitor ID). Missing when there is no row.
  virtual Value Lookup(size_t index, int column_id, std::string_view key,
                       EvalEnv& env) const = 0;
};

class LuaSignalProvider {
 public:
  virtual ~LuaSignalProvider() = default;
  // Compile time: loads and compiles the function. An error status (its message is shown at
  // the `signal` declaration) on failure.
  virtual Status Prepare(size_t index, const LuaSignalDecl& decl) = 0;
  // Request time: calls the function; a result that is not of decl.type must be missing.
  virtual Value Call(size_t index, EvalEnv& env) const = 0;
};

}  // namespace tailor
