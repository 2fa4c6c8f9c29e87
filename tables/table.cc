#include "tables/table.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <cerrno>
#include <cstring>

#include "core/file.h"
#include "core/text.h"
#include "geo/geo_service.h"

namespace tailor {
namespace {

constexpr uint64_t kNoString = ~uint64_t{0};
constexpr uint8_t kNoFlag = 2;

bool ParseNumber(std::string_view s, double* d) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;
  auto r = std::from_chars(b, e, *d);
  return r.ec == std::errc() && r.ptr == e && std::isfinite(*d);
}

// Inferred bools are only true/false; a column declared :bool also takes yes/no and 1/0.
bool ParseBool(std::string_view s, bool declared, bool* b) {
  if (EqualsIgnoreCase(s, "true")) return *b = true, true;
  if (EqualsIgnoreCase(s, "false")) return *b = false, true;
  if (!declared) return false;
  if (EqualsIgnoreCase(s, "yes") || s == "1") return *b = true, true;
  if (EqualsIgnoreCase(s, "no") || s == "0") return *b = false, true;
  return false;
}

// "1024 MiB", "64 KiB", "1000 bytes": limits in messages, exact.
std::string FormatBytes(uint64_t n) {
  if (n != 0 && n % (uint64_t{1} << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n != 0 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

}  // namespace

std::string TableMemoryLimitMessage(uint64_t limit) {
  return "the table needs more than " + FormatBytes(limit) +
         " of memory (the limit for one table, TableLimits::max_memory_bytes)";
}

bool ValidTableColumnName(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

namespace {

// The CSV tokenizer: one record at a time, fields as views into the text or into `unescaped`
// (which the caller reserves to the text's size, so views stay valid).
class CsvReader {
 public:
  CsvReader(std::string_view text, std::string* unescaped) : t_(text), unescaped_(unescaped) {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }
  bool done() const { return pos_ >= t_.size(); }
  int line() const { return line_; }
  // Reads one record into `fields`; false with *error on an unterminated quote.
  bool Next(std::vector<std::string_view>* fields, int* record_line, std::string* error) {
    fields->clear();
    *record_line = line_;
    while (true) {
      if (pos_ < t_.size() && t_[pos_] == '"') {
        size_t start_len = unescaped_->size();
        bool copied = false;
        size_t i = pos_ + 1, seg = i;
        while (true) {
          size_t q = t_.find('"', i);
          if (q == std::string_view::npos) {
            *error = "unterminated quoted field";
            pos_ = t_.size();
            return false;
          }
          for (size_t k = i; k < q; ++k) line_ += t_[k] == '\n';
          if (q + 1 < t_.size() && t_[q + 1] == '"') {  // "" -> "
            unescaped_->append(t_.data() + seg, q + 1 - seg);
            copied = true;
            i = seg = q + 2;
            continue;
          }
          if (copied) {
            unescaped_->append(t_.data() + seg, q - seg);
            fields->emplace_back(unescaped_->data() + start_len, unescaped_->size() - start_len);
          } else {
            fields->push_back(t_.substr(pos_ + 1, q - pos_ - 1));
          }
          pos_ = q + 1;
          break;
        }
        // After a closing quote: a separator, a line end, or the end.
        if (pos_ < t_.size() && t_[pos_] != ',' && t_[pos_] != '\n' && t_[pos_] != '\r') {
          *error = "unexpected character after a closing quote";
          SkipLine();
          return false;
        }
      } else {
        size_t end = pos_;
        while (end < t_.size() && t_[end] != ',' && t_[end] != '\n' && t_[end] != '\r') ++end;
        fields->push_back(t_.substr(pos_, end - pos_));
        pos_ = end;
      }
      if (pos_ >= t_.size()) return true;
      char c = t_[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      if (c == '\r') ++pos_;
      if (pos_ < t_.size() && t_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

 private:
  void SkipLine() {
    while (pos_ < t_.size() && t_[pos_] != '\n') ++pos_;
    if (pos_ < t_.size()) ++pos_;
    ++line_;
  }
  std::string_view t_;
  std::string* unescaped_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::string_view FormatNumber(double d, char (&buf)[32]) {
  if (d == 0) d = 0;  // -0 -> 0
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

std::shared_ptr<const Table> Table::LoadCsv(const std::string& path, std::string_view key_column,
                                            Diagnostics& diags, const TableLimits& limits) {
  FileReadFailure failure;
  Result<std::string> read = ReadFileLimited(path, limits.max_file_bytes, &failure);
  if (!read.ok()) {
    if (failure.kind == FileReadFailure::Kind::kCannotOpen)
      diags.Error(path, 0, 0, std::string("cannot read the table: ") +
                                  std::strerror(failure.error_number));
    else if (failure.kind == FileReadFailure::Kind::kTooLarge)
      diags.Error(path, 0, 0, "the table file is larger than " +
                                  std::to_string(limits.max_file_bytes >> 20) + " MiB");
    else
      diags.Error(path, 0, 0, "cannot read the table");
    return nullptr;
  }
  const std::string& text = read.value();
  return ParseCsv(text, path, key_column, diags, limits);
}

std::shared_ptr<const Table> Table::ParseCsv(std::string_view text, const std::string& file,
                                             std::string_view key_column, Diagnostics& diags,
                                             const TableLimits& limits) {
  const size_t errors_before = diags.error_count();
  auto too_many = [&] { return diags.error_count() - errors_before >= limits.max_errors; };
  auto error = [&](int line, std::string msg) {
    if (too_many()) return;
    diags.Error(file, line, 0, std::move(msg));
    if (too_many()) diags.Error(file, line, 0, "too many errors; stopping");
  };

  std::shared_ptr<Table> t(new Table());
  t->file_ = file;
  std::string unescaped;
  unescaped.reserve(text.size());
  CsvReader csv(text, &unescaped);
  std::vector<std::string_view> fields;
  std::string why;
  int line = 0;

  // Header.
  if (csv.done() || !csv.Next(&fields, &line, &why)) {
    error(1, csv.done() ? "empty table: expected a header line (column names)" : why);
    return nullptr;
  }
  if (fields.size() > limits.max_columns) {
    error(1, "more than " + std::to_string(limits.max_columns) + " columns");
    return nullptr;
  }
  for (std::string_view f : fields) {
    TableColumn c;
    size_t colon = f.find(':');
    std::string_view name = f.substr(0, colon);
    if (colon != std::string_view::npos) {
      std::string_view type = f.substr(colon + 1);
      c.declared = true;
      if (type == "string") c.type = ValueType::kString;
      else if (type == "number") c.type = ValueType::kNumber;
      else if (type == "bool") c.type = ValueType::kBool;
      else error(1, "column '" + std::string(name) + "': unknown type '" + std::string(type) +
                        "' (expected string, number or bool)");
    }
    if (!ValidTableColumnName(name))
      error(1, "column name '" + std::string(name) +
                   "' is not a name (letters, digits and _, not starting with a digit)");
    for (const TableColumn& o : t->columns_)
      if (o.name == name) error(1, "duplicate column '" + std::string(name) + "'");
    c.name = std::string(name);
    t->columns_.push_back(std::move(c));
  }
  t->key_column_ = t->ColumnIndex(key_column);
  if (t->key_column_ < 0) error(1, "the key column '" + std::string(key_column) + "' is not in the header");
  if (diags.error_count() > errors_before) return nullptr;
  const size_t ncols = t->columns_.size();

  // Memory: each row will take at least its record's cells, a row offset and two index
  // slots (load <= 0.5); counting that while reading stops a table that cannot fit before
  // its raw cells (16 bytes each) pile up.
  const uint64_t row_floor = 8 * (1 + ncols) + 8 + 2 * sizeof(Slot);
  const uint64_t max_memory = limits.max_memory_bytes;

  // Rows: raw cells first (types may be inferred from all of them).
  std::vector<std::string_view> cells;
  std::vector<int> row_line;
  cells.reserve(std::min<uint64_t>(text.size() / 8, max_memory / row_floor * ncols + ncols));
  while (!csv.done() && !too_many()) {
    if (!csv.Next(&fields, &line, &why)) {
      error(line, why);
      continue;
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != ncols) {
      error(line, "this row has " + std::to_string(fields.size()) + " fields, the header has " +
                      std::to_string(ncols));
      continue;
    }
    if (row_line.size() >= limits.max_rows) {
      error(line, "more than " + std::to_string(limits.max_rows) + " rows");
      break;
    }
    if ((row_line.size() + 1) * row_floor > max_memory) {
      error(line, TableMemoryLimitMessage(max_memory));
      break;
    }
    cells.insert(cells.end(), fields.begin(), fields.end());
    row_line.push_back(line);
  }
  if (diags.error_count() > errors_before) return nullptr;
  const size_t nrows = row_line.size();
  t->rows_ = nrows;

  // Columns: types (declared or inferred from every non-empty cell).
  for (size_t c = 0; c < ncols; ++c) {
    TableColumn& col = t->columns_[c];
    if (col.declared) continue;
    bool all_num = true, all_bool = true, any = false;
    for (size_t r = 0; r < nrows && (all_num || all_bool); ++r) {
      std::string_view s = cells[r * ncols + c];
      if (s.empty()) continue;
      any = true;
      double d;
      bool b;
      if (all_num && !ParseNumber(s, &d)) all_num = false;
      if (all_bool && !ParseBool(s, false, &b)) all_bool = false;
    }
    col.type = !any ? ValueType::kString
                    : all_num ? ValueType::kNumber : all_bool ? ValueType::kBool : ValueType::kString;
  }

  // Rows: convert cells, write each row's record, index its key. The index and row offsets
  // are sized now; the records are counted against the memory limit as they are written.
  const size_t kc = static_cast<size_t>(t->key_column_);
  uint64_t cap = 16;
  while (cap < nrows * 2) cap <<= 1;
  const uint64_t fixed_bytes = nrows * 8 + cap * sizeof(Slot);
  if (fixed_bytes > max_memory) {
    error(row_line.empty() ? 1 : row_line.back(), TableMemoryLimitMessage(max_memory));
    return nullptr;
  }
  const uint64_t blob_budget = max_memory - fixed_bytes;
  // An upper bound of the records (string cells and key text come from the text; a number
  // key's canonical text is at most 32 bytes; padding at most 7), so the blob never grows by
  // reallocation (which would briefly hold two copies); capped by the limit.
  t->blob_store_.reserve(
      std::min<uint64_t>(2 * text.size() + nrows * (8 * (ncols + 1) + 39), blob_budget));
  t->row_offset_store_.resize(nrows);
  t->slots_store_.assign(cap, Slot{0, 0, 0});
  const uint64_t mask = cap - 1;
  std::vector<uint64_t> cell(ncols);
  for (size_t r = 0; r < nrows && !too_many(); ++r) {
    const std::string_view* raw = &cells[r * ncols];
    bool row_ok = true;
    for (size_t c = 0; c < ncols; ++c) {
      const TableColumn& col = t->columns_[c];
      std::string_view s = raw[c];
      if (col.type == ValueType::kNumber) {
        double v = std::numeric_limits<double>::quiet_NaN();
        if (!s.empty() && !ParseNumber(s, &v)) {
          error(row_line[r], "column '" + col.name + "' is a number; '" + std::string(s) +
                                 "' is not a number");
          row_ok = false;
        }
        std::memcpy(&cell[c], &v, 8);
      } else if (col.type == ValueType::kBool) {
        bool b = false;
        if (!s.empty() && !ParseBool(s, true, &b)) {
          error(row_line[r], "column '" + col.name + "' is a bool; '" + std::string(s) +
                                 "' is not true/false/yes/no/1/0");
          row_ok = false;
        }
        cell[c] = s.empty() ? kNoFlag : b;
      }
    }
    if (!row_ok) continue;
    // The canonical key text: numbers by value, bools as true/false.
    std::string_view key = raw[kc];
    if (key.empty()) {
      error(row_line[r], "empty key (column '" + t->columns_[kc].name + "')");
      continue;
    }
    char buf[32];
    if (t->columns_[kc].type == ValueType::kNumber) {
      double v;
      std::memcpy(&v, &cell[kc], 8);
      key = FormatNumber(v, buf);
    } else if (t->columns_[kc].type == ValueType::kBool) {
      key = cell[kc] ? "true" : "false";
    }
    const uint64_t h = XXH3_64bits(key.data(), key.size());
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    uint64_t i = h & mask;
    bool dup = false;
    for (; t->slots_store_[i].row1 != 0; i = (i + 1) & mask) {
      const Slot& sl = t->slots_store_[i];
      if (sl.tag != tag) continue;
      uint64_t kref;
      std::memcpy(&kref, t->blob_store_.data() + sl.row_offset, 8);
      if (std::string_view(t->blob_store_.data() + sl.row_offset + (kref >> 32), kref & 0xFFFFFFFFu) == key) {
        error(row_line[r], "duplicate key '" + std::string(raw[kc]) + "' (first on line " +
                               std::to_string(row_line[sl.row1 - 1]) + ")");
        dup = true;
        break;
      }
    }
    if (dup) continue;
    // The record.
    while (t->blob_store_.size() % 8) t->blob_store_.push_back('\0');
    const uint64_t start = t->blob_store_.size();
    uint64_t rel = 8 * (1 + ncols);
    const uint64_t key_ref = (rel << 32) | key.size();
    rel += key.size();
    for (size_t c = 0; c < ncols; ++c) {
      if (t->columns_[c].type != ValueType::kString) continue;
      if (raw[c].empty()) {
        cell[c] = kNoString;
      } else {
        cell[c] = (rel << 32) | raw[c].size();
        rel += raw[c].size();
      }
    }
    if (start + rel >= (uint64_t{1} << 40)) {
      error(row_line[r], "the table is too large");
      return nullptr;
    }
    if (start + rel > blob_budget) {
      error(row_line[r], TableMemoryLimitMessage(max_memory));
      return nullptr;
    }
    t->blob_store_.append(reinterpret_cast<const char*>(&key_ref), 8);
    t->blob_store_.append(reinterpret_cast<const char*>(cell.data()), 8 * ncols);
    t->blob_store_.append(key);
    for (size_t c = 0; c < ncols; ++c)
      if (t->columns_[c].type == ValueType::kString) t->blob_store_.append(raw[c]);
    t->row_offset_store_[r] = start;
    t->slots_store_[i] = Slot{start, tag, static_cast<uint32_t>(r + 1)};
  }
  if (diags.error_count() > errors_before) return nullptr;

  t->Publish();
  return t;
}

void Table::Publish(bool owned) {
  if (owned) {
    blob_ = blob_store_;
    row_offset_ = row_offset_store_;
    slots_ = slots_store_;
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].type != ValueType::kNumber) continue;
    const std::string& n = columns_[c].name;
    if (n == "lat" || n == "latitude") lat_column_ = static_cast<int>(c);
    if (n == "lon" || n == "lng" || n == "longitude") lon_column_ = static_cast<int>(c);
  }
}

size_t Table::memory_bytes() const {
  if (file_copy_ != nullptr) return file_copy_bytes_;
  return blob_.size() + row_offset_.size_bytes() + slots_.size_bytes();
}

int Table::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].name == name) return static_cast<int>(i);
  return -1;
}

int64_t Table::FindSlot(std::string_view key, uint64_t* row_offset) const {
  if (slots_.empty()) return -1;
  const uint64_t mask = slots_.size() - 1;
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  for (uint64_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.row1 == 0) return -1;
    if (s.tag != tag) continue;
    const char* rec = blob_.data() + s.row_offset;
    uint64_t kref;
    std::memcpy(&kref, rec, 8);
    if ((kref & 0xFFFFFFFFu) == key.size() && std::memcmp(rec + (kref >> 32), key.data(), key.size()) == 0) {
      *row_offset = s.row_offset;
      return static_cast<int64_t>(s.row1) - 1;
    }
  }
}

namespace {
// The canonical key text for `key` in a key column of type `kt`; false when it cannot match.
bool CanonicalKey(ValueType kt, const Value& key, char (&buf)[32], std::string_view* out) {
  double d;
  bool b;
  switch (key.type) {
    case ValueType::kString:
      if (kt == ValueType::kNumber) {
        if (!ParseNumber(key.str, &d)) return false;
        *out = FormatNumber(d, buf);
      } else if (kt == ValueType::kBool) {
        if (!ParseBool(key.str, true, &b)) return false;
        *out = b ? "true" : "false";
      } else {
        *out = key.str;
      }
      return true;
    case ValueType::kNumber:
      if (!std::isfinite(key.number)) return false;
      *out = FormatNumber(key.number, buf);
      return kt != ValueType::kBool;
    case ValueType::kBool:
      *out = key.boolean ? "true" : "false";
      return kt != ValueType::kNumber;
    default: return false;
  }
}
}  // namespace

int64_t Table::FindRow(std::string_view key) const { return FindRow(Value::String(key)); }

int64_t Table::FindRow(const Value& key) const {
  if (key_column_ < 0) return -1;
  char buf[32];
  std::string_view k;
  uint64_t off;
  if (!CanonicalKey(columns_[key_column_].type, key, buf, &k)) return -1;
  return FindSlot(k, &off);
}

Value Table::Lookup(const Value& key, int column) const {
  if (key_column_ < 0 || column < 0 || static_cast<size_t>(column) >= columns_.size())
    return Value::Missing();
  char buf[32];
  std::string_view k;
  uint64_t off;
  if (!CanonicalKey(columns_[key_column_].type, key, buf, &k) || FindSlot(k, &off) < 0)
    return Value::Missing();
  return CellAt(off, column);
}

Value Table::Cell(int64_t row, int column) const {
  if (row < 0 || static_cast<size_t>(row) >= rows_ || column < 0 ||
      static_cast<size_t>(column) >= columns_.size())
    return Value::Missing();
  return CellAt(row_offset_[row], column);
}

Value Table::CellAt(uint64_t row_offset, int column) const {
  const char* rec = blob_.data() + row_offset;
  uint64_t c;
  std::memcpy(&c, rec + 8 * (1 + column), 8);
  switch (columns_[column].type) {
    case ValueType::kNumber: {
      double v;
      std::memcpy(&v, &c, 8);
      return std::isnan(v) ? Value::Missing() : Value::Number(v);
    }
    case ValueType::kBool: return c == kNoFlag ? Value::Missing() : Value::Bool(c != 0);
    default:
      if (c == kNoString) return Value::Missing();
      return Value::String(std::string_view(rec + (c >> 32), c & 0xFFFFFFFFu));
  }
}

Table::Nearest Table::NearestTo(double lat, double lon) const {
  Nearest best;
  if (lat_column_ < 0 || lon_column_ < 0 || !std::isfinite(lat) || !std::isfinite(lon)) return best;
  double best_km = std::numeric_limits<double>::infinity();
  for (size_t r = 0; r < rows_; ++r) {
    Value la = CellAt(row_offset_[r], lat_column_), lo = CellAt(row_offset_[r], lon_column_);
    if (la.missing() || lo.missing()) continue;
    const double km = GreatCircleKm(lat, lon, la.number, lo.number);
    if (km < best_km) {
      best_km = km;
      best.row = static_cast<int64_t>(r);
    }
  }
  if (best.row >= 0) best.distance_km = best_km;
  return best;
}

}  // namespace tailor
