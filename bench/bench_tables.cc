// Tables: loading a generated 1 M-row CSV (target <= 2 s, file read included) and key
// lookups (target <= 50 ns) on 1 k-, 8 k- and 1 M-row tables with random existing keys: the
// cost is the cache misses (slot + row record), so it grows with the table's size.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tables/table.h"

namespace tailor {
namespace {

// id,tier,total_spend,opted_in,city: a CRM export.
std::string MakeCsv(size_t rows) {
  static const char* const kTiers[] = {"bronze", "silver", "gold", "platinum"};
  static const char* const kCities[] = {"Paris", "Berlin", "London", "Lyon", "München"};
  std::string csv = "id,tier:string,total_spend:number,opted_in:bool,city\n";
  csv.reserve(rows * 48);
  char line[160];
  for (size_t i = 0; i < rows; ++i) {
    int n = std::snprintf(line, sizeof line, "cust-%08zu,%s,%zu.%02zu,%s,%s\n", i * 2654435761u % 100000000,
                          kTiers[i % 4], (i * 37) % 10000, i % 100, (i % 3) ? "true" : "false",
                          kCities[i % 5]);
    csv.append(line, static_cast<size_t>(n));
  }
  return csv;
}

const std::string& CsvFile() {
  static const std::string path = [] {
    std::string p = "/tmp/tailor-bench-table-" + std::to_string(getpid()) + ".csv";
    std::ofstream(p) << MakeCsv(1'000'000);
    std::atexit([] { std::remove(CsvFile().c_str()); });
    return p;
  }();
  return path;
}

void BM_TableLoadCsv1M(benchmark::State& state) {
  const std::string& path = CsvFile();
  size_t rows = 0;
  for (auto _ : state) {
    Diagnostics d;
    auto t = Table::LoadCsv(path, "id", d);
    if (!t) {
      state.SkipWithError("load failed");
      break;
    }
    rows = t->row_count();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_TableLoadCsv1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void TableLookup(benchmark::State& state, size_t rows) {
  Diagnostics d;
  auto t = Table::ParseCsv(MakeCsv(rows), "bench.csv", "id", d);
  if (!t) {
    state.SkipWithError("parse failed");
    return;
  }
  // Existing keys in random order, as request keys would be.
  std::vector<std::string> keys;
  for (size_t r = 0; r < rows; ++r) keys.emplace_back(t->Cell(static_cast<int64_t>(r), 0).str);
  std::shuffle(keys.begin(), keys.end(), std::mt19937(42));
  keys.resize(std::min<size_t>(keys.size(), 65536));
  const int tier = t->ColumnIndex("tier");
  size_t i = 0;
  for (auto _ : state) {
    Value v = t->Lookup(Value::String(keys[i++ & (keys.size() - 1)]), tier);
    benchmark::DoNotOptimize(v);
  }
}
void BM_TableLookup1k(benchmark::State& state) { TableLookup(state, 1024); }
BENCHMARK(BM_TableLookup1k);
void BM_TableLookup10k(benchmark::State& state) { TableLookup(state, 8192); }
BENCHMARK(BM_TableLookup10k);
void BM_TableLookup1M(benchmark::State& state) { TableLookup(state, 1'000'000); }
BENCHMARK(BM_TableLookup1M);

}  // namespace
}  // namespace tailor
