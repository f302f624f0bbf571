// Statistics against independent references: published t-table values and float64 sums in the test.
#include <gtest/gtest.h>

#include <cmath>

#include "clear/protocol/statistics.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

TEST(Statistics, StudentTQuantilesMatchTheTable) {
  // Two-sided 95% (p = 0.975) values from standard t tables.
  const std::pair<double, double> table[] = {{1, 12.7062047}, {2, 4.3026527}, {3, 3.1824463}, {4, 2.7764451},
                                             {5, 2.5705818}, {9, 2.2621572}, {19, 2.0930241}, {29, 2.0452296},
                                             {100, 1.9839715}, {1000, 1.9623391}};
  for (auto [df, t] : table) EXPECT_NEAR(student_t_quantile(0.975, df), t, 1e-6) << "df " << df;
  EXPECT_NEAR(student_t_quantile(0.95, 10), 1.8124611, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.7764451, 1e-6);
  EXPECT_DOUBLE_EQ(student_t_quantile(0.5, 7), 0.0);
  EXPECT_NEAR(student_t_cdf(2.2621572, 9), 0.975, 1e-8);
  EXPECT_THROW(student_t_quantile(1.0, 3), std::invalid_argument);
  EXPECT_THROW(student_t_quantile(0.9, 0), std::invalid_argument);
}

TEST(Statistics, SummaryMatchesFloat64Reference) {
  SCOPED_TRACE(testing::seed_note());
  for (size_t n : {2u, 3u, 5u, 17u}) {
    const auto values = testing::random_doubles(n, 1.0, 3.0);
    double sum = 0;
    for (double v : values) sum += v;
    const double mean = sum / n;
    double ss = 0;
    for (double v : values) ss += (v - mean) * (v - mean);
    const double sd = std::sqrt(ss / (n - 1));
    const Summary s = summarize(values);
    EXPECT_EQ(s.n, n);
    EXPECT_NEAR(s.mean, mean, 1e-12);
    EXPECT_NEAR(s.sd, sd, 1e-12);
    EXPECT_NEAR(s.cv, sd / mean, 1e-12);
    EXPECT_NEAR(s.ci95_half, student_t_quantile(0.975, n - 1) * sd / std::sqrt(double(n)), 1e-12);
    EXPECT_NEAR(s.relative_ci95(), s.ci95_half / mean, 1e-12);
  }
}

TEST(Statistics, OneValueHasNoInterval) {
  const Summary s = summarize({4.0});
  EXPECT_EQ(s.mean, 4.0);
  EXPECT_TRUE(std::isinf(s.ci95_half));
  EXPECT_TRUE(std::isinf(s.relative_ci95()));
  EXPECT_TRUE(std::isinf(summarize({}).ci95_half));
}

TEST(Statistics, PercentilesInterpolateLinearly) {
  // numpy.percentile([15, 20, 35, 40, 50], q) with linear interpolation.
  const std::vector<double> v = {40, 15, 50, 35, 20};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 50);
  EXPECT_DOUBLE_EQ(median(v), 35);
  EXPECT_DOUBLE_EQ(percentile(v, 90), 46);
  EXPECT_DOUBLE_EQ(percentile(v, 30), 23);
  EXPECT_DOUBLE_EQ(median({1.0, 2.0}), 1.5);
  EXPECT_THROW(percentile({}, 50), std::invalid_argument);
}

}  // namespace
}  // namespace clear
