// Table: cold data (CRM exports, store lists, weather by city) loaded from a CSV file at
// config time into an immutable, column-typed store with an open-addressing hash index on
// one key column. The request path only reads: FindRow is a hash and one or two probes
// (no allocation), Cell builds a Value viewing the table's memory.
//
// CSV format (RFC 4180): comma-separated, fields may be "quoted" ("" is a quote inside),
// quoted fields may span lines, LF or CRLF line ends, UTF-8 (a BOM is skipped). The first
// line is the header: column names, each optionally typed `name:string`, `name:number`,
// `name:bool`. Untyped columns are inferred from every non-empty cell: all numbers ->
// number, all true/false (any case) -> bool, otherwise string. An empty cell is a missing
// value. Errors are Diagnostics "FILE:LINE: message" (a wrong field count, a cell that does
// not match its declared type, an empty or duplicate key, ...); any error fails the load.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/status.h"
#include "core/value.h"

namespace tailor {

struct TableColumn {
  std::string name;
  ValueType type = ValueType::kString;  // kString, kNumber or kBool
  bool declared = false;                // typed in the header (else inferred)
};

struct TableLimits {
  size_t max_columns = 256;
  size_t max_rows = 20'000'000;
  size_t max_file_bytes = size_t{2} << 30;  // 2 GiB
  size_t max_errors = 20;                   // then "too many errors" and stop
};

class Table {
 public:
  // Parses CSV text; `file` names it in diagnostics. Returns nullptr when there are errors.
  static std::shared_ptr<const Table> ParseCsv(std::string_view text, const std::string& file,
                                               std::string_view key_column, Diagnostics& diags,
                                               const TableLimits& limits = {});
  // Reads and parses a file (an unreadable file is one diagnostic at line 0).
  static std::shared_ptr<const Table> LoadCsv(const std::string& path, std::string_view key_column,
                                              Diagnostics& diags, const TableLimits& limits = {});
  // A file written by WriteCompiled (`tailorc table compile`): memory-mapped read-only,
  // checked completely (checksum, then every slot, row and cell reference), so a damaged or
  // crafted file is refused and lookups stay in bounds. Its key column must be `key_column`.
  static std::shared_ptr<const Table> LoadCompiled(const std::string& path,
                                                   std::string_view key_column, Diagnostics& diags);
  // Either form, by the file's first bytes: what `table NAME = csv("FILE", ...)` loads.
  static std::shared_ptr<const Table> LoadFile(const std::string& path, std::string_view key_column,
                                               Diagnostics& diags, const TableLimits& limits = {});
  // Writes the compiled form (written to PATH.tmp, then renamed: safe for hot reload).
  Status WriteCompiled(const std::string& path) const;

  // Schema (config time).
  int ColumnIndex(std::string_view name) const;  // -1 when absent
  ValueType ColumnType(int column) const { return columns_[column].type; }
  const std::vector<TableColumn>& columns() const { return columns_; }
  int key_column() const { return key_column_; }
  size_t row_count() const { return rows_; }
  const std::string& file() const { return file_; }

  // Request path: the row whose key equals `key`, or -1. Keys compare as text; a number key
  // column compares numbers by value ("42", "42.0" and 42 find the same row).
  int64_t FindRow(std::string_view key) const;
  int64_t FindRow(const Value& key) const;  // string, number or bool; missing -> -1
  Value Cell(int64_t row, int column) const;  // missing for an empty cell or row -1
  // FindRow + Cell.
  Value Lookup(const Value& key, int column) const;

  // Nearest row to a point (C++ API; no rules signal uses it): the table needs number columns named
  // lat/latitude and lon/lng/longitude; rows with a missing coordinate are skipped. A linear
  // scan (store lists are small); row -1 when the table has no coordinates.
  struct Nearest {
    int64_t row = -1;
    double distance_km = 0;
  };
  Nearest NearestTo(double lat, double lon) const;
  int lat_column() const { return lat_column_; }
  int lon_column() const { return lon_column_; }

 private:
  Table() = default;

  std::string file_;
  std::vector<TableColumn> columns_;
  int key_column_ = -1;
  int lat_column_ = -1, lon_column_ = -1;
  size_t rows_ = 0;
  // Row-major storage, so a lookup touches the hash slot and one row's bytes (two cache
  // misses on a large table): per row, 8-byte aligned,
  //   [key: rel_offset << 32 | length][cell 0]...[cell n-1][key text][string cells' bytes]
  // A cell is a double (NaN = missing), a bool (0/1, 2 = missing) or a string as
  // rel_offset << 32 | length (all ones = missing); rel_offset counts from the row's start.
  struct Slot {
    uint64_t row_offset;
    uint32_t tag;   // high bits of the key's hash
    uint32_t row1;  // row + 1; 0 = empty slot
  };
  // What lookups read: views of the owned vectors below (a table parsed from CSV) or of a
  // read-only mapping of a compiled file (shared by every worker through the page cache).
  std::string_view blob_;
  std::span<const uint64_t> row_offset_;  // row -> offset of its record in blob_
  std::span<const Slot> slots_;
  std::string blob_store_;
  std::vector<uint64_t> row_offset_store_;
  std::vector<Slot> slots_store_;
  std::shared_ptr<const void> mapping_;  // the compiled file's mapping, when mapped
  // Sets the coordinate columns, and (owned) the views over the *_store_ vectors.
  void Publish(bool owned = true);
  int64_t FindSlot(std::string_view canonical_key, uint64_t* row_offset) const;
  Value CellAt(uint64_t row_offset, int column) const;
};

// True when a file starts with the compiled table magic.
bool IsCompiledTable(std::string_view first_bytes);

// Letters, digits and _, not starting with a digit (NAME.COLUMN in the rules).
bool ValidTableColumnName(std::string_view name);

// "42", "3.5", "-0.25": the shortest text that reads back as `d` (number keys, messages).
std::string_view FormatNumber(double d, char (&buf)[32]);

}  // namespace tailor
