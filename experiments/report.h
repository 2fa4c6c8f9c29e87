// `tailorc report`: per-variant results of one experiment from JSON access logs
// (docs/experiments.md, "Report"). Streams records; memory is one fixed-size entry per
// visitor (a 64-bit hash of the visitor field, first exposure, last goal), whatever the log
// size. Order-independent: several files may be given in any order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "experiments/access_log.h"
#include "experiments/report_stats.h"

namespace tailor {

inline constexpr size_t kMaxReportVariants = 64;

struct ReportOptions {
  std::string experiment;
  // Goal pages, the `page` glob syntax: '*' matches within one path segment, a trailing '*'
  // matches the rest of the path; no '*': exact path. Matched against the path of "uri"
  // (query string removed). Only responses with status < 400 (or no status) count.
  std::string goal;
  // Configured variants in declaration order (the first is the baseline) and their weights.
  // Empty: variants are taken from the log ("control" first if present, then by name) with
  // equal weights.
  std::vector<std::string> variants;
  std::vector<double> weights;
  double srm_alpha = 0.001;  // SRM is flagged when its p-value is below this
};

struct VariantResult {
  std::string name;
  double expected_share = 0;  // configured weight / total
  uint64_t visitors = 0;      // unique visitors exposed
  uint64_t converters = 0;    // of those, with a goal request after their first exposure
  double rate = 0;
  Interval rate_ci;           // 95 % Wilson
  // Versus the first variant (absent for the first one, and relative when its rate is 0).
  std::optional<double> uplift_abs;
  std::optional<double> uplift_rel;
  std::optional<double> z;
  std::optional<double> p_value;  // two-sided two-proportion z-test
};

struct ReportResult {
  std::string experiment;
  std::string goal;
  uint64_t lines = 0;
  uint64_t bad_lines = 0;             // not JSON, no parsable time, too long: skipped
  uint64_t lines_without_visitor = 0;
  uint64_t exposure_lines = 0;        // lines naming the experiment
  uint64_t goal_lines = 0;
  uint64_t unknown_variant_lines = 0; // exposures to a variant not in the configuration
  uint64_t visitors_in_several_variants = 0;  // excluded from the results
  bool weights_configured = false;
  std::vector<VariantResult> variants;
  ChiSquareResult srm;
  bool srm_flag = false;
};

class ExperimentReport {
 public:
  explicit ExperimentReport(ReportOptions options);
  ~ExperimentReport();
  ExperimentReport(const ExperimentReport&) = delete;
  ExperimentReport& operator=(const ExperimentReport&) = delete;

  // One raw log line (parsed here; a bad line is counted and skipped).
  void AddLine(std::string_view line);
  // A line the reader could not deliver (too long): counted as bad.
  void AddBadLine() {
    ++result_.lines;
    ++result_.bad_lines;
  }
  // An already parsed record (counts as one line).
  void AddRecord(const AccessLogRecord& record);

  ReportResult Finish() const;

 private:
  struct Entry;
  int VariantIndex(std::string_view name);
  Entry* FindOrInsert(uint64_t key);
  void Grow();

  ReportOptions options_;
  ReportResult result_;  // the counters; variants filled by Finish
  std::vector<std::string> variant_names_;
  AccessLogRecord record_;
  uint64_t seq_ = 0;
  Entry* table_ = nullptr;
  size_t capacity_ = 0;  // power of two
  size_t size_ = 0;
};

// The goal pattern syntax (see ReportOptions::goal).
bool GoalPathMatch(std::string_view pattern, std::string_view path);

// Human-readable table and machine-readable JSON.
std::string FormatReportText(const ReportResult& r);
std::string FormatReportJson(const ReportResult& r);

}  // namespace tailor
