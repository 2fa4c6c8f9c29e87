// TableBinding: the rules engine's TableProvider (rules/extensions.h) over a TableRegistry
// (tables/table_set.h). At compile time it loads each declared table and answers column types
// from the file's header; at request time it looks the key up in the snapshot the request
// holds (Services::tables), so a hot-reloaded table is seen by new requests only.
#pragma once

#include <memory>
#include <vector>

#include "rules/extensions.h"
#include "tables/table_set.h"

namespace tailor {

class TableBinding final : public TableProvider {
 public:
  explicit TableBinding(std::shared_ptr<TableRegistry> registry)
      : registry_(std::move(registry)) {}

  Status Declare(size_t index, const TableDecl& decl) override;
  std::optional<Column> FindColumn(size_t index, std::string_view column) const override;
  Value Lookup(size_t index, int column_id, std::string_view key,
               EvalEnv& env) const override;

  const std::shared_ptr<TableRegistry>& registry() const { return registry_; }

 private:
  std::shared_ptr<TableRegistry> registry_;
  std::vector<int> table_of_decl_;  // rules table index -> registry index (-1: failed)
};

}  // namespace tailor
