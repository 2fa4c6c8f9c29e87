#include "experiments/report_stats.h"

#include <cmath>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/special_functions/gamma.hpp>

namespace tailor {

Interval WilsonInterval(uint64_t successes, uint64_t trials, double z) {
  if (trials == 0) return {0, 1};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denom = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom;
  Interval i{center - half, center + half};
  if (i.low < 0) i.low = 0;
  if (i.high > 1) i.high = 1;
  return i;
}

double TwoProportionZ(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1) {
  if (n0 == 0 || n1 == 0) return 0;
  const double p0 = static_cast<double>(x0) / static_cast<double>(n0);
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double pooled = static_cast<double>(x0 + x1) / static_cast<double>(n0 + n1);
  const double se = std::sqrt(pooled * (1 - pooled) *
                              (1 / static_cast<double>(n0) + 1 / static_cast<double>(n1)));
  if (!(se > 0)) return 0;
  return (p1 - p0) / se;
}

double TwoProportionPValue(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1) {
  if (n0 == 0 || n1 == 0) return 1;
  const double pooled = static_cast<double>(x0 + x1) / static_cast<double>(n0 + n1);
  if (pooled <= 0 || pooled >= 1) return 1;
  return 2 * NormalSurvival(std::fabs(TwoProportionZ(x0, n0, x1, n1)));
}

double NormalSurvival(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

namespace {

// Boost.Math reports bad arguments and overflow through errno instead of exceptions: the
// report never throws over a statistic.
using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
    boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
    boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
    boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>>;

}  // namespace

double RegularizedGammaQ(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return std::nan("");
  if (x == 0) return 1;
  return boost::math::gamma_q(a, x, NoThrow());
}

double ChiSquareSurvival(double x, double df) {
  if (!(x > 0)) return 1;
  return boost::math::cdf(
      boost::math::complement(boost::math::chi_squared_distribution<double, NoThrow>(df), x));
}

ChiSquareResult ChiSquareGoodnessOfFit(std::span<const uint64_t> observed,
                                       std::span<const double> weights) {
  ChiSquareResult r;
  if (observed.size() != weights.size()) return r;
  double total_weight = 0, n = 0;
  int cells = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!(weights[i] > 0)) continue;
    total_weight += weights[i];
    n += static_cast<double>(observed[i]);
    ++cells;
  }
  if (cells < 2 || n == 0) return r;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!(weights[i] > 0)) continue;
    const double expected = n * weights[i] / total_weight;
    const double diff = static_cast<double>(observed[i]) - expected;
    r.statistic += diff * diff / expected;
  }
  r.degrees_of_freedom = cells - 1;
  r.p_value = ChiSquareSurvival(r.statistic, r.degrees_of_freedom);
  return r;
}

}  // namespace tailor
