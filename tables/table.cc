#include "tables/table.h"

#include <xxhash.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <cerrno>
#include <cstring>

#include "geo/geo_service.h"

namespace tailor {
namespace {

constexpr uint64_t kNoString = ~uint64_t{0};
constexpr uint8_t kNoFlag = 2;

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

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
  if (IEquals(s, "true")) return *b = true, true;
  if (IEquals(s, "false")) return *b = false, true;
  if (!declared) return false;
  if (IEquals(s, "yes") || s == "1") return *b = true, true;
  if (IEquals(s, "no") || s == "0") return *b = false, true;
  return false;
}

bool ValidName(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

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
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    diags.Error(path, 0, 0, std::string("cannot read the table: ") + std::strerror(errno));
    return nullptr;
  }
  const std::streamoff size = in.tellg();
  if (size < 0 || static_cast<uint64_t>(size) > limits.max_file_bytes) {
    diags.Error(path, 0, 0, "the table file is larger than " +
                                std::to_string(limits.max_file_bytes >> 20) + " MiB");
    return nullptr;
  }
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(text.data(), size)) {
    diags.Error(path, 0, 0, "cannot read the table");
    return nullptr;
  }
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
    if (!ValidName(name))
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

  // Rows: raw cells first (types may be inferred from all of them).
  std::vector<std::string_view> cells;
  std::vector<int> row_line;
  cells.reserve(text.size() / 8);
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
    cells.insert(cells.end(), fields.begin(), fields.end());
    row_line.push_back(line);
  }
  if (diags.error_count() > errors_before) return nullptr;
  const size_t nrows = row_line.size();
  t->rows_ = nrows;

  // Columns: infer, convert.
  t->pool_.reserve(text.size() + nrows * 8);
  t->data_.resize(ncols);
  for (size_t c = 0; c < ncols && !too_many(); ++c) {
    TableColumn& col = t->columns_[c];
    if (!col.declared) {
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
    ColumnData& d = t->data_[c];
    switch (col.type) {
      case ValueType::kNumber: d.num.resize(nrows); break;
      case ValueType::kBool: d.flag.resize(nrows); break;
      default: d.str.resize(nrows); break;
    }
    for (size_t r = 0; r < nrows; ++r) {
      std::string_view s = cells[r * ncols + c];
      if (col.type == ValueType::kNumber) {
        double v = std::numeric_limits<double>::quiet_NaN();
        if (!s.empty() && !ParseNumber(s, &v))
          error(row_line[r], "column '" + col.name + "' is a number; '" + std::string(s) +
                                 "' is not a number");
        d.num[r] = v;
      } else if (col.type == ValueType::kBool) {
        bool b = false;
        if (!s.empty() && !ParseBool(s, true, &b))
          error(row_line[r], "column '" + col.name + "' is a bool; '" + std::string(s) +
                                 "' is not true/false/yes/no/1/0");
        d.flag[r] = s.empty() ? kNoFlag : b;
      } else if (s.empty()) {
        d.str[r] = kNoString;
      } else {
        d.str[r] = (uint64_t{t->pool_.size()} << 32) | s.size();
        t->pool_.append(s);
      }
    }
  }
  if (diags.error_count() > errors_before) return nullptr;
  if (t->pool_.size() >= (uint64_t{1} << 32)) {
    error(0, "more than 4 GiB of text");
    return nullptr;
  }

  // The key index.
  const size_t kc = static_cast<size_t>(t->key_column_);
  t->keys_.resize(nrows);
  uint64_t cap = 16;
  while (cap < nrows * 2) cap <<= 1;
  t->slots_.assign(cap, 0);
  t->mask_ = cap - 1;
  for (size_t r = 0; r < nrows && !too_many(); ++r) {
    std::string_view raw = cells[r * ncols + kc];
    if (raw.empty()) {
      error(row_line[r], "empty key (column '" + t->columns_[kc].name + "')");
      continue;
    }
    std::string_view key = raw;
    char buf[32];
    if (t->columns_[kc].type == ValueType::kNumber) key = FormatNumber(t->data_[kc].num[r], buf);
    else if (t->columns_[kc].type == ValueType::kBool) key = t->data_[kc].flag[r] ? "true" : "false";
    const uint64_t h = XXH3_64bits(key.data(), key.size());
    const uint64_t tag = h >> 32;
    uint64_t i = h & t->mask_;
    bool dup = false;
    while (t->slots_[i] != 0) {
      const uint64_t s = t->slots_[i];
      if ((s >> 32) == tag) {
        const uint64_t other = (s & 0xFFFFFFFFu) - 1;
        const uint64_t k = t->keys_[other];
        if (std::string_view(t->pool_.data() + (k >> 32), k & 0xFFFFFFFFu) == key) {
          error(row_line[r], "duplicate key '" + std::string(raw) + "' (first on line " +
                                 std::to_string(row_line[other]) + ")");
          dup = true;
          break;
        }
      }
      i = (i + 1) & t->mask_;
    }
    if (dup) continue;
    t->keys_[r] = (uint64_t{t->pool_.size()} << 32) | key.size();
    t->pool_.append(key);
    t->slots_[i] = (tag << 32) | (r + 1);
  }
  if (diags.error_count() > errors_before) return nullptr;

  for (size_t c = 0; c < ncols; ++c) {
    if (t->columns_[c].type != ValueType::kNumber) continue;
    const std::string& n = t->columns_[c].name;
    if (n == "lat" || n == "latitude") t->lat_column_ = static_cast<int>(c);
    if (n == "lon" || n == "lng" || n == "longitude") t->lon_column_ = static_cast<int>(c);
  }
  return t;
}

int Table::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].name == name) return static_cast<int>(i);
  return -1;
}

int64_t Table::FindCanonical(std::string_view key) const {
  if (slots_.empty()) return -1;
  const uint64_t h = XXH3_64bits(key.data(), key.size());
  const uint64_t tag = h >> 32;
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint64_t s = slots_[i];
    if (s == 0) return -1;
    if ((s >> 32) != tag) continue;
    const uint64_t row = (s & 0xFFFFFFFFu) - 1;
    const uint64_t k = keys_[row];
    if ((k & 0xFFFFFFFFu) == key.size() &&
        std::memcmp(pool_.data() + (k >> 32), key.data(), key.size()) == 0)
      return static_cast<int64_t>(row);
  }
}

int64_t Table::FindRow(std::string_view key) const {
  if (key_column_ < 0) return -1;
  const ValueType kt = columns_[key_column_].type;
  if (kt == ValueType::kNumber) {
    double d;
    char buf[32];
    return ParseNumber(key, &d) ? FindCanonical(FormatNumber(d, buf)) : -1;
  }
  if (kt == ValueType::kBool) {
    bool b;
    return ParseBool(key, true, &b) ? FindCanonical(b ? "true" : "false") : -1;
  }
  return FindCanonical(key);
}

int64_t Table::FindRow(const Value& key) const {
  switch (key.type) {
    case ValueType::kString: return FindRow(key.str);
    case ValueType::kNumber: {
      if (!std::isfinite(key.number)) return -1;
      char buf[32];
      return FindRow(FormatNumber(key.number, buf));
    }
    case ValueType::kBool: return FindRow(std::string_view(key.boolean ? "true" : "false"));
    default: return -1;
  }
}

Value Table::Cell(int64_t row, int column) const {
  if (row < 0 || static_cast<size_t>(row) >= rows_ || column < 0 ||
      static_cast<size_t>(column) >= columns_.size())
    return Value::Missing();
  const ColumnData& d = data_[column];
  switch (columns_[column].type) {
    case ValueType::kNumber: {
      double v = d.num[row];
      return std::isnan(v) ? Value::Missing() : Value::Number(v);
    }
    case ValueType::kBool: {
      uint8_t f = d.flag[row];
      return f == kNoFlag ? Value::Missing() : Value::Bool(f != 0);
    }
    default: {
      uint64_t s = d.str[row];
      if (s == kNoString) return Value::Missing();
      return Value::String(std::string_view(pool_.data() + (s >> 32), s & 0xFFFFFFFFu));
    }
  }
}

Table::Nearest Table::NearestTo(double lat, double lon) const {
  Nearest best;
  if (lat_column_ < 0 || lon_column_ < 0 || !std::isfinite(lat) || !std::isfinite(lon)) return best;
  const std::vector<double>& la = data_[lat_column_].num;
  const std::vector<double>& lo = data_[lon_column_].num;
  double best_km = std::numeric_limits<double>::infinity();
  for (size_t r = 0; r < rows_; ++r) {
    if (std::isnan(la[r]) || std::isnan(lo[r])) continue;
    const double km = GreatCircleKm(lat, lon, la[r], lo[r]);
    if (km < best_km) {
      best_km = km;
      best.row = static_cast<int64_t>(r);
    }
  }
  if (best.row >= 0) best.distance_km = best_km;
  return best;
}

}  // namespace tailor
