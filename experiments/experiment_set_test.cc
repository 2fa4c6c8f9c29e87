#include "experiments/experiment_set.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

namespace tailor {
namespace {

// Test vectors of docs/experiments.md. The expected buckets were computed independently of this
// code with Debian's xxhsum 0.8.1: `printf '%s:%s' S U | xxhsum -H3 -`, then hex -> integer
// mod 10000 (e.g. "holdout:abc" -> 0xce32d6aa580d9c01 -> 8913).
struct BucketVector {
  const char* s;
  const char* u;
  uint32_t bucket;
};
constexpr BucketVector kBucketVectors[] = {
    {"holdout", "v_0001", 4329},
    {"holdout", "v_0002", 7196},
    {"holdout", "3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", 8804},
    {"layer:homepage", "v_0001", 6592},
    {"layer:homepage", "v_0002", 3396},
    {"traffic:hero", "v_0001", 2673},
    {"traffic:hero", "v_0002", 805},
    {"traffic:hero-2026", "v_0001", 9792},
    {"variant:hero", "v_0001", 4560},
    {"variant:hero", "v_0002", 4616},
    {"variant:hero-2026", "v_0001", 2515},
    {"variant:hero-2026", "3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", 6293},
    {"traffic:pricing", "203.0.113.9", 954},
    {"variant:pricing", "203.0.113.9", 3352},
    {"variant:pricing", "2001:db8::1", 3685},
    {"variant:hero", "", 4183},
    {"traffic:hero", "\xc3\xa9l\xc3\xa8ve-\xc3\x9f-\xe6\x97\xa5\xe6\x9c\xac", 4303},  // élève-ß-日本
    {"variant:checkout", "abc", 4905},
    {"layer:checkout", "abc", 5687},
    {"holdout", "abc", 8913},
    {"traffic:checkout", "abc", 2405},
    {"variant:x", "Q", 2293},
};

TEST(BucketTest, SpecVectors) {
  for (const BucketVector& v : kBucketVectors) {
    EXPECT_EQ(Bucket(v.s, v.u), v.bucket) << v.s << ":" << v.u;
  }
}

TEST(BucketTest, LongInputIsStreamedWithTheSameResult) {
  // 613 bytes: over the stack buffer, so the streaming path runs. xxhsum -H3 gives
  // 0xd1caf98fd7c62175 for "variant:hero:" + 600 × 'u' -> 6821.
  std::string u(600, 'u');
  EXPECT_EQ(Bucket("variant:hero", u), 6821u);
  // Around the stack buffer's size, both paths equal XXH3 of the joined bytes.
  for (size_t n = 490; n < 530; ++n) {
    std::string s = "traffic:" + std::string(n - 8, 's');
    std::string joined = s + ":" + "visitor";
    EXPECT_EQ(Bucket(s, "visitor"), XXH3_64bits(joined.data(), joined.size()) % 10000) << n;
  }
}

ExperimentSetSpec VectorSpec() {
  // The example set of docs/experiments.md ("Worked example").
  ExperimentSetSpec spec;
  spec.holdout_bp = 500;
  ExperimentSpec hero;
  hero.name = "hero";
  hero.salt = "hero-2026";
  hero.layer = "homepage";
  hero.layer_share_bp = 5000;
  hero.traffic_bp = 6000;
  hero.variants = {{"control", 50}, {"bold", 50}};
  ExperimentSpec banner;
  banner.name = "banner";
  banner.layer = "homepage";
  banner.layer_share_bp = 3000;
  banner.variants = {{"a", 1}, {"b", 1}, {"c", 1}};
  ExperimentSpec pricing;
  pricing.name = "pricing";
  pricing.traffic_bp = 2500;
  pricing.variants = {{"control", 90}, {"cheap", 10}};
  spec.experiments = {hero, banner, pricing};
  return spec;
}

ExperimentSet MustBuild(const ExperimentSetSpec& spec) {
  Diagnostics diags;
  auto set = ExperimentSet::Build(spec, diags);
  for (const Diagnostic& d : diags.items()) ADD_FAILURE() << FormatDiagnosticLine(d);
  if (!set) {
    ADD_FAILURE() << "Build failed";
    return {};
  }
  return std::move(*set);
}

// Expected assignments computed by an independent Python implementation of the spec that takes
// its hashes from the xxhsum CLI (the comment shows h=b(holdout), l=b(layer), t=b(traffic),
// v=b(variant)); "-" is not enrolled.
struct AssignVector {
  const char* unit;
  const char* experiment;
  const char* variant;
};
constexpr AssignVector kAssignVectors[] = {
      {"v_0001", "hero", "-"},  // h=4329 l=6592
      {"v_0001", "banner", "c"},  // h=4329 l=6592 t=7481 v=6759
      {"v_0001", "pricing", "-"},  // h=4329 t=2786
      {"v_0002", "hero", "bold"},  // h=7196 l=3396 t=297 v=7814
      {"v_0002", "banner", "-"},  // h=7196 l=3396
      {"v_0002", "pricing", "-"},  // h=7196 t=7887
      {"v_0003", "hero", "bold"},  // h=4061 l=3364 t=5901 v=7902
      {"v_0003", "banner", "-"},  // h=4061 l=3364
      {"v_0003", "pricing", "control"},  // h=4061 t=2365 v=8772
      {"v_0004", "hero", "control"},  // h=3809 l=1434 t=1459 v=1434
      {"v_0004", "banner", "-"},  // h=3809 l=1434
      {"v_0004", "pricing", "-"},  // h=3809 t=8870
      {"v_0005", "hero", "-"},  // h=2678 l=3825 t=7504
      {"v_0005", "banner", "-"},  // h=2678 l=3825
      {"v_0005", "pricing", "-"},  // h=2678 t=5177
      {"v_0006", "hero", "-"},  // h=5538 l=7928
      {"v_0006", "banner", "c"},  // h=5538 l=7928 t=5931 v=7155
      {"v_0006", "pricing", "-"},  // h=5538 t=6523
      {"v_0007", "hero", "-"},  // h=9209 l=1330 t=6767
      {"v_0007", "banner", "-"},  // h=9209 l=1330
      {"v_0007", "pricing", "-"},  // h=9209 t=9990
      {"v_0008", "hero", "-"},  // h=1699 l=8801
      {"v_0008", "banner", "-"},  // h=1699 l=8801
      {"v_0008", "pricing", "control"},  // h=1699 t=1870 v=629
      {"v_0009", "hero", "-"},  // holdout b=379
      {"v_0009", "banner", "-"},  // holdout b=379
      {"v_0009", "pricing", "-"},  // holdout b=379
      {"v_0010", "hero", "bold"},  // h=6891 l=2474 t=2217 v=9828
      {"v_0010", "banner", "-"},  // h=6891 l=2474
      {"v_0010", "pricing", "-"},  // h=6891 t=2866
      {"v_0011", "hero", "-"},  // holdout b=477
      {"v_0011", "banner", "-"},  // holdout b=477
      {"v_0011", "pricing", "-"},  // holdout b=477
      {"v_0012", "hero", "bold"},  // h=1916 l=2166 t=317 v=7920
      {"v_0012", "banner", "-"},  // h=1916 l=2166
      {"v_0012", "pricing", "-"},  // h=1916 t=9840
      {"v_0013", "hero", "-"},  // h=5404 l=4729 t=9954
      {"v_0013", "banner", "-"},  // h=5404 l=4729
      {"v_0013", "pricing", "-"},  // h=5404 t=5517
      {"v_0014", "hero", "-"},  // h=3097 l=4742 t=8669
      {"v_0014", "banner", "-"},  // h=3097 l=4742
      {"v_0014", "pricing", "control"},  // h=3097 t=949 v=4227
      {"v_0015", "hero", "-"},  // h=1324 l=7929
      {"v_0015", "banner", "b"},  // h=1324 l=7929 t=8224 v=6118
      {"v_0015", "pricing", "-"},  // h=1324 t=5503
      {"v_0016", "hero", "bold"},  // h=4088 l=3171 t=3910 v=6275
      {"v_0016", "banner", "-"},  // h=4088 l=3171
      {"v_0016", "pricing", "control"},  // h=4088 t=2213 v=8177
      {"3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", "hero", "bold"},  // h=8804 l=4840 t=4639 v=6293
      {"3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", "banner", "-"},  // h=8804 l=4840
      {"3f9a1c2e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", "pricing", "-"},  // h=8804 t=5664
      {"élève-ß-日本", "hero", "-"},  // h=4815 l=9429
      {"élève-ß-日本", "banner", "-"},  // h=4815 l=9429
      {"élève-ß-日本", "pricing", "cheap"},  // h=4815 t=1082 v=9088
};

TEST(ExperimentSetTest, SpecAssignmentVectors) {
  ExperimentSet set = MustBuild(VectorSpec());
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set.experiment(0).layer_begin, 0u);
  EXPECT_EQ(set.experiment(0).layer_end, 5000u);
  EXPECT_EQ(set.experiment(1).layer_begin, 5000u);
  EXPECT_EQ(set.experiment(1).layer_end, 8000u);
  EXPECT_EQ(set.experiment(1).variant_cutoffs, (std::vector<uint32_t>{3333, 6666, 10000}));
  EXPECT_EQ(set.experiment(2).variant_cutoffs, (std::vector<uint32_t>{9000, 10000}));
  for (const AssignVector& v : kAssignVectors) {
    auto index = set.Find(v.experiment);
    ASSERT_TRUE(index.has_value());
    int got = set.Assign(*index, v.unit);
    std::string got_name = got == ExperimentSet::kNotEnrolled
                               ? "-"
                               : std::string(set.VariantName(*index, got));
    EXPECT_EQ(got_name, v.variant) << v.unit << " in " << v.experiment;
  }
}

std::string Id(int i) { return "visitor-" + std::to_string(i) + "-x"; }

// Pearson chi-square of observed counts against expected proportions.
double ChiSquare(const std::vector<int>& observed, const std::vector<double>& expected_share) {
  double n = 0;
  for (int o : observed) n += o;
  double chi = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    double e = n * expected_share[i];
    chi += (observed[i] - e) * (observed[i] - e) / e;
  }
  return chi;
}

TEST(ExperimentSetTest, VariantsAreUniformByWeight) {
  ExperimentSetSpec spec;
  ExperimentSpec e;
  e.name = "uniform";
  e.variants = {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}};
  spec.experiments = {e};
  ExperimentSet set = MustBuild(spec);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 100000; ++i) {
    int v = set.Assign(0, Id(i));
    ASSERT_GE(v, 0);
    counts[static_cast<size_t>(v)]++;
  }
  // Critical value of chi-square with 3 degrees of freedom at p = 0.001 is 16.27.
  EXPECT_LT(ChiSquare(counts, {0.1, 0.2, 0.3, 0.4}), 16.27)
      << counts[0] << " " << counts[1] << " " << counts[2] << " " << counts[3];
}

TEST(ExperimentSetTest, LayerSlotsAreUniformAndExclusive) {
  ExperimentSetSpec spec;
  for (int k = 0; k < 4; ++k) {
    ExperimentSpec e;
    e.name = "slot" + std::to_string(k);
    e.layer = "page";
    e.layer_share_bp = 2500;
    e.variants = {{"on", 1}};
    spec.experiments.push_back(e);
  }
  ExperimentSet set = MustBuild(spec);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 100000; ++i) {
    int owners = 0;
    for (size_t k = 0; k < 4; ++k) {
      if (set.Assign(k, Id(i)) >= 0) {
        counts[k]++;
        owners++;
      }
    }
    ASSERT_EQ(owners, 1) << Id(i);  // exactly one experiment of a full layer owns each unit
  }
  EXPECT_LT(ChiSquare(counts, {0.25, 0.25, 0.25, 0.25}), 16.27);
}

TEST(ExperimentSetTest, TwoExperimentsAreIndependent) {
  ExperimentSetSpec spec;
  ExperimentSpec a;
  a.name = "a";
  a.variants = {{"x", 1}, {"y", 1}};
  ExperimentSpec b = a;
  b.name = "b";
  spec.experiments = {a, b};
  ExperimentSet set = MustBuild(spec);
  // 2×2 contingency table of (variant in a, variant in b).
  double table[2][2] = {{0, 0}, {0, 0}};
  const int n = 100000;
  for (int i = 0; i < n; ++i) table[set.Assign(0, Id(i))][set.Assign(1, Id(i))] += 1;
  double chi = 0;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 2; ++c) {
      double row = table[r][0] + table[r][1];
      double col = table[0][c] + table[1][c];
      double e = row * col / n;
      chi += (table[r][c] - e) * (table[r][c] - e) / e;
    }
  }
  EXPECT_LT(chi, 10.83);  // chi-square, 1 degree of freedom, p = 0.001
  // And the same salt would be fully dependent: the test can tell the difference.
  ExperimentSpec c = a;
  c.name = "c";
  c.salt = "a";
  spec.experiments = {a, c};
  ExperimentSet same = MustBuild(spec);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(same.Assign(0, Id(i)), same.Assign(1, Id(i)));
}

TEST(ExperimentSetTest, RaisingTrafficOnlyAddsUnits) {
  ExperimentSetSpec spec;
  ExperimentSpec e;
  e.name = "ramp";
  e.traffic_bp = 1000;
  e.variants = {{"control", 1}, {"new", 1}};
  spec.experiments = {e};
  ExperimentSet at10 = MustBuild(spec);
  spec.experiments[0].traffic_bp = 5000;
  ExperimentSet at50 = MustBuild(spec);
  int enrolled10 = 0, enrolled50 = 0;
  for (int i = 0; i < 100000; ++i) {
    int v10 = at10.Assign(0, Id(i));
    int v50 = at50.Assign(0, Id(i));
    if (v10 >= 0) {
      enrolled10++;
      EXPECT_EQ(v50, v10) << Id(i);
    }
    if (v50 >= 0) enrolled50++;
  }
  EXPECT_NEAR(enrolled10, 10000, 400);
  EXPECT_NEAR(enrolled50, 50000, 800);
}

TEST(ExperimentSetTest, AddingAnExperimentAtTheEndOfALayerMovesNobody) {
  ExperimentSetSpec spec;
  ExperimentSpec a;
  a.name = "a";
  a.layer = "home";
  a.layer_share_bp = 3000;
  a.variants = {{"x", 1}, {"y", 1}};
  ExperimentSpec b = a;
  b.name = "b";
  spec.experiments = {a, b};
  ExperimentSet before = MustBuild(spec);
  ExperimentSpec c = a;
  c.name = "c";
  c.layer_share_bp = 4000;
  spec.experiments.push_back(c);
  ExperimentSet after = MustBuild(spec);
  int in_c = 0;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(before.Assign(0, Id(i)), after.Assign(0, Id(i)));
    ASSERT_EQ(before.Assign(1, Id(i)), after.Assign(1, Id(i)));
    if (after.Assign(2, Id(i)) >= 0) {
      in_c++;
      // c only takes units nobody in the layer had.
      ASSERT_LT(before.Assign(0, Id(i)), 0);
      ASSERT_LT(before.Assign(1, Id(i)), 0);
    }
  }
  EXPECT_NEAR(in_c, 40000, 800);
}

TEST(ExperimentSetTest, HoldoutIsNeverEnrolled) {
  ExperimentSetSpec spec;
  spec.holdout_bp = 1000;
  ExperimentSpec a;
  a.name = "a";
  a.variants = {{"x", 1}};
  ExperimentSpec b = a;
  b.name = "b";
  b.layer = "l";
  b.layer_share_bp = 10000;
  spec.experiments = {a, b};
  ExperimentSet set = MustBuild(spec);
  int held = 0;
  for (int i = 0; i < 100000; ++i) {
    bool in_holdout = set.InHoldout(Id(i));
    EXPECT_EQ(in_holdout, Bucket("holdout", Id(i)) < 1000);
    if (in_holdout) {
      held++;
      EXPECT_EQ(set.Assign(0, Id(i)), ExperimentSet::kNotEnrolled);
      EXPECT_EQ(set.Assign(1, Id(i)), ExperimentSet::kNotEnrolled);
    } else {
      // Everything else is enrolled (100% traffic, a single variant).
      EXPECT_EQ(set.Assign(0, Id(i)), 0);
      EXPECT_EQ(set.Assign(1, Id(i)), 0);
    }
  }
  EXPECT_NEAR(held, 10000, 400);
}

TEST(ExperimentSetTest, EmptyUnitIsNotEnrolled) {
  ExperimentSet set = MustBuild(VectorSpec());
  EXPECT_EQ(set.Assign(2, ""), ExperimentSet::kNotEnrolled);
  EXPECT_EQ(set.Assign(99, "v_0003"), ExperimentSet::kNotEnrolled);
}

TEST(ExperimentSetTest, BuildRejectsMistakesWithLocations) {
  auto errors = [](ExperimentSetSpec spec) {
    Diagnostics diags;
    auto set = ExperimentSet::Build(spec, diags);
    EXPECT_EQ(set.has_value(), !diags.has_errors());
    std::string all;
    for (const Diagnostic& d : diags.items()) all += FormatDiagnosticLine(d) + "\n";
    return all;
  };
  ExperimentSpec ok;
  ok.name = "ok";
  ok.variants = {{"a", 1}, {"b", 1}};
  ok.file = "site.rules";
  ok.line = 3;
  ok.column = 1;
  ExperimentSetSpec base;
  base.experiments = {ok};
  EXPECT_EQ(errors(base), "");

  ExperimentSetSpec s = base;
  s.experiments[0].variants[1].weight = 0;
  EXPECT_NE(errors(s).find("site.rules:3:1: error: experiment \"ok\": variant \"b\" needs a "
                           "positive weight"),
            std::string::npos)
      << errors(s);

  s = base;
  s.experiments[0].layer = "home";
  s.experiments[0].layer_share_bp = 6000;
  s.experiments.push_back(s.experiments[0]);
  s.experiments[1].name = "two";
  s.experiments[1].line = 9;
  EXPECT_NE(errors(s).find("site.rules:9:1: error: experiment \"two\": layer \"home\" is over "
                           "100% (60% already taken, 60% more asked)"),
            std::string::npos)
      << errors(s);

  s = base;
  s.experiments[0].start = "2027-01-15";
  s.experiments[0].end = "2026-12-01";
  EXPECT_NE(errors(s).find("end is not after start"), std::string::npos);
  s.experiments[0].start = "2026-13-01";
  EXPECT_NE(errors(s).find("start \"2026-13-01\" is not a date"), std::string::npos);

  s = base;
  s.experiments.push_back(s.experiments[0]);
  EXPECT_NE(errors(s).find("declared twice"), std::string::npos);

  s = base;
  s.experiments[0].name = "a,b";
  EXPECT_NE(errors(s).find("experiment name \"a,b\""), std::string::npos);
  s = base;
  s.experiments[0].variants[0].name = "x:y";
  EXPECT_NE(errors(s).find("variant name \"x:y\" is not valid"), std::string::npos);
  s = base;
  s.experiments[0].variants.clear();
  EXPECT_NE(errors(s).find("has no variants"), std::string::npos);
  s = base;
  s.experiments[0].traffic_bp = 10001;
  EXPECT_NE(errors(s).find("traffic 100.01% is over 100%"), std::string::npos);
  s = base;
  s.experiments[0].unit = UnitKind::kCookie;
  EXPECT_NE(errors(s).find("unit cookie() needs a name"), std::string::npos);
  s = base;
  s.holdout_bp = 10100;
  EXPECT_NE(errors(s).find("holdout 101% is over 100%"), std::string::npos);
}

TEST(ExperimentSetTest, DatesAndActiveWindow) {
  // Expected values from Python's calendar.timegm.
  EXPECT_EQ(ParseExperimentDate("2026-12-01", false), 1796083200000);
  EXPECT_EQ(ParseExperimentDate("2027-01-15", true), 1800057600000);  // = 2027-01-16 00:00 UTC
  EXPECT_EQ(ParseExperimentDate("2024-02-29T10:30:05Z", false), 1709202605000);
  EXPECT_EQ(ParseExperimentDate("1969-12-31", false), -86400000);
  EXPECT_FALSE(ParseExperimentDate("2025-02-29", false));
  EXPECT_FALSE(ParseExperimentDate("2025-1-01", false));
  EXPECT_FALSE(ParseExperimentDate("2025-01-01T25:00:00Z", false));
  EXPECT_FALSE(ParseExperimentDate("2025-01-01x", false));

  ExperimentSetSpec spec = VectorSpec();
  spec.experiments[0].start = "2026-12-01";
  spec.experiments[0].end = "2027-01-15";
  ExperimentSet set = MustBuild(spec);
  EXPECT_FALSE(set.ActiveAt(0, 1796083200000 - 1));
  EXPECT_TRUE(set.ActiveAt(0, 1796083200000));
  EXPECT_TRUE(set.ActiveAt(0, 1800057600000 - 1));  // the whole end day is included
  EXPECT_FALSE(set.ActiveAt(0, 1800057600000));
  EXPECT_TRUE(set.ActiveAt(1, 0));  // no dates: always
  EXPECT_FALSE(set.ActiveAt(7, 0));
}

TEST(ExperimentSetTest, PercentParsing) {
  EXPECT_EQ(ParsePercentBasisPoints("20%"), 2000u);
  EXPECT_EQ(ParsePercentBasisPoints("20.15%"), 2015u);
  EXPECT_EQ(ParsePercentBasisPoints("0.5"), 50u);
  EXPECT_EQ(ParsePercentBasisPoints("100"), 10000u);
  EXPECT_FALSE(ParsePercentBasisPoints("20.155%"));
  EXPECT_FALSE(ParsePercentBasisPoints("%"));
  EXPECT_FALSE(ParsePercentBasisPoints("-1"));
  EXPECT_FALSE(ParsePercentBasisPoints("1."));
  EXPECT_EQ(PercentToBasisPoints(20.15), 2015u);  // 20.15 × 100 = 2014.9999…: rounded
  EXPECT_EQ(PercentToBasisPoints(33.33), 3333u);
  EXPECT_FALSE(PercentToBasisPoints(-0.5));
}

TEST(ExperimentSetTest, FormatsTheExperimentsVariable) {
  ExperimentSet set = MustBuild(VectorSpec());
  std::array<ExperimentChoice, 3> choices = {{{0, 1}, {2, 0}, {1, 2}}};
  EXPECT_EQ(set.FormattedSize(choices), std::string("hero:bold,pricing:control,banner:c").size());
  char buf[64];
  size_t n = set.Format(choices, buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n), "hero:bold,pricing:control,banner:c");
  // Too small a buffer: complete entries only.
  n = set.Format(choices, buf, 20);
  EXPECT_EQ(std::string(buf, n), "hero:bold");
  n = set.Format(std::span<const ExperimentChoice>(), buf, sizeof buf);
  EXPECT_EQ(n, 0u);
  // Out-of-range choices are skipped, not printed.
  std::array<ExperimentChoice, 2> odd = {{{9, 0}, {0, 0}}};
  n = set.Format(odd, buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n), "hero:control");
  EXPECT_EQ(set.FormattedSize(odd), n);
}

TEST(ExperimentSetTest, UnitValueFromTheRequest) {
  ExperimentSetSpec spec;
  ExperimentSpec e;
  e.variants = {{"a", 1}};
  e.name = "v";
  spec.experiments.push_back(e);
  e.name = "c";
  e.unit = UnitKind::kCookie;
  e.unit_arg = "uid";
  spec.experiments.push_back(e);
  e.name = "h";
  e.unit = UnitKind::kHeader;
  e.unit_arg = "X-Account";
  spec.experiments.push_back(e);
  e.name = "i";
  e.unit = UnitKind::kIp;
  e.unit_arg.clear();
  spec.experiments.push_back(e);
  ExperimentSet set = MustBuild(spec);
  HeaderField headers[] = {{"Cookie", "a=1; uid=u42"}, {"x-account", "acme"}};
  RequestView r;
  r.headers = headers;
  r.client_ip = "203.0.113.9";
  EXPECT_EQ(set.UnitValue(0, r, "vis1"), "vis1");
  EXPECT_FALSE(set.UnitValue(0, r, ""));
  EXPECT_EQ(set.UnitValue(1, r, "vis1"), "u42");
  EXPECT_EQ(set.UnitValue(2, r, "vis1"), "acme");
  EXPECT_EQ(set.UnitValue(3, r, "vis1"), "203.0.113.9");
  RequestView empty;
  EXPECT_FALSE(set.UnitValue(1, empty, "vis1"));
  EXPECT_FALSE(set.UnitValue(3, empty, "vis1"));
}

}  // namespace
}  // namespace tailor
