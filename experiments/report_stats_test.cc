#include "experiments/report_stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace tailor {
namespace {

// Every expected value below was computed independently with SciPy 1.10.1 (Debian
// python3-scipy):
//   Wilson:  scipy.stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
//   z-test:  scipy.stats.chi2_contingency([[x0, n0-x0], [x1, n1-x1]], correction=False)[1]
//            (the uncorrected 2×2 chi-square equals the pooled two-sided z-test)
//   SRM:     scipy.stats.chisquare(observed, expected)
//   tails:   scipy.stats.chi2.sf, scipy.stats.norm.sf, scipy.special.gammaincc

TEST(ReportStatsTest, WilsonInterval) {
  Interval i = WilsonInterval(100, 1000);
  EXPECT_NEAR(i.low, 0.08290944359309571, 1e-12);
  EXPECT_NEAR(i.high, 0.1201519631953484, 1e-12);
  i = WilsonInterval(130, 1000);
  EXPECT_NEAR(i.low, 0.1105637746248419, 1e-12);
  EXPECT_NEAR(i.high, 0.15226802665446887, 1e-12);
  i = WilsonInterval(0, 50);
  EXPECT_NEAR(i.low, 0.0, 1e-12);
  EXPECT_NEAR(i.high, 0.07134759913335872, 1e-12);
  i = WilsonInterval(50, 50);
  EXPECT_NEAR(i.low, 0.9286524008666412, 1e-12);
  EXPECT_NEAR(i.high, 1.0, 1e-12);
  i = WilsonInterval(1, 3);
  EXPECT_NEAR(i.low, 0.06149194472039626, 1e-12);
  EXPECT_NEAR(i.high, 0.7923403991979523, 1e-12);
  i = WilsonInterval(0, 0);
  EXPECT_EQ(i.low, 0);
  EXPECT_EQ(i.high, 1);
}

TEST(ReportStatsTest, TwoProportionZTest) {
  EXPECT_NEAR(TwoProportionPValue(100, 1000, 130, 1000), 0.03548845046647463, 1e-12);
  EXPECT_NEAR(TwoProportionPValue(130, 1000, 100, 1000), 0.03548845046647463, 1e-12);
  EXPECT_NEAR(TwoProportionPValue(20, 400, 31, 420), 0.15820916524132236, 1e-12);
  EXPECT_NEAR(TwoProportionPValue(10, 1000, 11, 1000), 0.8263597843620697, 1e-12);
  EXPECT_GT(TwoProportionZ(100, 1000, 130, 1000), 0);
  EXPECT_EQ(TwoProportionPValue(0, 100, 0, 100), 1);  // no conversions anywhere
  EXPECT_EQ(TwoProportionPValue(5, 0, 3, 10), 1);      // empty group
}

TEST(ReportStatsTest, ChiSquareGoodnessOfFit) {
  std::vector<uint64_t> obs = {1000, 1200};
  std::vector<double> equal = {1, 1};
  ChiSquareResult r = ChiSquareGoodnessOfFit(obs, equal);
  EXPECT_NEAR(r.statistic, 18.181818181818183, 1e-9);
  EXPECT_EQ(r.degrees_of_freedom, 1);
  EXPECT_NEAR(r.p_value, 2.007865612426481e-05, 1e-12);
  std::vector<double> five_six = {5, 6};
  r = ChiSquareGoodnessOfFit(obs, five_six);
  EXPECT_NEAR(r.statistic, 0, 1e-12);
  EXPECT_NEAR(r.p_value, 1, 1e-12);
  obs = {1000, 1100};
  r = ChiSquareGoodnessOfFit(obs, equal);
  EXPECT_NEAR(r.statistic, 4.761904761904762, 1e-9);
  EXPECT_NEAR(r.p_value, 0.029096331741252267, 1e-12);
  obs = {510, 300, 190};
  std::vector<double> w532 = {50, 30, 20};
  r = ChiSquareGoodnessOfFit(obs, w532);
  EXPECT_NEAR(r.statistic, 0.7, 1e-9);
  EXPECT_EQ(r.degrees_of_freedom, 2);
  EXPECT_NEAR(r.p_value, 0.7046880897187136, 1e-12);
  obs = {480, 290, 230};
  r = ChiSquareGoodnessOfFit(obs, w532);
  EXPECT_NEAR(r.statistic, 5.633333333333333, 1e-9);
  EXPECT_NEAR(r.p_value, 0.059804960697006714, 1e-12);
  obs = {0, 0};
  r = ChiSquareGoodnessOfFit(obs, equal);
  EXPECT_EQ(r.p_value, 1);
  EXPECT_EQ(r.degrees_of_freedom, 0);
}

TEST(ReportStatsTest, Tails) {
  EXPECT_NEAR(ChiSquareSurvival(3.5, 1), 0.0613688291394023, 1e-13);
  EXPECT_NEAR(ChiSquareSurvival(10, 4), 0.04042768199451279, 1e-13);
  EXPECT_NEAR(ChiSquareSurvival(0.3, 7), 0.9998999626177479, 1e-13);
  EXPECT_NEAR(ChiSquareSurvival(250, 60) / 4.901747961563307e-25, 1, 1e-9);
  EXPECT_NEAR(NormalSurvival(1.96), 0.024997895148220435, 1e-13);
  EXPECT_NEAR(NormalSurvival(-0.5), 0.6914624612740131, 1e-13);
  EXPECT_NEAR(NormalSurvival(6) / 9.865876450376946e-10, 1, 1e-9);
  EXPECT_NEAR(RegularizedGammaQ(2.5, 1.0), 0.8491450360846096, 1e-13);
  EXPECT_NEAR(RegularizedGammaQ(0.5, 20.0) / 2.5396285894708634e-10, 1, 1e-9);
}

}  // namespace
}  // namespace tailor
