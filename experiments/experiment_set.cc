#include "experiments/experiment_set.h"

// XXH3_state_t on the stack needs the static-linking part of the API.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "core/time.h"

namespace tailor {

namespace {

// Inputs up to this size are joined on the stack; longer ones are streamed (still no heap).
constexpr size_t kStackJoinSize = 512;

}  // namespace

uint32_t Bucket(std::string_view s, std::string_view u) {
  uint64_t h;
  if (s.size() + 1 + u.size() <= kStackJoinSize) {
    char buf[kStackJoinSize];
    if (!s.empty()) std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = ':';
    if (!u.empty()) std::memcpy(buf + s.size() + 1, u.data(), u.size());
    h = XXH3_64bits(buf, s.size() + 1 + u.size());
  } else {
    XXH3_state_t state;  // XXH_INLINE_ALL / static-linking API: a stack-allocated state
    XXH3_INITSTATE(&state);
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, s.data(), s.size());
    XXH3_64bits_update(&state, ":", 1);
    XXH3_64bits_update(&state, u.data(), u.size());
    h = XXH3_64bits_digest(&state);
  }
  return static_cast<uint32_t>(h % kBucketCount);
}

const char* UnitKindName(UnitKind kind) {
  switch (kind) {
    case UnitKind::kVisitor: return "visitor";
    case UnitKind::kCookie: return "cookie";
    case UnitKind::kHeader: return "header";
    case UnitKind::kIp: return "ip";
  }
  return "?";
}

std::optional<uint32_t> PercentToBasisPoints(double percent) {
  if (!std::isfinite(percent) || percent < 0 || percent > 1e6) return std::nullopt;
  return static_cast<uint32_t>(std::llround(percent * 100.0));
}

std::optional<uint32_t> ParsePercentBasisPoints(std::string_view text) {
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  uint64_t whole = 0;
  size_t i = 0;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
    if (whole > 1000000) return std::nullopt;
  }
  if (digits == 0) return std::nullopt;
  uint64_t frac = 0;
  if (i < text.size()) {
    if (text[i] != '.') return std::nullopt;
    ++i;
    size_t frac_digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++frac_digits) {
      frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (frac_digits == 0 || frac_digits > 2 || i != text.size()) return std::nullopt;
    if (frac_digits == 1) frac *= 10;
  }
  return static_cast<uint32_t>(whole * 100 + frac);
}

namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<int64_t> ParseExperimentDate(std::string_view text, bool end_of_day) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (text.size() < 10 || !ParseFixedDigits(text, 0, 4, &y) || text[4] != '-' ||
      !ParseFixedDigits(text, 5, 2, &mo) || text[7] != '-' ||
      !ParseFixedDigits(text, 8, 2, &d)) {
    return std::nullopt;
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1) return std::nullopt;
  if (d > kDays[mo - 1] + (mo == 2 && IsLeap(y) ? 1 : 0)) return std::nullopt;
  bool bare_date = text.size() == 10;
  if (!bare_date) {
    // "YYYY-MM-DDTHH:MM:SSZ" (or a space instead of 'T').
    if (text.size() != 20 || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' ||
        text[16] != ':' || text[19] != 'Z' || !ParseFixedDigits(text, 11, 2, &h) ||
        !ParseFixedDigits(text, 14, 2, &mi) || !ParseFixedDigits(text, 17, 2, &s) || h > 23 ||
        mi > 59 || s > 59) {
      return std::nullopt;
    }
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (bare_date && end_of_day) days += 1;
  return ((days * 24 + h) * 60 + mi) * 60000 + static_cast<int64_t>(s) * 1000;
}

namespace {

// Names appear in `$tailor_experiments` ("name:variant,...") and in logs: keep them to a
// character set that cannot collide with the separators.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxExperimentNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string Percent(uint32_t bp) {
  char buf[32];
  if (bp % 100 == 0) {
    std::snprintf(buf, sizeof buf, "%u%%", bp / 100);
  } else {
    std::snprintf(buf, sizeof buf, "%u.%02u%%", bp / 100, bp % 100);
  }
  return buf;
}

}  // namespace

std::optional<ExperimentSet> ExperimentSet::Build(const ExperimentSetSpec& spec,
                                                  Diagnostics& diags) {
  size_t errors_before = diags.error_count();
  ExperimentSet set;
  if (spec.holdout_bp > kBucketCount) {
    diags.Error(spec.holdout_file, spec.holdout_line, spec.holdout_column,
                "holdout " + Percent(spec.holdout_bp) + " is over 100%");
  }
  set.holdout_bp_ = spec.holdout_bp;
  if (spec.experiments.size() > kMaxExperiments) {
    const ExperimentSpec& e = spec.experiments[kMaxExperiments];
    diags.Error(e.file, e.line, e.column,
                "too many experiments (the limit is " + std::to_string(kMaxExperiments) + ")");
    return std::nullopt;
  }

  std::set<std::string, std::less<>> names;
  std::map<std::string, uint32_t, std::less<>> layer_used;  // layer -> bp allocated so far
  for (const ExperimentSpec& es : spec.experiments) {
    auto err = [&](const std::string& msg) { diags.Error(es.file, es.line, es.column, msg); };
    Experiment e;
    e.name = es.name;
    if (!IsValidName(es.name)) {
      err("experiment name \"" + es.name +
          "\" must be 1-64 characters among letters, digits, '_', '-' and '.'");
    } else if (!names.insert(es.name).second) {
      err("experiment \"" + es.name + "\" is declared twice");
    }
    e.unit = es.unit;
    e.unit_arg = es.unit_arg;
    if ((es.unit == UnitKind::kCookie || es.unit == UnitKind::kHeader) && es.unit_arg.empty()) {
      err(std::string("experiment \"") + es.name + "\": unit " + UnitKindName(es.unit) +
          "() needs a name");
    }
    e.salt = es.salt.empty() ? es.name : es.salt;
    if (e.salt.size() > kMaxSaltLength) {
      err("experiment \"" + es.name + "\": salt is longer than " +
          std::to_string(kMaxSaltLength) + " bytes");
    }
    if (es.traffic_bp > kBucketCount) {
      err("experiment \"" + es.name + "\": traffic " + Percent(es.traffic_bp) + " is over 100%");
    }
    e.traffic_bp = es.traffic_bp;

    if (!es.layer.empty()) {
      e.layer = es.layer;
      if (!IsValidName(es.layer)) {
        err("experiment \"" + es.name + "\": layer name \"" + es.layer + "\" is not valid");
      }
      if (es.layer_share_bp == 0 || es.layer_share_bp > kBucketCount) {
        err("experiment \"" + es.name + "\": layer share must be over 0% and at most 100%");
      } else {
        uint32_t& used = layer_used[es.layer];
        if (used + es.layer_share_bp > kBucketCount) {
          err("experiment \"" + es.name + "\": layer \"" + es.layer + "\" is over 100% (" +
              Percent(used) + " already taken, " + Percent(es.layer_share_bp) + " more asked)");
        } else {
          e.layer_begin = used;
          e.layer_end = used + es.layer_share_bp;
          used += es.layer_share_bp;
        }
      }
    }

    if (es.variants.empty()) {
      err("experiment \"" + es.name + "\" has no variants");
    } else if (es.variants.size() > kMaxVariantsPerExperiment) {
      err("experiment \"" + es.name + "\" has more than " +
          std::to_string(kMaxVariantsPerExperiment) + " variants");
    }
    uint64_t total = 0;
    std::set<std::string, std::less<>> variant_names;
    for (const VariantSpec& v : es.variants) {
      if (!IsValidName(v.name)) {
        err("experiment \"" + es.name + "\": variant name \"" + v.name + "\" is not valid");
      } else if (!variant_names.insert(v.name).second) {
        err("experiment \"" + es.name + "\": variant \"" + v.name + "\" is listed twice");
      }
      if (v.weight == 0) {
        err("experiment \"" + es.name + "\": variant \"" + v.name + "\" needs a positive weight");
      }
      total += v.weight;
      e.variant_names.push_back(v.name);
      e.variant_weights.push_back(v.weight);
    }
    if (total > kMaxTotalWeight) {
      err("experiment \"" + es.name + "\": weights add up to more than " +
          std::to_string(kMaxTotalWeight));
    }
    if (total > 0) {
      uint64_t cum = 0;
      uint32_t prev = 0;
      for (size_t i = 0; i < es.variants.size(); ++i) {
        cum += es.variants[i].weight;
        uint32_t cutoff = static_cast<uint32_t>(cum * kBucketCount / total);
        if (cutoff == prev && es.variants[i].weight > 0) {
          diags.Warning(es.file, es.line, es.column,
                        "experiment \"" + es.name + "\": variant \"" + es.variants[i].name +
                            "\" is too light to receive any unit (under 1/10000 of the weight)");
        }
        e.variant_cutoffs.push_back(cutoff);
        prev = cutoff;
      }
    }

    if (!es.start.empty()) {
      auto t = ParseExperimentDate(es.start, false);
      if (!t) {
        err("experiment \"" + es.name + "\": start \"" + es.start +
            "\" is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
      } else {
        e.start_ms = *t;
      }
    }
    if (!es.end.empty()) {
      auto t = ParseExperimentDate(es.end, true);
      if (!t) {
        err("experiment \"" + es.name + "\": end \"" + es.end +
            "\" is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
      } else {
        e.end_ms = *t;
      }
    }
    if (e.start_ms != INT64_MIN && e.end_ms != INT64_MAX && e.end_ms <= e.start_ms) {
      err("experiment \"" + es.name + "\": end is not after start");
    }

    e.layer_key = "layer:" + e.layer;
    e.traffic_key = "traffic:" + e.salt;
    e.variant_key = "variant:" + e.salt;
    set.experiments_.push_back(std::move(e));
  }
  if (diags.error_count() != errors_before) return std::nullopt;
  return set;
}

std::optional<size_t> ExperimentSet::Find(std::string_view name) const {
  for (size_t i = 0; i < experiments_.size(); ++i) {
    if (experiments_[i].name == name) return i;
  }
  return std::nullopt;
}

int ExperimentSet::FindVariant(size_t index, std::string_view variant) const {
  if (index >= experiments_.size()) return -1;
  const auto& names = experiments_[index].variant_names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == variant) return static_cast<int>(i);
  }
  return -1;
}

bool ExperimentSet::InHoldout(std::string_view unit_value) const {
  return holdout_bp_ > 0 && Bucket("holdout", unit_value) < holdout_bp_;
}

int ExperimentSet::Assign(size_t index, std::string_view unit_value) const {
  if (index >= experiments_.size() || unit_value.empty()) return kNotEnrolled;
  const Experiment& e = experiments_[index];
  if (InHoldout(unit_value)) return kNotEnrolled;
  if (!e.layer.empty()) {
    uint32_t b = Bucket(e.layer_key, unit_value);
    if (b < e.layer_begin || b >= e.layer_end) return kNotEnrolled;
  }
  if (e.traffic_bp < kBucketCount && Bucket(e.traffic_key, unit_value) >= e.traffic_bp) {
    return kNotEnrolled;
  }
  if (e.variant_cutoffs.empty()) return kNotEnrolled;
  uint32_t b = Bucket(e.variant_key, unit_value);
  for (size_t i = 0; i < e.variant_cutoffs.size(); ++i) {
    if (e.variant_cutoffs[i] > b) return static_cast<int>(i);
  }
  return kNotEnrolled;  // unreachable: the last cut-off is 10000
}

bool ExperimentSet::ActiveAt(size_t index, int64_t now_ms) const {
  if (index >= experiments_.size()) return false;
  const Experiment& e = experiments_[index];
  return now_ms >= e.start_ms && now_ms < e.end_ms;
}

std::string_view ExperimentSet::VariantName(size_t index, int variant) const {
  if (index >= experiments_.size() || variant < 0) return {};
  const auto& names = experiments_[index].variant_names;
  if (static_cast<size_t>(variant) >= names.size()) return {};
  return names[static_cast<size_t>(variant)];
}

std::optional<std::string_view> ExperimentSet::UnitValue(size_t index, const RequestView& request,
                                                         std::string_view visitor_id) const {
  if (index >= experiments_.size()) return std::nullopt;
  const Experiment& e = experiments_[index];
  std::optional<std::string_view> v;
  switch (e.unit) {
    case UnitKind::kVisitor: v = visitor_id; break;
    case UnitKind::kCookie: v = request.FindCookie(e.unit_arg); break;
    case UnitKind::kHeader: v = request.FindHeader(e.unit_arg); break;
    case UnitKind::kIp: v = request.client_ip; break;
  }
  if (!v || v->empty()) return std::nullopt;
  return v;
}

size_t ExperimentSet::FormattedSize(std::span<const ExperimentChoice> choices) const {
  size_t n = 0;
  bool first = true;
  for (const ExperimentChoice& c : choices) {
    std::string_view v = VariantName(c.experiment, static_cast<int>(c.variant));
    if (v.empty()) continue;
    n += (first ? 0 : 1) + experiments_[c.experiment].name.size() + 1 + v.size();
    first = false;
  }
  return n;
}

size_t ExperimentSet::Format(std::span<const ExperimentChoice> choices, char* out,
                             size_t cap) const {
  size_t n = 0;
  for (const ExperimentChoice& c : choices) {
    std::string_view v = VariantName(c.experiment, static_cast<int>(c.variant));
    if (v.empty()) continue;
    const std::string& name = experiments_[c.experiment].name;
    size_t need = (n == 0 ? 0 : 1) + name.size() + 1 + v.size();
    if (n + need > cap) break;  // complete entries only
    if (n != 0) out[n++] = ',';
    std::memcpy(out + n, name.data(), name.size());
    n += name.size();
    out[n++] = ':';
    std::memcpy(out + n, v.data(), v.size());
    n += v.size();
  }
  return n;
}

}  // namespace tailor
