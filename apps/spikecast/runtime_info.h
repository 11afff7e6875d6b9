// Version text for `spikecast --version`: project, commit, LibTorch, BLAS, CUDA, cuDNN.
#pragma once

#include <string>

namespace spikecast::app {
std::string version_text();
}
