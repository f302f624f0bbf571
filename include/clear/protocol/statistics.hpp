#pragma once
// Summary statistics of repeated measurements: mean, sample standard deviation, coefficient of
// variation, the Student-t 95% confidence interval of the mean (exact t quantiles, never the normal
// approximation, because the protocol often stops at 5-10 trials), and percentiles.
#include <cstddef>
#include <vector>

namespace clear {

struct Summary {
  size_t n = 0;
  double mean = 0.0;
  double sd = 0.0;          // sample standard deviation (n - 1 in the denominator); 0 when n < 2
  double cv = 0.0;          // sd / |mean|; 0 when the mean is 0
  double ci95_half = 0.0;   // t(0.975, n-1) * sd / sqrt(n); infinity when n < 2
  double ci95_low() const { return mean - ci95_half; }
  double ci95_high() const { return mean + ci95_half; }
  // Half-width relative to |mean| (infinity when the mean is 0 or n < 2).
  double relative_ci95() const;
};

Summary summarize(const std::vector<double>& values);

// Quantile of Student's t distribution with `df` degrees of freedom: P(T <= t) = p.
// Computed by inverting the exact CDF (regularised incomplete beta), accurate to ~1e-10.
double student_t_quantile(double p, double df);
// CDF of Student's t distribution.
double student_t_cdf(double t, double df);

// Linear-interpolated percentile (p in [0, 100]) of unsorted values (the "type 7" definition used by
// numpy and R). Throws std::invalid_argument on an empty vector.
double percentile(std::vector<double> values, double p);
double median(std::vector<double> values);

}  // namespace clear
