#include "store/data_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "data/data_test_util.h"
#include "registry/atomic_file.h"
#include "store_fixture.h"

namespace spikecast::store {
namespace {

using spikecast::testing::expect_data_error;
using spikecast::testing::TempDir;
using testing::GeneratedLines;

constexpr int64_t kHistory = 1500;
constexpr int64_t kDay = 24;  // hourly rows

class DataStoreTest : public ::testing::Test {
 protected:
  DataStoreTest() : gen(kHistory + 4 * kDay), store(dir.file("store")) {}
  std::string write(const std::string& name, const std::string& text) { return dir.write(name, text); }
  IngestResult ingest(const std::string& name, const std::string& text) {
    return store.ingest(write(name, text), IngestOptions{});
  }
  void ingest_history() { ASSERT_EQ(ingest("history.csv", gen.rows(0, kHistory)).rows_added, kHistory); }
  std::string day(int k) const { return gen.rows(kHistory + k * kDay, kHistory + (k + 1) * kDay); }
  // What a refused ingest must leave unchanged.
  std::string snapshot() const { return read_file(dir.file("store/store.json")) + read_file(store.data_path()); }

  TempDir dir;
  GeneratedLines gen;
  DataStore store;
};

TEST_F(DataStoreTest, IngestingTheSameRowsTwiceAddsNothing) {
  ingest_history();
  const IngestResult first = ingest("day1.csv", day(0));
  EXPECT_EQ(first.rows_added, kDay);
  EXPECT_EQ(first.store_rows, kHistory + kDay);
  const std::string before = snapshot();
  const IngestResult again = ingest("day1-again.csv", day(0));
  EXPECT_EQ(again.rows_added, 0);
  EXPECT_EQ(again.rows_already_stored, kDay);
  EXPECT_EQ(snapshot(), before);
  // The store reads back exactly the generator's rows.
  const Table t = store.load();
  ASSERT_EQ(t.rows(), kHistory + kDay);
  ASSERT_EQ(t.channels, gen.table().channels);
  for (int64_t r = 0; r < t.rows(); ++r) {
    ASSERT_EQ(t.time[r], gen.table().time[r]);
    for (int64_t c = 0; c < t.num_channels(); ++c) ASSERT_EQ(t.at(r, c), gen.table().at(r, c)) << r << " " << c;
  }
  EXPECT_EQ(store.state().ingests.size(), 2u);
}

TEST_F(DataStoreTest, AnOverlappingFileAddsOnlyItsNewRows) {
  ingest_history();
  ingest("day1.csv", day(0));
  const IngestResult r = ingest("overlap.csv", gen.rows(kHistory + 10, kHistory + 2 * kDay));
  EXPECT_EQ(r.rows_already_stored, kDay - 10);
  EXPECT_EQ(r.rows_added, kDay);
  EXPECT_EQ(store.load().rows(), kHistory + 2 * kDay);
}

TEST_F(DataStoreTest, AMissingDayBetweenTheStoreAndTheFileIsAWarning) {
  ingest_history();
  ingest("day1.csv", day(0));
  const IngestResult r = ingest("day3.csv", day(2));  // day 2 never arrived
  EXPECT_EQ(r.rows_added, kDay);
  bool gap = false;
  for (const std::string& w : r.warnings) gap = gap || (w.find("time gap: 24 steps missing") != std::string::npos &&
                                                        w.find("day3.csv:2:") != std::string::npos);
  EXPECT_TRUE(gap);
  for (const std::string& w : ingest("day4.csv", day(3)).warnings) EXPECT_EQ(w.find("time gap"), std::string::npos) << w;
}

TEST_F(DataStoreTest, AStoredRowWithOtherValuesIsRefused) {
  ingest_history();
  const std::string before = snapshot();
  const std::string text = gen.edited_rows(kHistory - 5, kHistory + kDay, [](Table& t) {
    t.values[(kHistory - 3) * t.num_channels() + 2] += 1.0f;  // humidity of a stored row
  });
  const std::string path = write("edited.csv", text);
  expect_data_error([&] { store.ingest(path, IngestOptions{}); }, path, 4, "humidity", "the store only appends");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(DataStoreTest, EachKindOfBadNewDataIsRefusedAndTheStoreIsUnchanged) {
  ingest_history();
  const std::string before = snapshot();
  const int64_t b = kHistory, e = kHistory + kDay;
  const auto refused = [&](const std::string& name, const std::string& text, int64_t line, const std::string& column,
                           const std::string& needle) {
    const std::string path = write(name, text);
    expect_data_error([&] { store.ingest(path, IngestOptions{}); }, path, line, column, needle);
    EXPECT_EQ(snapshot(), before) << name;
  };
  // Every humidity cell missing (header line 1, first new row line 2).
  std::string all_nan = gen.edited_rows(b, e, [&](Table& t) {
    for (int64_t r = b; r < e; ++r) t.values[r * t.num_channels() + 2] = std::nanf("");
  });
  refused("all_nan.csv", all_nan, 2, "humidity", "has no value in any of the 24 new rows");
  // Temperature stuck at one value.
  refused("stuck.csv", gen.edited_rows(b, e, [&](Table& t) {
    for (int64_t r = b; r < e; ++r) t.values[r * t.num_channels() + 1] = 21.5f;
  }), 2, "temperature", "is stuck at 21.5");
  // The same timestamp twice: the row on line 6 repeated on line 7.
  std::string dup;
  {
    const std::string text = day(0);
    size_t pos = 0;
    for (int line = 1; line < 6; ++line) pos = text.find('\n', pos) + 1;
    const std::string row6 = text.substr(pos, text.find('\n', pos) + 1 - pos);
    dup = text.substr(0, pos) + row6 + text.substr(pos);
  }
  refused("duplicate.csv", dup, 7, "timestamp", "duplicate timestamp");
  // The target in W instead of kW from the 5th new row on; the message points at the largest.
  int64_t largest = b + 4;
  for (int64_t r = b + 4; r < e; ++r)
    if (gen.table().at(r, 0) > gen.table().at(largest, 0)) largest = r;
  refused("scale.csv", gen.edited_rows(b, e, [&](Table& t) {
    for (int64_t r = b + 4; r < e; ++r) t.values[r * t.num_channels()] *= 1000.0f;
  }), largest - b + 2, "target", "scale jump");
}

TEST_F(DataStoreTest, AFlagColumnMayBeConstantOverADayButAContinuousOneMayNot) {
  ingest_history();
  // is_holiday holds one value over an ordinary day: accepted.
  const Table& t = gen.table();
  const int64_t holiday = t.num_channels() - 1;
  ASSERT_EQ(t.channels[holiday], "is_holiday");
  for (int64_t r = kHistory; r < kHistory + kDay; ++r) ASSERT_EQ(t.at(r, holiday), t.at(kHistory, holiday));
  EXPECT_EQ(ingest("day1.csv", day(0)).rows_added, kDay);
  // With the discrete allowance at 1 level the flag column is refused as stuck.
  IngestOptions strict;
  strict.screen.max_discrete_levels = 1;
  const std::string path = write("day2.csv", day(1));
  expect_data_error([&] { store.ingest(path, strict); }, path, 2, "is_holiday", "is stuck at");
}

TEST_F(DataStoreTest, AKillAtAnyStageLeavesTheRowsInOrOutAndTheNextIngestWorks) {
  ingest_history();
  for (const std::string stage : {"loaded", "appended", "committed"}) {
    const int64_t rows_before = store.state().rows;
    const std::string path = write("day-" + stage + ".csv", day(0));
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      IngestOptions o;
      o.after_stage = [&](const std::string& s) {
        if (s == stage) ::_exit(9);  // no unwinding, no cleanup: as a kill
      };
      try {
        store.ingest(path, o);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 9) << stage;
    const int64_t expect = rows_before + (stage == "committed" ? kDay : 0);
    EXPECT_EQ(store.state().rows, expect) << stage;
    EXPECT_EQ(store.load().rows(), expect) << stage;
  }
  // Day 1 went in at "committed"; the torn tail "appended" left behind is dropped by the next ingest.
  EXPECT_EQ(ingest("day1.csv", day(0)).rows_added, 0);
  EXPECT_EQ(ingest("day2.csv", day(1)).rows_added, kDay);
  const Table t = store.load();
  ASSERT_EQ(t.rows(), kHistory + 2 * kDay);
  for (int64_t r = kHistory; r < t.rows(); ++r) ASSERT_EQ(t.time[r], gen.table().time[r]);
}

TEST_F(DataStoreTest, RowsBeforeTheStoresEndThatAreNotStoredAreRefused) {
  ingest("day1.csv", gen.rows(0, 100));
  ingest("day3.csv", gen.rows(200, 300));
  const std::string path = write("gap.csv", gen.rows(150, 160));
  expect_data_error([&] { store.ingest(path, IngestOptions{}); }, path, 2, "timestamp", "the store only appends");
}

}  // namespace
}  // namespace spikecast::store
