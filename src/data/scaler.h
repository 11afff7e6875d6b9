// Per-channel standardisation x' = (x - mean) / std, fitted on the training rows only (NaN cells
// ignored, float64 accumulation). A constant channel gets std = 1 and a warning. Stored in model
// bundles through scaler_json.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/split.h"
#include "data/table.h"

namespace spikecast {

class StandardScaler {
 public:
  StandardScaler() = default;
  StandardScaler(std::vector<std::string> channels, std::vector<double> mean, std::vector<double> stddev);

  // Fits on the given row ranges of `table` (all channels).
  void fit(const Table& table, const std::vector<RowRange>& rows);
  // Fits on the training rows of every series.
  void fit_train(const Table& table, const Split& split);

  // In place, row-major [rows, channels] with channels == num_channels(). NaN stays NaN.
  void transform(float* values, int64_t rows) const;
  void inverse_transform(float* values, int64_t rows) const;
  void transform(Table& table) const;
  void inverse_transform(Table& table) const;

  // Inverse for the target channel (0) only: model outputs [n] in scaled units -> data units.
  void inverse_target(float* values, int64_t n) const;
  float inverse_target(float value) const;
  float transform_target(float value) const;

  bool fitted() const { return !mean_.empty(); }
  int64_t num_channels() const { return static_cast<int64_t>(mean_.size()); }
  const std::vector<std::string>& channels() const { return channels_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }
  // Channels whose std was forced to 1 (constant over the training rows), one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  void check_channels(int64_t channels, const char* what) const;

  std::vector<std::string> channels_;
  std::vector<double> mean_;
  std::vector<double> std_;
  std::vector<std::string> warnings_;
};

}  // namespace spikecast
