// TableSet and TableRegistry: the tables a rule set declares (`table NAME = csv("FILE",
// key: COLUMN, by: SIGNAL)`), what the rules compiler binds to, and their hot reload.
//
// Config time (the rules compiler):
//   TableRegistry reg;
//   int t = reg.Add("customers", "/etc/tailor/customers.csv", "id", diags);  // -1 on error
//   const Table* schema = reg.schema(t);
//   int col = schema->ColumnIndex("tier");  ValueType type = schema->ColumnType(col);
// Request path (with the snapshot the request holds, e.g. Services::tables):
//   Value v = tables->at(t)->Lookup(key_value_from_the_by_signal, tables->column(t, col));
// Reload (the owner thread's timer): for (auto& r : reg.Poll()) log r.event.message;
// Column indices the rules compiler keeps are those of the first version (the schema). A new
// version must keep every column of the schema by name, with the same type, or it is
// rejected and the old table stays; it may reorder them and add columns, so each snapshot
// maps schema columns to the new version's positions by name (TableSet::column).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/reloader.h"
#include "tables/table.h"

namespace tailor {

// An immutable snapshot of every declared table, by index.
class TableSet {
 public:
  int Find(std::string_view name) const;  // index, or -1
  const Table* at(int index) const { return tables_[index].get(); }
  const std::string& name(int index) const { return names_[index]; }
  size_t size() const { return tables_.size(); }
  // The position in at(index) of column `schema_column` of the table's first version (what
  // ColumnIndex answered when the rules were compiled); -1 when out of range. Every reload
  // binds the schema's columns by name, so this stays right when a file reorders columns.
  int column(int index, int schema_column) const {
    const std::vector<int>& m = columns_[index];
    return schema_column >= 0 && static_cast<size_t>(schema_column) < m.size() ? m[schema_column]
                                                                               : -1;
  }

 private:
  friend class TableRegistry;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<const Table>> tables_;
  std::vector<std::vector<int>> columns_;  // per table: schema column -> column in tables_
};

struct TableReloadReport {
  std::string name;
  std::string path;
  ReloadEvent event;  // kSwapped or kRejected
};

class TableRegistry {
 public:
  TableRegistry();
  ~TableRegistry();
  // Loads the table now; errors ("FILE:LINE: message", a duplicate NAME) go to `diags`.
  // Declaring the same NAME twice is an error; the same file twice is loaded twice. `limits`
  // hold for this load and every reload of the file.
  int Add(std::string name, std::string path, std::string key_column, Diagnostics& diags,
          const TableLimits& limits = {});
  // The current snapshot (owner thread). Requests keep the shared_ptr to their end.
  const std::shared_ptr<const TableSet>& Current() const { return current_; }
  // The first version of table `index`: the schema whose column positions the rules keep
  // (TableSet::column maps them into any later version).
  const Table* schema(int index) const { return entries_[index].schema.get(); }
  // Owner thread only; never blocks.
  std::vector<TableReloadReport> Poll();
  // Waits for loads in progress (tests, CLI).
  std::vector<TableReloadReport> Wait();

 private:
  std::vector<TableReloadReport> Collect(bool wait);
  struct Entry {
    std::string name;
    std::unique_ptr<Reloader<Table>> reloader;
    std::shared_ptr<const Table> schema;  // the first version: what the rules were compiled against
  };
  // A snapshot of every entry's current table, with its columns bound to the schema by name.
  std::shared_ptr<const TableSet> Snapshot() const;
  std::vector<Entry> entries_;
  std::shared_ptr<const TableSet> current_;
};

// Loads a table (CSV or compiled) for the reloader: diagnostics become one Status message
// (first lines), and every column of `schema` (when given) must still be there, by name, with
// the same type (in any position).
Result<std::shared_ptr<const Table>> LoadTableForReload(const std::string& path,
                                                        const std::string& key_column,
                                                        const Table* schema,
                                                        const TableLimits& limits = {});

}  // namespace tailor
