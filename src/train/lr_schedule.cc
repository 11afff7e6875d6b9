#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spikecast::train {

LrSchedule::LrSchedule(std::string kind, double peak_lr, int64_t total_steps, double warmup_fraction,
                       double floor_fraction, int64_t plateau_patience, double plateau_factor)
    : kind_(std::move(kind)),
      peak_(peak_lr),
      floor_fraction_(floor_fraction),
      total_(std::max<int64_t>(total_steps, 1)),
      warmup_(static_cast<int64_t>(std::floor(warmup_fraction * static_cast<double>(total_steps)))),
      plateau_patience_(plateau_patience),
      plateau_factor_(plateau_factor),
      best_(std::numeric_limits<double>::infinity()) {}

double LrSchedule::lr_at(int64_t step) const {
  if (warmup_ > 0 && step < warmup_) return peak_ * static_cast<double>(step + 1) / static_cast<double>(warmup_);
  if (kind_ == "cosine") {
    const double span = static_cast<double>(std::max<int64_t>(total_ - warmup_, 1));
    const double t = std::min(1.0, static_cast<double>(step - warmup_) / span);
    const double floor = peak_ * floor_fraction_;
    return floor + 0.5 * (peak_ - floor) * (1.0 + std::cos(M_PI * t));
  }
  if (kind_ == "plateau") return peak_ * plateau_scale_;
  return peak_;
}

void LrSchedule::on_epoch_end(double val_loss) {
  if (val_loss < best_ * (1.0 - 1e-4)) {
    best_ = val_loss;
    bad_epochs_ = 0;
    return;
  }
  if (kind_ == "plateau" && ++bad_epochs_ > plateau_patience_) {
    plateau_scale_ *= plateau_factor_;
    bad_epochs_ = 0;
  }
}

}  // namespace spikecast::train
