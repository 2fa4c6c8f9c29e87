#include "experiments/report.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

namespace tailor {

// One visitor. Times are compared as (time_ms, line sequence) so that equal timestamps
// (second-resolution logs) fall back to log order.
struct ExperimentReport::Entry {
  uint64_t key;          // XXH3 of the visitor field; 0 = empty slot
  int64_t first_time;    // first exposure
  uint64_t first_seq;    // 0 = never exposed
  int64_t goal_time;     // latest goal request
  uint64_t goal_seq;     // 0 = no goal request
  int16_t variant;       // of the first exposure; -1 = none
  bool several;          // exposed to more than one variant
};

namespace {

bool Before(int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) {
  return t1 < t2 || (t1 == t2 && s1 < s2);
}

bool Match(std::string_view p, std::string_view s, int depth) {
  if (depth > 32) return false;
  while (!p.empty()) {
    if (p[0] == '*') {
      if (p.size() == 1) return true;  // a final '*' takes the rest of the path
      for (size_t k = 0;; ++k) {       // '*' stays within its path segment
        if (Match(p.substr(1), s.substr(k), depth + 1)) return true;
        if (k == s.size() || s[k] == '/') return false;
      }
    }
    if (s.empty() || p[0] != s[0]) return false;
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

bool GoalPathMatch(std::string_view pattern, std::string_view path) {
  return Match(pattern, path, 0);
}

ExperimentReport::ExperimentReport(ReportOptions options) : options_(std::move(options)) {
  result_.experiment = options_.experiment;
  result_.goal = options_.goal;
  result_.weights_configured = !options_.variants.empty();
  variant_names_ = options_.variants;
  capacity_ = 1 << 16;
  table_ = static_cast<Entry*>(std::calloc(capacity_, sizeof(Entry)));
  if (table_ == nullptr) throw std::bad_alloc();
}

ExperimentReport::~ExperimentReport() { std::free(table_); }

int ExperimentReport::VariantIndex(std::string_view name) {
  for (size_t i = 0; i < variant_names_.size(); ++i) {
    if (variant_names_[i] == name) return static_cast<int>(i);
  }
  if (result_.weights_configured || variant_names_.size() >= kMaxReportVariants) return -1;
  variant_names_.emplace_back(name);
  return static_cast<int>(variant_names_.size() - 1);
}

void ExperimentReport::Grow() {
  size_t old_capacity = capacity_;
  Entry* old = table_;
  capacity_ *= 2;
  table_ = static_cast<Entry*>(std::calloc(capacity_, sizeof(Entry)));
  if (table_ == nullptr) throw std::bad_alloc();
  size_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].key == 0) continue;
    *FindOrInsert(old[i].key) = old[i];
  }
  std::free(old);
}

ExperimentReport::Entry* ExperimentReport::FindOrInsert(uint64_t key) {
  if ((size_ + 1) * 10 > capacity_ * 7) Grow();
  size_t mask = capacity_ - 1;
  for (size_t i = key & mask;; i = (i + 1) & mask) {
    Entry& e = table_[i];
    if (e.key == key) return &e;
    if (e.key == 0) {
      e.key = key;
      e.variant = -1;
      ++size_;
      return &e;
    }
  }
}

void ExperimentReport::AddLine(std::string_view line) {
  if (!ParseAccessLogLine(line, &record_)) {
    ++result_.lines;
    ++result_.bad_lines;
    return;
  }
  AddRecord(record_);
}

void ExperimentReport::AddRecord(const AccessLogRecord& r) {
  ++result_.lines;
  const uint64_t seq = ++seq_;
  if (!r.has_time) {
    ++result_.bad_lines;
    return;
  }
  if (r.visitor.empty()) {
    ++result_.lines_without_visitor;
    return;
  }
  std::string_view variant = FindExperimentVariant(r.experiments, options_.experiment);
  std::string_view path = r.uri.substr(0, r.uri.find('?'));
  bool goal = (r.status == 0 || r.status < 400) && GoalPathMatch(options_.goal, path);
  if (variant.empty() && !goal) return;

  uint64_t key = XXH3_64bits(r.visitor.data(), r.visitor.size());
  if (key == 0) key = 1;
  Entry* e = FindOrInsert(key);
  if (!variant.empty()) {
    ++result_.exposure_lines;
    int v = VariantIndex(variant);
    if (v < 0) {
      ++result_.unknown_variant_lines;
    } else if (e->first_seq == 0) {
      e->variant = static_cast<int16_t>(v);
      e->first_time = r.time_ms;
      e->first_seq = seq;
    } else {
      if (e->variant != v) e->several = true;
      if (Before(r.time_ms, seq, e->first_time, e->first_seq)) {
        e->variant = static_cast<int16_t>(v);
        e->first_time = r.time_ms;
        e->first_seq = seq;
      }
    }
  }
  if (goal) {
    ++result_.goal_lines;
    if (e->goal_seq == 0 || Before(e->goal_time, e->goal_seq, r.time_ms, seq)) {
      e->goal_time = r.time_ms;
      e->goal_seq = seq;
    }
  }
}

ReportResult ExperimentReport::Finish() const {
  ReportResult r = result_;
  // Variant order: configured order, else "control" first and then by name.
  std::vector<size_t> order(variant_names_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!r.weights_configured) {
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      bool ca = variant_names_[a] == "control", cb = variant_names_[b] == "control";
      if (ca != cb) return ca;
      return variant_names_[a] < variant_names_[b];
    });
  }
  std::vector<uint64_t> visitors(variant_names_.size(), 0), converters(variant_names_.size(), 0);
  for (size_t i = 0; i < capacity_; ++i) {
    const Entry& e = table_[i];
    if (e.key == 0 || e.first_seq == 0 || e.variant < 0) continue;
    if (e.several) {
      ++r.visitors_in_several_variants;
      continue;
    }
    ++visitors[static_cast<size_t>(e.variant)];
    if (e.goal_seq != 0 && Before(e.first_time, e.first_seq, e.goal_time, e.goal_seq)) {
      ++converters[static_cast<size_t>(e.variant)];
    }
  }

  double total_weight = 0;
  std::vector<double> weights(order.size(), 1.0);
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    if (r.weights_configured && i < options_.weights.size()) weights[k] = options_.weights[i];
    total_weight += weights[k];
  }
  std::vector<uint64_t> observed;
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    VariantResult v;
    v.name = variant_names_[i];
    v.expected_share = total_weight > 0 ? weights[k] / total_weight : 0;
    v.visitors = visitors[i];
    v.converters = converters[i];
    v.rate = v.visitors ? static_cast<double>(v.converters) / static_cast<double>(v.visitors) : 0;
    v.rate_ci = WilsonInterval(v.converters, v.visitors);
    if (k > 0 && !r.variants.empty()) {
      const VariantResult& base = r.variants[0];
      if (base.visitors > 0 && v.visitors > 0) {
        v.uplift_abs = v.rate - base.rate;
        if (base.rate > 0) v.uplift_rel = (v.rate - base.rate) / base.rate;
        v.z = TwoProportionZ(base.converters, base.visitors, v.converters, v.visitors);
        v.p_value = TwoProportionPValue(base.converters, base.visitors, v.converters, v.visitors);
      }
    }
    observed.push_back(v.visitors);
    r.variants.push_back(std::move(v));
  }
  r.srm = ChiSquareGoodnessOfFit(observed, weights);
  r.srm_flag = r.srm.degrees_of_freedom > 0 && r.srm.p_value < options_.srm_alpha;
  return r;
}

namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A statistic in the JSON report: 10 significant digits (a whole number without a fraction),
// null when not finite.
nlohmann::ordered_json JsonNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  const double rounded = std::strtod(Fmt("%.10g", v).c_str(), nullptr);
  if (rounded == std::floor(rounded) && std::fabs(rounded) < 1e15)
    return static_cast<int64_t>(rounded);
  return rounded;
}

nlohmann::ordered_json JsonOptional(const std::optional<double>& v) {
  return v ? JsonNumber(*v) : nullptr;
}

std::string Percent(double v) { return Fmt("%.2f%%", v * 100); }

std::string PValue(double p) { return p < 0.0001 ? "<0.0001" : Fmt("%.4f", p); }

}  // namespace

std::string FormatReportText(const ReportResult& r) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "experiment %s, goal %s\n", r.experiment.c_str(),
                r.goal.c_str());
  out += line;
  std::snprintf(line, sizeof line,
                "lines %llu (bad %llu, without visitor %llu), exposures %llu, goal requests %llu\n",
                static_cast<unsigned long long>(r.lines),
                static_cast<unsigned long long>(r.bad_lines),
                static_cast<unsigned long long>(r.lines_without_visitor),
                static_cast<unsigned long long>(r.exposure_lines),
                static_cast<unsigned long long>(r.goal_lines));
  out += line;
  if (r.unknown_variant_lines) {
    std::snprintf(line, sizeof line, "warning: %llu exposures to variants not in the rules\n",
                  static_cast<unsigned long long>(r.unknown_variant_lines));
    out += line;
  }
  if (r.visitors_in_several_variants) {
    std::snprintf(line, sizeof line,
                  "warning: %llu visitors seen in several variants were left out\n",
                  static_cast<unsigned long long>(r.visitors_in_several_variants));
    out += line;
  }
  out += "\n";
  std::snprintf(line, sizeof line, "%-16s %10s %10s %8s %19s %10s %10s %9s\n", "variant",
                "visitors", "converted", "rate", "95% CI", "uplift", "relative", "p-value");
  out += line;
  for (const VariantResult& v : r.variants) {
    std::string ci = "[" + Percent(v.rate_ci.low) + ", " + Percent(v.rate_ci.high) + "]";
    std::string up = v.uplift_abs ? Fmt("%+.2fpp", *v.uplift_abs * 100) : "-";
    std::string rel = v.uplift_rel ? Fmt("%+.1f%%", *v.uplift_rel * 100) : "-";
    std::string p = v.p_value ? PValue(*v.p_value) : "-";
    std::snprintf(line, sizeof line, "%-16s %10llu %10llu %8s %19s %10s %10s %9s\n",
                  v.name.c_str(), static_cast<unsigned long long>(v.visitors),
                  static_cast<unsigned long long>(v.converters), Percent(v.rate).c_str(),
                  ci.c_str(), up.c_str(), rel.c_str(), p.c_str());
    out += line;
  }
  out += "\n";
  std::string expected;
  for (const VariantResult& v : r.variants) {
    if (!expected.empty()) expected += " / ";
    expected += Fmt("%.4g%%", v.expected_share * 100);
  }
  std::snprintf(line, sizeof line,
                "sample ratio (expected %s, %s): chi-square %.3f, df %d, p %s%s\n",
                expected.c_str(), r.weights_configured ? "from the rules" : "equal weights",
                r.srm.statistic, r.srm.degrees_of_freedom, PValue(r.srm.p_value).c_str(),
                r.srm_flag ? "  SAMPLE RATIO MISMATCH: do not trust these results" : "");
  out += line;
  return out;
}

std::string FormatReportJson(const ReportResult& r) {
  nlohmann::ordered_json variants = nlohmann::ordered_json::array();
  for (const VariantResult& v : r.variants) {
    variants.push_back({{"name", v.name},
                        {"expected_share", JsonNumber(v.expected_share)},
                        {"visitors", v.visitors},
                        {"converters", v.converters},
                        {"rate", JsonNumber(v.rate)},
                        {"rate_ci95", {JsonNumber(v.rate_ci.low), JsonNumber(v.rate_ci.high)}},
                        {"uplift_abs", JsonOptional(v.uplift_abs)},
                        {"uplift_rel", JsonOptional(v.uplift_rel)},
                        {"z", JsonOptional(v.z)},
                        {"p_value", JsonOptional(v.p_value)}});
  }
  nlohmann::ordered_json report = {
      {"experiment", r.experiment},
      {"goal", r.goal},
      {"lines", r.lines},
      {"bad_lines", r.bad_lines},
      {"lines_without_visitor", r.lines_without_visitor},
      {"exposure_lines", r.exposure_lines},
      {"goal_lines", r.goal_lines},
      {"unknown_variant_lines", r.unknown_variant_lines},
      {"visitors_in_several_variants", r.visitors_in_several_variants},
      {"variants", std::move(variants)},
      {"srm",
       {{"weights", r.weights_configured ? "rules" : "equal"},
        {"chi_square", JsonNumber(r.srm.statistic)},
        {"df", r.srm.degrees_of_freedom},
        {"p_value", JsonNumber(r.srm.p_value)},
        {"mismatch", r.srm_flag}}}};
  // Names and the goal are copied as given; bytes that are not UTF-8 become U+FFFD.
  return report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace tailor
