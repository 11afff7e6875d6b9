#include "data/split.h"

#include <cmath>

#include "core/error.h"

namespace spikecast {

int64_t Split::train_rows() const {
  int64_t n = 0;
  for (const auto& s : series) n += s.train.size();
  return n;
}
int64_t Split::val_rows() const {
  int64_t n = 0;
  for (const auto& s : series) n += s.val.size();
  return n;
}
int64_t Split::test_rows() const {
  int64_t n = 0;
  for (const auto& s : series) n += s.test.size();
  return n;
}

EttRows ett_rows(int64_t step_ms) {
  constexpr int64_t kHourMs = 3600 * 1000;
  const int64_t per_hour = step_ms > 0 && step_ms < kHourMs && kHourMs % step_ms == 0 ? kHourMs / step_ms : 1;
  const int64_t month = 30 * 24 * per_hour;
  return {12 * month, 4 * month, 4 * month};
}

Split split_table(const Table& table, const SplitConfig& config) {
  Split split;
  for (const SeriesRange& s : table.series) {
    const int64_t n = s.size();
    int64_t n_train, n_val, n_test;
    if (config.mode == SplitMode::kEtt) {
      const EttRows e = ett_rows(table.step_ms);
      n_train = e.train;
      n_val = e.val;
      n_test = e.test;
      if (n < n_train + n_val + n_test)
        throw DataError(table.source, 0, "",
                        "the ETT split needs " + std::to_string(n_train + n_val + n_test) +
                            " rows (12/4/4 months) per series, " +
                            (s.name.empty() ? std::string("the data has ")
                                            : "series '" + s.name + "' has ") +
                            std::to_string(n) + "; use split.mode = \"fractions\"");
    } else {
      n_train = static_cast<int64_t>(std::floor(static_cast<double>(n) * config.train + 1e-9));
      n_test = static_cast<int64_t>(std::floor(static_cast<double>(n) * config.test + 1e-9));
      if (config.val <= 0.0) n_test = n - n_train;  // no validation split: test takes the rest
      n_val = n - n_train - n_test;
    }
    SeriesSplit ss;
    ss.train = {s.begin, s.begin + n_train};
    ss.val = {ss.train.end, ss.train.end + n_val};
    ss.test = {ss.val.end, ss.val.end + n_test};
    split.series.push_back(ss);
  }
  return split;
}

}  // namespace spikecast
