// A/B experiments: the deterministic bucketing spec of docs/experiments.md, compiled once at
// config time into an immutable ExperimentSet. The request path only calls Assign(), which
// hashes the unit value with precomputed prefixes and compares against precomputed cut-offs:
// no heap allocation, no locks, no syscalls.
//
// Audience (`when`), bots and consent are NOT checked here: the caller evaluates them before
// calling Assign(). Dates have a helper (ActiveAt) because they are part of the experiment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/request_view.h"

namespace tailor {

// Bucketing space: every b(s, u) is in [0, kBucketCount).
inline constexpr uint32_t kBucketCount = 10000;

// b(s, u) = XXH3_64bits(bytes(s) + ":" + bytes(u)) mod 10000 (xxHash XXH3, 64-bit, seed 0).
// Allocation-free: short inputs are joined in a stack buffer, long ones streamed.
uint32_t Bucket(std::string_view s, std::string_view u);

// Limits checked by ExperimentSet::Build.
inline constexpr size_t kMaxExperiments = 256;
inline constexpr size_t kMaxVariantsPerExperiment = 64;
inline constexpr size_t kMaxExperimentNameLength = 64;  // experiment, variant, layer names
inline constexpr size_t kMaxSaltLength = 256;
inline constexpr uint64_t kMaxTotalWeight = 1000000000;

// How the unit of randomization is found in a request.
enum class UnitKind : unsigned char {
  kVisitor,  // the visitor cookie's ID (default)
  kCookie,   // cookie("x"): the raw value of cookie x
  kHeader,   // header("X"): the value of request header X
  kIp,       // the client's textual IP address
};

struct VariantSpec {
  std::string name;
  uint32_t weight = 0;  // positive integer
};

// One `experiment NAME { ... }` block, as plain data (built by the rules parser, by tests, or
// by the CLI). Percentages are in basis points (percent × 100): "20.15%" is 2015; see
// PercentToBasisPoints / ParsePercentBasisPoints.
struct ExperimentSpec {
  std::string name;
  UnitKind unit = UnitKind::kVisitor;
  std::string unit_arg;          // cookie or header name for kCookie / kHeader
  uint32_t traffic_bp = 10000;   // share of eligible units enrolled, 0..10000
  std::string layer;             // empty: not in a layer
  uint32_t layer_share_bp = 0;   // the experiment's share of its layer, 1..10000
  std::vector<VariantSpec> variants;  // declaration order; the first is the control
  std::string salt;              // empty: the name
  std::string start;             // "" or "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SSZ" (UTC)
  std::string end;               // same; a bare date includes that whole day (UTC)
  // Where the block is, for diagnostics.
  std::string file;
  int line = 0;
  int column = 0;
};

struct ExperimentSetSpec {
  uint32_t holdout_bp = 0;  // `holdout 5%` -> 500
  std::string holdout_file;  // location of the holdout statement, for diagnostics
  int holdout_line = 0;
  int holdout_column = 0;
  std::vector<ExperimentSpec> experiments;  // declaration order (layer ranges follow it)
};

// 20.15 -> 2015. Rounds to the nearest basis point; negative or non-finite -> nullopt.
std::optional<uint32_t> PercentToBasisPoints(double percent);
// Exact text parse: "20", "20.1", "20.15", optionally followed by '%'; at most two decimals.
std::optional<uint32_t> ParsePercentBasisPoints(std::string_view text);
// "2026-12-01" -> ms since the epoch at 00:00:00 UTC; "2026-12-01T10:30:00Z" also accepted.
// With end_of_day, a bare date gives the first ms of the NEXT day (an exclusive end).
std::optional<int64_t> ParseExperimentDate(std::string_view text, bool end_of_day);

// A compiled experiment. All cut-offs and hash prefixes are precomputed.
struct Experiment {
  std::string name;
  UnitKind unit = UnitKind::kVisitor;
  std::string unit_arg;
  std::string salt;
  std::string layer;                  // empty: none
  uint32_t layer_begin = 0;           // owned layer range [layer_begin, layer_end)
  uint32_t layer_end = kBucketCount;
  uint32_t traffic_bp = 10000;
  std::vector<std::string> variant_names;
  std::vector<uint32_t> variant_weights;
  std::vector<uint32_t> variant_cutoffs;  // floor(cum × 10000 / total), increasing, last 10000
  int64_t start_ms = INT64_MIN;       // inclusive
  int64_t end_ms = INT64_MAX;         // exclusive
  // Precomputed hash prefixes (without the ':' separator, which Bucket adds).
  std::string layer_key;    // "layer:" + layer
  std::string traffic_key;  // "traffic:" + salt
  std::string variant_key;  // "variant:" + salt
};

// One enrolment, for the `$tailor_experiments` text.
struct ExperimentChoice {
  uint32_t experiment = 0;  // index in the ExperimentSet
  uint32_t variant = 0;     // index in that experiment's variants
};

class ExperimentSet {
 public:
  static constexpr int kNotEnrolled = -1;

  ExperimentSet() = default;  // empty set: nothing enrols

  // Checks the spec (names, weights, shares, dates, limits) and precomputes everything.
  // Errors go to `diags` with the spec's file/line/column; nullopt when there is any error.
  static std::optional<ExperimentSet> Build(const ExperimentSetSpec& spec, Diagnostics& diags);

  size_t size() const { return experiments_.size(); }
  const Experiment& experiment(size_t index) const { return experiments_[index]; }
  const std::vector<Experiment>& experiments() const { return experiments_; }
  uint32_t holdout_bp() const { return holdout_bp_; }
  // Index of the experiment with that name, or nullopt.
  std::optional<size_t> Find(std::string_view name) const;
  // Index of a variant by name in experiment `index`, or -1.
  int FindVariant(size_t index, std::string_view variant) const;

  // The bucketing spec, steps 1-4: the variant index `unit_value` gets in experiment `index`,
  // or kNotEnrolled (holdout, other layer slot, outside traffic, or empty unit value).
  // Does not look at dates, audience, bots or consent. Allocation-free.
  int Assign(size_t index, std::string_view unit_value) const;
  // Step 1 alone: b("holdout", u) < holdout × 100.
  bool InHoldout(std::string_view unit_value) const;
  // True when now_ms is inside the experiment's [start, end) window (no dates: always).
  bool ActiveAt(size_t index, int64_t now_ms) const;
  // Variant name, or "" for kNotEnrolled / out of range.
  std::string_view VariantName(size_t index, int variant) const;

  // The unit value of experiment `index` for this request: the visitor ID, a cookie, a header
  // or the client IP. nullopt (not enrolled) when the request has none.
  std::optional<std::string_view> UnitValue(size_t index, const RequestView& request,
                                            std::string_view visitor_id) const;

  // `$tailor_experiments`: "hero:bold,pricing:control" for the given choices, in their order.
  // FormattedSize gives the exact length; Format writes at most `cap` bytes, complete entries
  // only, and returns the length written (no NUL). Choices out of range are skipped.
  size_t FormattedSize(std::span<const ExperimentChoice> choices) const;
  size_t Format(std::span<const ExperimentChoice> choices, char* out, size_t cap) const;

 private:
  uint32_t holdout_bp_ = 0;
  std::vector<Experiment> experiments_;
};

// "visitor", "cookie", "header", "ip".
const char* UnitKindName(UnitKind kind);

}  // namespace tailor
