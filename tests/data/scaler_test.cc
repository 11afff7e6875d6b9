#include "data/scaler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/generator.h"
#include "data/scaler_json.h"

namespace spikecast {
namespace {

Table small_table() {
  Table t;
  t.channels = {"y", "a", "c"};
  // rows 0-3 train, rows 4-5 test; the test rows have extreme values that must not leak.
  const float v[][3] = {{1, 10, 7}, {2, 20, 7}, {3, NAN, 7}, {4, 40, 7}, {1000, -500, 8}, {2000, 900, 9}};
  for (int r = 0; r < 6; ++r) {
    t.time.push_back(r);
    for (float x : v[r]) t.values.push_back(x);
  }
  t.series.push_back({"", 0, 6});
  return t;
}

Split train_first_rows(int64_t n_train, int64_t rows) {
  Split s;
  s.series.push_back({{0, n_train}, {n_train, n_train}, {n_train, rows}});
  return s;
}

TEST(Scaler, FitsOnTrainRowsOnlyIgnoringNaN) {
  const Table t = small_table();
  StandardScaler sc;
  sc.fit_train(t, train_first_rows(4, 6));
  ASSERT_EQ(sc.num_channels(), 3);
  EXPECT_DOUBLE_EQ(sc.mean()[0], 2.5);
  EXPECT_DOUBLE_EQ(sc.stddev()[0], std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(sc.mean()[1], 70.0 / 3);  // NaN skipped
  const double m = 70.0 / 3;
  EXPECT_NEAR(sc.stddev()[1], std::sqrt(((10 - m) * (10 - m) + (20 - m) * (20 - m) + (40 - m) * (40 - m)) / 3), 1e-12);
  // Channel c is constant on the training rows (though not on the test rows): std 1 and a warning.
  EXPECT_DOUBLE_EQ(sc.mean()[2], 7.0);
  EXPECT_DOUBLE_EQ(sc.stddev()[2], 1.0);
  ASSERT_EQ(sc.warnings().size(), 1u);
  EXPECT_NE(sc.warnings()[0].find("channel 'c' is constant"), std::string::npos);
}

TEST(Scaler, TransformThenInverseRoundTrips) {
  Table t = small_table();
  const std::vector<float> original = t.values;
  StandardScaler sc;
  sc.fit_train(t, train_first_rows(4, 6));
  sc.transform(t);
  EXPECT_NEAR(t.at(0, 0), (1 - 2.5) / std::sqrt(1.25), 1e-6);
  EXPECT_TRUE(std::isnan(t.at(2, 1)));
  EXPECT_FLOAT_EQ(t.at(5, 2), 2.0f);  // (9 - 7) / 1
  sc.inverse_transform(t);
  for (size_t i = 0; i < original.size(); ++i) {
    if (std::isnan(original[i])) EXPECT_TRUE(std::isnan(t.values[i]));
    else EXPECT_NEAR(t.values[i], original[i], 1e-4 * std::max(1.0f, std::fabs(original[i])));
  }
}

TEST(Scaler, InverseTargetUsesChannelZeroOnly) {
  const Table t = small_table();
  StandardScaler sc;
  sc.fit_train(t, train_first_rows(4, 6));
  std::vector<float> out = {sc.transform_target(1.0f), sc.transform_target(4.0f), 0.0f};
  sc.inverse_target(out.data(), 3);
  EXPECT_NEAR(out[0], 1.0f, 1e-6);
  EXPECT_NEAR(out[1], 4.0f, 1e-6);
  EXPECT_NEAR(out[2], 2.5f, 1e-6);
  EXPECT_NEAR(sc.inverse_target(1.0f), 2.5 + std::sqrt(1.25), 1e-6);
}

TEST(Scaler, Float64AccumulationOnLargeOffsets) {
  // 1e5 values 1e6 + {0,1}: float32 accumulation of the sum or sum of squares would be off.
  Table t;
  t.channels = {"y"};
  for (int i = 0; i < 100000; ++i) {
    t.time.push_back(i);
    t.values.push_back(1e6f + static_cast<float>(i % 2));
  }
  t.series.push_back({"", 0, 100000});
  StandardScaler sc;
  sc.fit(t, {{0, 100000}});
  EXPECT_NEAR(sc.mean()[0], 1e6 + 0.5, 1e-9);
  EXPECT_NEAR(sc.stddev()[0], 0.5, 1e-9);
}

TEST(Scaler, GeneratedTrainSplitIsStandardised) {
  GeneratorConfig g;
  g.rows = 5000;
  GeneratedData d = generate(g);
  Split split = train_first_rows(3500, 5000);
  StandardScaler sc;
  sc.fit_train(d.table, split);
  sc.transform(d.table);
  const int64_t C = d.table.num_channels();
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, sq = 0;
    for (int64_t r = 0; r < 3500; ++r) s += d.table.at(r, c);
    const double mean = s / 3500;
    for (int64_t r = 0; r < 3500; ++r) sq += (d.table.at(r, c) - mean) * (d.table.at(r, c) - mean);
    EXPECT_NEAR(mean, 0.0, 1e-4) << d.table.channels[c];
    EXPECT_NEAR(std::sqrt(sq / 3500), 1.0, 1e-4) << d.table.channels[c];
  }
}

TEST(Scaler, JsonRoundTrip) {
  const Table t = small_table();
  StandardScaler sc;
  sc.fit_train(t, train_first_rows(4, 6));
  const nlohmann::json j = sc;
  EXPECT_EQ(j.at("type"), "standard");
  const StandardScaler back = nlohmann::json::parse(j.dump()).get<StandardScaler>();
  EXPECT_EQ(back.channels(), sc.channels());
  EXPECT_EQ(back.mean(), sc.mean());
  EXPECT_EQ(back.stddev(), sc.stddev());
}

TEST(Scaler, MalformedJsonIsAModelError) {
  const auto bad = [](const char* text) {
    StandardScaler sc;
    EXPECT_THROW(from_json(nlohmann::json::parse(text), sc), ModelError) << text;
  };
  bad(R"([1,2])");
  bad(R"({"type":"minmax","channels":[],"mean":[],"std":[]})");
  bad(R"({"type":"standard","channels":["a"],"mean":[1,2],"std":[1,1]})");
  bad(R"({"type":"standard","channels":["a"],"mean":[1],"std":[0]})");
  bad(R"({"type":"standard","channels":["a"],"mean":["x"],"std":[1]})");
  bad(R"({"type":"standard","channels":["a"],"mean":[1]})");
}

TEST(Scaler, UnfittedOrMismatchedUseThrows) {
  StandardScaler sc;
  Table t = small_table();
  EXPECT_THROW(sc.transform(t), Error);
  sc.fit_train(t, train_first_rows(4, 6));
  t.channels.pop_back();
  EXPECT_THROW(sc.transform(t), Error);
}

}  // namespace
}  // namespace spikecast
