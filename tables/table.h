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

// The most memory one loaded table may take (Table::memory_bytes(): row records, index, row
// offsets). A table's memory is not its file's size: each cell takes 8 bytes however short
// its text, each row 32-48 more (key reference, row offset, index slots) plus its key and
// string bytes, so the benchmarks' CRM export takes 130 bytes a row for 41 in the CSV. Every
// nginx process holding a table pays for it (workers share the master's config-time copy;
// each worker's hot reload builds its own), so the limit is on the built table, counted while
// it is built, before the memory is allocated.
inline constexpr size_t kMaxTableMemoryBytes = size_t{1} << 30;  // 1 GiB

struct TableLimits {
  size_t max_columns = 256;
  size_t max_rows = 20'000'000;
  size_t max_file_bytes = size_t{2} << 30;  // 2 GiB
  size_t max_memory_bytes = kMaxTableMemoryBytes;
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
  // A file written by WriteCompiled (`tailorc table compile`): read into memory the table
  // owns (never mapped: a file rewritten or truncated in place would change or fault the
  // pages lookups read), then checked completely (checksum, then every slot, row and cell
  // reference), so a damaged or crafted file is refused and lookups stay in bounds. A file
  // that changes while it is read is read again, and refused if it keeps changing. Its key
  // column must be `key_column`.
  static std::shared_ptr<const Table> LoadCompiled(const std::string& path,
                                                   std::string_view key_column, Diagnostics& diags,
                                                   const TableLimits& limits = {});
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
  // The bytes the table's data takes (row records, index slots, row offsets; for a compiled
  // file, its whole copy): what TableLimits::max_memory_bytes bounds.
  size_t memory_bytes() const;
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
  // What lookups read: views of the owned vectors below (a table parsed from CSV) or of the
  // private copy of a compiled file (`file_copy_`).
  std::string_view blob_;
  std::span<const uint64_t> row_offset_;  // row -> offset of its record in blob_
  std::span<const Slot> slots_;
  std::string blob_store_;
  std::vector<uint64_t> row_offset_store_;
  std::vector<Slot> slots_store_;
  std::shared_ptr<const uint64_t[]> file_copy_;  // a compiled file's bytes (8-byte aligned)
  size_t file_copy_bytes_ = 0;
  // Sets the coordinate columns, and (owned) the views over the *_store_ vectors.
  void Publish(bool owned = true);
  int64_t FindSlot(std::string_view canonical_key, uint64_t* row_offset) const;
  Value CellAt(uint64_t row_offset, int column) const;
};

// "the table needs more than N MiB of memory (...)": the error for TableLimits::max_memory_bytes.
std::string TableMemoryLimitMessage(uint64_t limit);

// True when a file starts with the compiled table magic.
bool IsCompiledTable(std::string_view first_bytes);

// Letters, digits and _, not starting with a digit (NAME.COLUMN in the rules).
bool ValidTableColumnName(std::string_view name);

// "42", "3.5", "-0.25": the shortest text that reads back as `d` (number keys, messages).
std::string_view FormatNumber(double d, char (&buf)[32]);

}  // namespace tailor
