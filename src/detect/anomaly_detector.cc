#include "detect/anomaly_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "detect/column_detector.h"

namespace spikecast {

int64_t probation_rows(int64_t rows, const DetectorOptions& options) {
  double len = std::floor(options.probation_fraction * static_cast<double>(rows));
  if (options.probation_max_rows > 0) len = std::min(len, static_cast<double>(options.probation_max_rows));
  return static_cast<int64_t>(len);
}

AnomalyDetector::AnomalyDetector(int64_t columns, int64_t probation, int64_t step_ms, DetectorOptions options)
    : options_(options), columns_(columns), probation_(std::max<int64_t>(probation, 0)) {
  options_.validate();
  if (columns < 1) throw Error("AnomalyDetector: columns must be >= 1, got " + std::to_string(columns));
  suppress_rows_ = options_.suppress_rows > 0 ? options_.suppress_rows : std::max<int64_t>(16, probation_ / 3);
  for (int64_t c = 0; c < columns; ++c) {
    detectors_.push_back(std::make_unique<detect::ColumnDetector>(options_, step_ms, probation_));
  }
}

AnomalyDetector::~AnomalyDetector() = default;
AnomalyDetector::AnomalyDetector(AnomalyDetector&&) noexcept = default;
AnomalyDetector& AnomalyDetector::operator=(AnomalyDetector&&) noexcept = default;

double AnomalyDetector::update(const std::vector<double>& values) {
  if (static_cast<int64_t>(values.size()) != columns_) {
    throw Error("AnomalyDetector: expected " + std::to_string(columns_) + " values, got " +
                std::to_string(values.size()));
  }
  return update(values.data());
}

double AnomalyDetector::update(const double* values) {
  const int64_t row = rows_++;
  double best = 0.0;
  int present = 0;
  for (int64_t c = 0; c < columns_; ++c) {
    const double s = detectors_[static_cast<size_t>(c)]->update(values[c]);
    if (std::isfinite(values[c])) ++present;
    best = std::max(best, s);
  }
  double surprise = present > 1 ? std::max(0.0, best - std::log10(static_cast<double>(present))) : best;
  // Bonferroni over time beyond length_rows: NAB charges each false-positive row while a file holds
  // a few anomalies whatever its length, so a calibrated score at one threshold would cost a long
  // file false alarms in proportion to its length. Over a file of n rows known in advance every row
  // is reduced by log10(n / length_rows), which keeps the expected false alarms of a file at those
  // of length_rows rows and its rows' ranking as it was; in a stream of unknown length, by the log of
  // the rows seen so far (expected false alarms then grow as the log of the length).
  if (options_.length_rows > 0) {
    const int64_t n = options_.length_whole_file && expected_rows_ > 0 ? expected_rows_ : row + 1;
    if (n > options_.length_rows) {
      surprise = std::max(0.0, surprise - std::log10(static_cast<double>(n) / static_cast<double>(options_.length_rows)));
    }
  }
  last_surprise_ = surprise;
  if (row < probation_ || present == 0) return 0.0;

  // Suppression: within suppress_rows of the last alarm, a row must beat it by suppress_margin. A
  // damped row still at suppress_extend_decades renews the suppression: the disturbance goes on.
  double reported = surprise;
  const bool refractory = peak_row_ >= 0 && row - renewed_row_ <= suppress_rows_;
  if (refractory && surprise <= peak_ + options_.suppress_margin) {
    reported = surprise * options_.suppress_factor;
    if (options_.suppress_extend_decades > 0.0 && surprise >= options_.suppress_extend_decades) renewed_row_ = row;
  } else if (surprise >= options_.alarm_decades) {
    peak_ = surprise;
    peak_row_ = row;
    renewed_row_ = row;
  }
  return 1.0 - std::pow(10.0, -reported / options_.score_decades);
}

std::vector<int64_t> AnomalyDetector::periods() const {
  std::vector<int64_t> out;
  for (const auto& d : detectors_) out.push_back(d->period());
  return out;
}

DetectionResult detect_anomalies(const std::vector<double>& values, int64_t rows, int64_t columns,
                                 int64_t step_ms, const DetectorOptions& options) {
  if (rows < 0 || columns < 1 || static_cast<int64_t>(values.size()) != rows * columns) {
    throw Error("detect_anomalies: " + std::to_string(values.size()) + " values do not make " +
                std::to_string(rows) + " rows x " + std::to_string(columns) + " columns");
  }
  DetectionResult out;
  const int64_t probation = probation_rows(rows, options);
  AnomalyDetector detector(columns, probation, step_ms, options);
  detector.set_expected_rows(rows);
  out.scores.resize(static_cast<size_t>(rows));
  out.surprise.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    out.scores[static_cast<size_t>(r)] = static_cast<float>(detector.update(&values[static_cast<size_t>(r * columns)]));
    out.surprise[static_cast<size_t>(r)] = static_cast<float>(detector.last_surprise());
  }
  out.probation.push_back(probation);
  out.periods.push_back(detector.periods());
  return out;
}

DetectionResult detect_anomalies(const Table& table, const std::vector<int64_t>& channels,
                                 const DetectorOptions& options) {
  options.validate();
  std::vector<int64_t> ch = channels;
  if (ch.empty()) {
    for (int64_t c = 0; c < table.num_channels(); ++c) ch.push_back(c);
  }
  for (int64_t c : ch) {
    if (c < 0 || c >= table.num_channels()) {
      throw Error("detect_anomalies: channel " + std::to_string(c) + " out of range [0, " +
                  std::to_string(table.num_channels()) + ")");
    }
  }
  const auto C = static_cast<int64_t>(ch.size());
  DetectionResult out;
  out.scores.assign(static_cast<size_t>(table.rows()), 0.0f);
  out.surprise.assign(static_cast<size_t>(table.rows()), 0.0f);
  std::vector<SeriesRange> ranges = table.series;
  if (ranges.empty()) ranges.push_back({"", 0, table.rows()});
  std::vector<double> row_values(static_cast<size_t>(C));
  for (const SeriesRange& s : ranges) {
    const int64_t probation = probation_rows(s.size(), options);
    AnomalyDetector detector(C, probation, table.step_ms, options);
    detector.set_expected_rows(s.size());
    for (int64_t r = s.begin; r < s.end; ++r) {
      for (int64_t k = 0; k < C; ++k) row_values[static_cast<size_t>(k)] = table.at(r, ch[static_cast<size_t>(k)]);
      out.scores[static_cast<size_t>(r)] = static_cast<float>(detector.update(row_values.data()));
      out.surprise[static_cast<size_t>(r)] = static_cast<float>(detector.last_surprise());
    }
    out.probation.push_back(probation);
    out.periods.push_back(detector.periods());
  }
  return out;
}

}  // namespace spikecast
