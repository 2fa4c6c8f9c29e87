// TableSet and TableRegistry: the tables a rule set declares (`table NAME = csv("FILE",
// key: COLUMN, by: SIGNAL)`), what the rules compiler binds to, and their hot reload.
//
// Config time (the rules compiler):
//   TableRegistry reg;
//   int t = reg.Add("customers", "/etc/tailor/customers.csv", "id", diags);  // -1 on error
//   const Table* schema = reg.Current()->at(t);
//   int col = schema->ColumnIndex("tier");  ValueType type = schema->ColumnType(col);
// Request path (with the snapshot the request holds, e.g. Services::tables):
//   Value v = tables->at(t)->Lookup(key_value_from_the_by_signal, col);
// Reload (the owner thread's timer): for (auto& r : reg.Poll()) log r.event.message;
// A new version must keep every column the first version had, with the same type (rules
// were compiled against them; new columns are fine); otherwise it is rejected and the old
// table stays.
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

 private:
  friend class TableRegistry;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<const Table>> tables_;
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
  // Declaring the same NAME twice is an error; the same file twice is loaded twice.
  int Add(std::string name, std::string path, std::string key_column, Diagnostics& diags);
  // The current snapshot (owner thread). Requests keep the shared_ptr to their end.
  const std::shared_ptr<const TableSet>& Current() const { return current_; }
  // Owner thread only; never blocks.
  std::vector<TableReloadReport> Poll();
  // Waits for loads in progress (tests, CLI).
  std::vector<TableReloadReport> Wait();

 private:
  std::vector<TableReloadReport> Collect(bool wait);
  struct Entry {
    std::string name;
    std::unique_ptr<Reloader<Table>> reloader;
  };
  std::vector<Entry> entries_;
  std::shared_ptr<const TableSet> current_;
};

// Loads a CSV table for the reloader: diagnostics become one Status message (first lines),
// and `schema` (when given) must be kept: same column names and types.
Result<std::shared_ptr<const Table>> LoadTableForReload(const std::string& path,
                                                        const std::string& key_column,
                                                        const Table* schema);

}  // namespace tailor
