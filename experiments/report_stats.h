// The statistics of `tailorc report` (explained in docs/experiments.md): Wilson score
// intervals, the two-sided two-proportion z-test, and Pearson's chi-square goodness of fit for
// sample-ratio mismatch. Plain functions of counts, no I/O.
#pragma once

#include <cstdint>
#include <span>

namespace tailor {

// The 97.5 % quantile of the standard normal: 95 % two-sided intervals.
inline constexpr double kZ95 = 1.959963984540054;

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson score interval for `successes` out of `trials` at normal quantile z. trials == 0
// gives [0, 1].
Interval WilsonInterval(uint64_t successes, uint64_t trials, double z = kZ95);

// Two-sided p-value of the pooled two-proportion z-test of x1/n1 against x0/n0. Returns 1 when
// either group is empty or the pooled rate is 0 or 1 (no evidence of a difference).
double TwoProportionPValue(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1);
// The z statistic itself (x1/n1 - x0/n0 over the pooled standard error); 0 when undefined.
double TwoProportionZ(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1);

// Upper tail of the standard normal: P(Z > z).
double NormalSurvival(double z);
// Regularized upper incomplete gamma Q(a, x) (a > 0, x >= 0; NaN otherwise), Boost.Math's.
double RegularizedGammaQ(double a, double x);
// P(X > x) for X ~ chi-square with `df` degrees of freedom (Boost.Math's distribution).
double ChiSquareSurvival(double x, double df);

struct ChiSquareResult {
  double statistic = 0;
  int degrees_of_freedom = 0;
  double p_value = 1;
};
// Pearson goodness of fit of `observed` counts to `weights` (proportions need not sum to 1;
// zero-weight cells are not allowed and ignored). Fewer than 2 cells or no observation: p = 1.
ChiSquareResult ChiSquareGoodnessOfFit(std::span<const uint64_t> observed,
                                       std::span<const double> weights);

}  // namespace tailor
