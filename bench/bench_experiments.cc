// Experiments: the request-path costs (bucketing, assignment, $tailor_experiments, preview
// token verification) and the report's per-line cost.
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

#include "experiments/experiment_set.h"
#include "experiments/preview_token.h"
#include "experiments/report.h"

namespace tailor {
namespace {

std::vector<std::string> VisitorIds(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back("Zk3v9Qp0xWmB" + std::to_string(i * 7919 + 13));
  return ids;
}

ExperimentSet BenchSet() {
  ExperimentSetSpec spec;
  spec.holdout_bp = 500;
  ExperimentSpec hero;
  hero.name = "hero";
  hero.layer = "homepage";
  hero.layer_share_bp = 5000;
  hero.traffic_bp = 2000;
  hero.variants = {{"control", 50}, {"bold", 50}};
  ExperimentSpec pricing;
  pricing.name = "pricing";
  pricing.variants = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
  spec.experiments = {hero, pricing};
  Diagnostics diags;
  return *ExperimentSet::Build(spec, diags);
}

void BM_Bucket(benchmark::State& state) {
  auto ids = VisitorIds(1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Bucket("variant:hero-2026", ids[i++ & 1023]));
  }
}
BENCHMARK(BM_Bucket);

// Worst case for a layered experiment: holdout + layer + traffic + variant = 4 hashes.
void BM_AssignLayered(benchmark::State& state) {
  ExperimentSet set = BenchSet();
  auto ids = VisitorIds(1024);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(set.Assign(0, ids[i++ & 1023]));
}
BENCHMARK(BM_AssignLayered);

void BM_AssignFourVariants(benchmark::State& state) {
  ExperimentSet set = BenchSet();
  auto ids = VisitorIds(1024);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(set.Assign(1, ids[i++ & 1023]));
}
BENCHMARK(BM_AssignFourVariants);

void BM_FormatExperiments(benchmark::State& state) {
  ExperimentSet set = BenchSet();
  std::array<ExperimentChoice, 2> choices = {{{0, 1}, {1, 2}}};
  char buf[128];
  for (auto _ : state) benchmark::DoNotOptimize(set.Format(choices, buf, sizeof buf));
}
BENCHMARK(BM_FormatExperiments);

void BM_VerifyPreviewToken(benchmark::State& state) {
  PreviewKey key = DerivePreviewKey("bench-secret-0123456789");
  std::string token =
      MakePreviewToken(key, {{"hero", "bold"}, {"pricing", "c"}}, "home-bold", 1795459603 + 86400)
          .value();
  char scratch[kPreviewScratchSize];
  PreviewToken out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyPreviewToken(token, key, 1795459603000, scratch, &out));
  }
}
BENCHMARK(BM_VerifyPreviewToken);

// Report: parse + aggregate one documented JSON log line (the 10-million-line figure in
// docs/experiments.md is this times 10^7, plus reading).
void BM_ReportLine(benchmark::State& state) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4096; ++i) {
    std::string v = "h" + std::to_string(i * 2654435761u % 100000);
    lines.push_back("{\"time\":\"2026-11-23T18:46:" + std::to_string(10 + i % 50) +
                    "+00:00\",\"visitor_hash\":\"" + v + "\",\"experiments\":\"" +
                    (i % 3 ? "hero:bold,pricing:a" : "") +
                    "\",\"variant\":\"home-bold\",\"uri\":\"" + (i % 7 ? "/" : "/checkout/done") +
                    "\",\"status\":\"200\"}");
  }
  ReportOptions o;
  o.experiment = "hero";
  o.goal = "/checkout/*";
  ExperimentReport report(o);
  size_t i = 0;
  for (auto _ : state) report.AddLine(lines[i++ & 4095]);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ReportLine);

}  // namespace
}  // namespace tailor
