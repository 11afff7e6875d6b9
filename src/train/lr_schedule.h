// Learning-rate schedules: linear warm-up, then cosine decay to a floor, a constant rate, or
// reduce-on-plateau (driven by validation losses at epoch ends).
#pragma once

#include <cstdint>
#include <string>

namespace spikecast::train {

class LrSchedule {
 public:
  // kind: "cosine" | "plateau" | "constant"; total_steps: optimizer steps planned for the run.
  LrSchedule(std::string kind, double peak_lr, int64_t total_steps, double warmup_fraction,
             double floor_fraction = 0.05, int64_t plateau_patience = 2, double plateau_factor = 0.5);

  // Rate for optimizer step `step` (0-based).
  double lr_at(int64_t step) const;
  // Called with each epoch's validation loss; on plateau it lowers the rate.
  void on_epoch_end(double val_loss);

  // For checkpoints: the plateau state.
  double plateau_scale() const { return plateau_scale_; }
  void restore(double plateau_scale, double best, int64_t bad_epochs) {
    plateau_scale_ = plateau_scale;
    best_ = best;
    bad_epochs_ = bad_epochs;
  }
  double best() const { return best_; }
  int64_t bad_epochs() const { return bad_epochs_; }

 private:
  std::string kind_;
  double peak_, floor_fraction_;
  int64_t total_, warmup_;
  int64_t plateau_patience_;
  double plateau_factor_;
  double plateau_scale_ = 1.0;
  double best_;
  int64_t bad_epochs_ = 0;
};

}  // namespace spikecast::train
