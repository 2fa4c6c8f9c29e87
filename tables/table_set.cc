#include "tables/table_set.h"

namespace tailor {

int TableSet::Find(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int>(i);
  return -1;
}

Result<std::shared_ptr<const Table>> LoadTableForReload(const std::string& path,
                                                        const std::string& key_column,
                                                        const Table* schema,
                                                        const TableLimits& limits) {
  Diagnostics diags;
  auto t = Table::LoadFile(path, key_column, diags, limits);
  if (t == nullptr) {
    std::string msg;
    size_t shown = 0;
    for (const Diagnostic& d : diags.items()) {
      if (shown++ == 3) {
        msg += "; ...";
        break;
      }
      if (!msg.empty()) msg += "; ";
      msg += FormatDiagnosticLine(d);
    }
    return Status::Error(msg.empty() ? path + ": cannot load the table" : msg);
  }
  if (schema != nullptr) {
    for (const TableColumn& c : schema->columns()) {
      int i = t->ColumnIndex(c.name);
      if (i < 0) return Status::Error(path + ": column '" + c.name + "' was removed");
      if (t->ColumnType(i) != c.type)
        return Status::Error(path + ": column '" + c.name + "' changed type from " +
                             ValueTypeName(c.type) + " to " + ValueTypeName(t->ColumnType(i)));
    }
  }
  return t;
}

TableRegistry::TableRegistry() : current_(std::make_shared<const TableSet>()) {}
TableRegistry::~TableRegistry() = default;

int TableRegistry::Add(std::string name, std::string path, std::string key_column,
                       Diagnostics& diags, const TableLimits& limits) {
  for (const Entry& e : entries_) {
    if (e.name == name) {
      diags.Error(path, 0, 0, "table '" + name + "' is already declared (from " +
                                  e.reloader->path() + ")");
      return -1;
    }
  }
  // The first load reports every diagnostic with its line; reloads summarize.
  auto first = Table::LoadFile(path, key_column, diags, limits);
  if (first == nullptr) return -1;
  auto schema = first;
  bool used_first = false;
  auto loader = [path, key_column, schema, first, used_first, limits](
                    const std::string&) mutable -> Result<std::shared_ptr<const Table>> {
    if (!used_first) {  // Reloader::Create's synchronous load: the table just parsed
      used_first = true;
      auto t = std::move(first);
      first = nullptr;
      return t;
    }
    return LoadTableForReload(path, key_column, schema.get(), limits);
  };
  auto r = Reloader<Table>::Create(path, loader);
  if (!r.ok()) {
    diags.Error(path, 0, 0, r.status().message());
    return -1;
  }
  entries_.push_back({std::move(name), std::move(r).value(), std::move(schema)});
  current_ = Snapshot();
  return static_cast<int>(entries_.size() - 1);
}

std::shared_ptr<const TableSet> TableRegistry::Snapshot() const {
  auto set = std::make_shared<TableSet>();
  for (const Entry& e : entries_) {
    std::shared_ptr<const Table> t = e.reloader->Current();
    // LoadTableForReload refused any version missing a schema column or changing its type,
    // so every name resolves; -1 (a missing value at lookup) would only guard a bug.
    std::vector<int> map;
    map.reserve(e.schema->columns().size());
    for (const TableColumn& c : e.schema->columns()) {
      const int i = t->ColumnIndex(c.name);
      map.push_back(i >= 0 && t->ColumnType(i) == c.type ? i : -1);
    }
    set->names_.push_back(e.name);
    set->tables_.push_back(std::move(t));
    set->columns_.push_back(std::move(map));
  }
  return set;
}

std::vector<TableReloadReport> TableRegistry::Poll() { return Collect(false); }
std::vector<TableReloadReport> TableRegistry::Wait() { return Collect(true); }

std::vector<TableReloadReport> TableRegistry::Collect(bool wait) {
  std::vector<TableReloadReport> reports;
  bool swapped = false;
  for (Entry& e : entries_) {
    ReloadEvent ev = e.reloader->Poll();
    if (wait && ev.outcome == ReloadOutcome::kLoading) ev = e.reloader->Wait();
    if (ev.outcome == ReloadOutcome::kSwapped) swapped = true;
    if (ev.outcome == ReloadOutcome::kSwapped || ev.outcome == ReloadOutcome::kRejected)
      reports.push_back({e.name, e.reloader->path(), std::move(ev)});
  }
  if (swapped) current_ = Snapshot();
  return reports;
}

}  // namespace tailor
