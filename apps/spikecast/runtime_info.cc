#include "runtime_info.h"

#include "core/version.h"
#include "models/recurrent_inference.h"

namespace spikecast::app {

std::string version_text() {
  return std::string("spikecast ") + SPIKECAST_VERSION + " (" + SPIKECAST_GIT_COMMIT + ")\n" +
         models::runtime_summary_with_kernels();
}

}  // namespace spikecast::app
