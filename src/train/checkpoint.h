// Module state snapshots (best weights for early stopping) and checkpoint files written
// atomically: a temp file, fsync, rename, fsync of the folder. A kill at any moment leaves the
// previous checkpoint loadable.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace spikecast::train {

// Named copies of every parameter and buffer, on the host whatever the module's device.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

StateDict snapshot(const torch::nn::Module& module);
// Copies the snapshot's values into the module's parameters and buffers (names must match).
void restore(torch::nn::Module& module, const StateDict& state);

void write_state(torch::serialize::OutputArchive& archive, const std::string& key, const StateDict& state);
StateDict read_state(torch::serialize::InputArchive& archive, const std::string& key, const torch::nn::Module& like);

// Saves the archive to `path` atomically.
void atomic_save(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace spikecast::train
