#include "data/generator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/csv_loader.h"
#include "data/csv_writer.h"
#include "data_test_util.h"

namespace spikecast {
namespace {

TEST(Generator, ShapeNamesAndTime) {
  GeneratorConfig g;
  g.rows = 500;
  const GeneratedData d = generate(g);
  EXPECT_EQ(d.table.rows(), 500);
  EXPECT_EQ(d.table.num_channels(), 13);
  EXPECT_EQ(d.table.target(), "target");
  EXPECT_EQ(generator_feature_names().size(), 12u);
  EXPECT_EQ(d.is_spike.size(), 500u);
  EXPECT_EQ(d.table.time[0], *parse_timestamp(g.start));
  EXPECT_EQ(d.table.time[499] - d.table.time[498], 3600 * 1000);
  EXPECT_EQ(d.table.step_ms, 3600 * 1000);
  for (float v : d.table.values) EXPECT_TRUE(std::isfinite(v));
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherData) {
  GeneratorConfig g;
  g.rows = 2000;
  g.series = 2;
  const std::string a = to_csv(generate(g).table);
  EXPECT_EQ(a, to_csv(generate(g).table));
  g.seed = 43;
  EXPECT_NE(a, to_csv(generate(g).table));
}

TEST(Generator, RngIsReproducibleAndUniform) {
  Rng a(1), b(1);
  double sum = 0, sq = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    const double n = Rng(static_cast<uint64_t>(i)).normal();
    sum += n;
    sq += n * n;
  }
  EXPECT_NEAR(sum / 100000, 0.0, 0.02);
  EXPECT_NEAR(sq / 100000, 1.0, 0.02);
  // xoshiro256** seeded by splitmix64(0), computed independently (Python reference).
  Rng z(0);
  EXPECT_EQ(z.next_u64(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(z.next_u64(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(z.next_u64(), 0x1a5f849d4933e6e0ULL);
}

TEST(Generator, SeasonalityCalendarAndWeatherArePlausible) {
  GeneratorConfig g;
  g.rows = 24 * 7 * 8;
  const GeneratedData d = generate(g);
  const Table& t = d.table;
  // Evening (19h) load exceeds night (3h) load on average; weekdays exceed weekends.
  double evening = 0, night = 0, weekday = 0, weekend = 0;
  int64_t n_ev = 0, n_ni = 0, n_wd = 0, n_we = 0;
  for (int64_t r = 0; r < t.rows(); ++r) {
    if (d.is_spike[r]) continue;
    const int64_t hour = (t.time[r] / 3600000) % 24;
    const int64_t dow = ((t.time[r] / 86400000) + 3) % 7;
    if (hour == 19) evening += t.at(r, 0), ++n_ev;
    if (hour == 3) night += t.at(r, 0), ++n_ni;
    if (dow < 5) weekday += t.at(r, 0), ++n_wd;
    else weekend += t.at(r, 0), ++n_we;
    EXPECT_GE(t.at(r, 2), 5.0f);  // humidity
    EXPECT_LE(t.at(r, 2), 100.0f);
    EXPECT_GE(t.at(r, 3), 0.0f);  // wind
    EXPECT_GE(t.at(r, 5), 0.0f);  // solar
    if (hour == 0) EXPECT_EQ(t.at(r, 5), 0.0f);
    EXPECT_NEAR(t.at(r, 7), std::sin(2 * M_PI * hour / 24), 1e-5);
  }
  EXPECT_GT(evening / n_ev, 1.15 * night / n_ni);
  EXPECT_GT(weekday / n_wd, 1.05 * weekend / n_we);
  // 2024-01-01 is a holiday, 2024-01-02 is not.
  EXPECT_EQ(t.at(0, 12), 1.0f);
  EXPECT_EQ(t.at(24, 12), 0.0f);
}

TEST(Generator, SpikesAreInjectedAtTheConfiguredRate) {
  GeneratorConfig g;
  g.rows = 50000;
  g.spike_rate = 0.004;
  const GeneratedData d = generate(g);
  int64_t spikes = 0, bursts = 0, up = 0;
  for (int64_t r = 0; r < d.table.rows(); ++r) {
    spikes += d.is_spike[r];
    if (d.is_spike[r] && (r == 0 || !d.is_spike[r - 1])) {
      ++bursts;
      up += d.table.at(r, 0) > d.table.at(r - 1, 0);
    }
  }
  // ~0.004 bursts per quiet row, 2 rows each on average.
  EXPECT_GT(bursts, 120);
  EXPECT_LT(bursts, 260);
  EXPECT_GT(spikes, bursts * 3 / 2);
  EXPECT_LT(spikes, bursts * 5 / 2);
  EXPECT_GT(up, bursts / 3);           // both signs occur
  EXPECT_LT(up, bursts * 5 / 6);
  g.spike_rate = 0;
  const GeneratedData none = generate(g);
  for (uint8_t s : none.is_spike) ASSERT_EQ(s, 0);
}

TEST(Generator, PanelSeriesShareTheTimeAxisButDiffer) {
  GeneratorConfig g;
  g.rows = 300;
  g.series = 3;
  const GeneratedData d = generate(g);
  ASSERT_EQ(d.table.series.size(), 3u);
  EXPECT_EQ(d.table.series[1].name, "S001");
  EXPECT_EQ(d.table.series[2].begin, 600);
  EXPECT_EQ(d.table.time[0], d.table.time[300]);
  EXPECT_NE(d.table.at(0, 0), d.table.at(300, 0));
}

TEST(Generator, CsvRoundTripIsExact) {
  testing::TempDir dir;
  GeneratorConfig g;
  g.rows = 1000;
  g.series = 2;
  const GeneratedData d = generate(g);
  const std::string path = dir.file("gen.csv");
  CsvWriteOptions o;
  o.labels = &d.is_spike;
  write_csv(d.table, path, o);
  DataConfig c;
  c.path = path;
  c.series_column = "series";
  c.feature_columns = generator_feature_names();
  const Table back = load_csv(c);
  EXPECT_EQ(back.channels, d.table.channels);
  EXPECT_EQ(back.values, d.table.values);
  EXPECT_EQ(back.time, d.table.time);
  ASSERT_EQ(back.series.size(), 2u);
  EXPECT_EQ(back.series[1].name, "S001");
  EXPECT_EQ(back.step_ms, d.table.step_ms);
  // The label column is readable as a channel too.
  c.feature_columns = {"is_spike"};
  const Table labels = load_csv(c);
  for (int64_t r = 0; r < labels.rows(); ++r) ASSERT_EQ(labels.at(r, 1), d.is_spike[r]);
}

TEST(Generator, CsvHeaderHas14ColumnsWithTargetLast) {
  GeneratorConfig g;
  g.rows = 3;
  const std::string csv = to_csv(generate(g).table);
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header,
            "timestamp,temperature,humidity,wind_speed,cloud_cover,solar_irradiance,pressure,hour_sin,"
            "hour_cos,dow_sin,dow_cos,doy_sin,is_holiday,target");
}

TEST(Generator, InvalidConfigIsAConfigError) {
  GeneratorConfig g;
  g.rows = 0;
  EXPECT_THROW(generate(g), ConfigError);
}

}  // namespace
}  // namespace spikecast
