// Fuzzes the CSV table loader: any input must parse or give diagnostics, never crash; a
// loaded table must answer every lookup and cell read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tables/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tailor::Diagnostics diags;
  auto t = tailor::Table::ParseCsv(text, "fuzz.csv", "id", diags);
  if (t == nullptr) return 0;
  const int cols = static_cast<int>(t->columns().size());
  for (size_t r = 0; r < t->row_count() && r < 64; ++r) {
    for (int c = 0; c < cols; ++c) (void)t->Cell(static_cast<int64_t>(r), c);
    tailor::Value key = t->Cell(static_cast<int64_t>(r), t->key_column());
    if (t->FindRow(key) != static_cast<int64_t>(r)) __builtin_trap();  // every key finds its row
  }
  (void)t->FindRow(text.substr(0, 16));
  (void)t->NearestTo(48.85, 2.35);
  return 0;
}
