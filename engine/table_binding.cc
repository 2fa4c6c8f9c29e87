#include "engine/table_binding.h"

#include "core/services.h"

namespace tailor {

Status TableBinding::Declare(size_t index, const TableDecl& decl) {
  if (table_of_decl_.size() <= index) table_of_decl_.resize(index + 1, -1);
  Diagnostics diags;
  int t = registry_->Add(decl.name, decl.file, decl.key_column, diags);
  if (t < 0) {
    std::string msg;
    for (const Diagnostic& d : diags.items()) {
      if (d.severity != Severity::kError) continue;
      if (!msg.empty()) msg += "; ";
      msg += FormatDiagnosticLine(d);
      if (msg.size() > 400) break;
    }
    return Status::Error(msg.empty() ? "table \"" + decl.name + "\" did not load" : msg);
  }
  table_of_decl_[index] = t;
  return Status::Ok();
}

std::optional<TableProvider::Column> TableBinding::FindColumn(size_t index,
                                                              std::string_view column) const {
  if (index >= table_of_decl_.size() || table_of_decl_[index] < 0) return std::nullopt;
  // Ids are positions in the table's first version; Lookup maps them to each reloaded
  // version's positions by name (TableSet::column).
  const Table* table = registry_->schema(table_of_decl_[index]);
  int c = table->ColumnIndex(column);
  if (c < 0) return std::nullopt;
  return Column{c, table->ColumnType(c)};
}

Value TableBinding::Lookup(size_t index, int column_id, std::string_view key,
                           EvalEnv& env) const {
  const TableSet* tables = env.services.tables;
  if (tables == nullptr || index >= table_of_decl_.size() || table_of_decl_[index] < 0)
    return Value::Missing();
  int t = table_of_decl_[index];
  if (static_cast<size_t>(t) >= tables->size()) return Value::Missing();
  const Table* table = tables->at(t);
  int64_t row = table->FindRow(key);
  return table->Cell(row, tables->column(t, column_id));
}

}  // namespace tailor
