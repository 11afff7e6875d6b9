// The seam between the server and a model: the server batches validated windows into one
// PredictInput and calls Predictor::predict. A Predictor works in original units (it owns its
// scaler), so the server never touches tensors and is LibTorch-free.
//
// Plugging a model in: implement Predictor, and give the server a PredictorFactory that builds one
// from a bundle directory (bundle_predictor.h declares the LibTorch one). The factory may throw
// (ModelError for a bad bundle); the server then keeps serving the model it has.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace spikecast::serve {

// What a loaded model expects and provides. Fixed for the Predictor's lifetime.
struct ModelInfo {
  std::string name;                       // model description, e.g. "ensemble(lstm,patchtst)"
  std::vector<std::string> channels;      // input channel names, channels[0] the target
  int64_t input_length = 0;               // L: rows per window
  int64_t horizon = 0;                    // H: steps forecast
  std::vector<std::string> member_names;  // M ensemble members (empty for a single model)
  bool has_spike_head = false;            // whether spike_probability/spike are filled
};

// A batch of windows in original units.
struct PredictInput {
  int64_t windows = 0;                // B
  int64_t length = 0;                 // L
  std::vector<std::string> channels;  // C names, in the model's order
  std::vector<float> values;          // [B, L, C] row-major, finite
  std::vector<float> filled_fraction; // [B] share of each window's rows that were gap-filled, 0..1

  int64_t num_channels() const { return static_cast<int64_t>(channels.size()); }
};

// Per window, in original units. Flat row-major arrays so that a batch splits by offset.
struct PredictOutput {
  int64_t windows = 0;                            // B
  int64_t horizon = 0;                            // H
  std::vector<std::string> member_names;          // M (may be empty)
  std::vector<float> forecast;                    // [B, H] the (ensemble) forecast of the target
  std::vector<float> member_forecasts;            // [B, M, H], empty when M == 0
  std::vector<float> weights;                     // [B, M, H] ensemble weights, empty when M == 0
  std::vector<float> spike_probability;           // [B], empty without a spike head
  std::vector<uint8_t> spike;                     // [B] 1 = spike flagged, empty without a spike head
  std::vector<std::vector<std::string>> rules_fired;  // [B] names of the rules that fired

  int64_t num_members() const { return static_cast<int64_t>(member_names.size()); }
};

class Predictor {
 public:
  virtual ~Predictor() = default;
  virtual const ModelInfo& info() const = 0;
  // input.channels == info().channels and input.length == info().input_length (the server checks).
  // Called from one batching thread at a time; need not be thread-safe. May throw.
  virtual PredictOutput predict(const PredictInput& input) = 0;
};

using PredictorFactory = std::function<std::unique_ptr<Predictor>(const std::string& bundle_dir)>;

// A deterministic, finite input of `windows` windows with the model's shapes (a smooth wave per
// channel), used to probe and warm a freshly loaded model.
PredictInput make_probe_input(const ModelInfo& info, int64_t windows);

// ModelError naming the first problem: wrong array sizes for `input`, member names that differ from
// info(), non-finite forecasts or weights, probabilities outside [0, 1].
void check_output(const ModelInfo& info, const PredictInput& input, const PredictOutput& output);

// Copies windows [begin, begin + count) of a batch output into their own output.
PredictOutput slice_output(const PredictOutput& batch, int64_t begin, int64_t count);

}  // namespace spikecast::serve
